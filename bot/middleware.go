package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
)

// Kinds of update, as logs and metrics name them. They say what a person
// did, never what they wrote.
const (
	KindCommand    = "command"
	KindText       = "text"
	KindButton     = "button"
	KindAttachment = "attachment"
	KindEmpty      = "empty"
)

// KindOf returns the kind of ev: a pressed button, an attachment, a command
// ("/score …"), plain text, or empty.
func KindOf(ev Event) string {
	switch {
	case ev.Payload != "":
		return KindButton
	case ev.Attachment != nil:
		return KindAttachment
	case strings.HasPrefix(ev.Text, "/"):
		return KindCommand
	case ev.Text != "":
		return KindText
	default:
		return KindEmpty
	}
}

// Recover turns a panic in the handler into the apology reply, so that one
// bug costs one person one answer rather than the process and every other
// chat. The panic is logged at error level with the stack, the platform and
// the user id; the panic value only when it is a runtime error, because
// other values may carry what the person wrote.
func Recover(log *slog.Logger, apology func(ev Event) Reply) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, ev Event) (replies []Reply, err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				log.LogAttrs(ctx, slog.LevelError, "handler panicked",
					slog.String("platform", ev.Platform),
					slog.String("user", ev.UserID),
					slog.String("kind", KindOf(ev)),
					slog.String("panic", panicValue(r)),
					slog.String("stack", string(debug.Stack())),
				)
				replies, err = []Reply{apology(ev)}, nil
			}()
			return next.Handle(ctx, ev)
		})
	}
}

// panicValue describes a recovered value without repeating data from it.
func panicValue(r any) string {
	var re runtime.Error
	if err, ok := r.(error); ok && errors.As(err, &re) {
		return re.Error()
	}
	return fmt.Sprintf("%T", r)
}

// Log logs every update once it was handled: platform, kind, user id,
// duration, number of replies and, on failure, the error. Message texts,
// button payloads and domain error messages (which may quote the input)
// never reach the log: a domain error is logged by its code and reason.
// Success is logged at debug level, domain errors at info, the rest at
// error level.
func Log(log *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, ev Event) ([]Reply, error) {
			start := time.Now()
			replies, err := next.Handle(ctx, ev)
			attrs := []slog.Attr{
				slog.String("platform", ev.Platform),
				slog.String("kind", KindOf(ev)),
				slog.String("user", ev.UserID),
				slog.Duration("duration", time.Since(start)),
				slog.Int("replies", len(replies)),
			}
			if err == nil {
				log.LogAttrs(ctx, slog.LevelDebug, "update handled", attrs...)
				return replies, nil
			}
			level := slog.LevelError
			if code := hromadabot.ErrorCode(err); code != hromadabot.EINTERNAL {
				level = slog.LevelInfo
				attrs = append(attrs, slog.String("code", code), slog.String("reason", hromadabot.ErrorReason(err)))
			} else {
				if errors.Is(err, context.Canceled) {
					level = slog.LevelInfo // shutting down, not a fault
				}
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			log.LogAttrs(ctx, level, "update failed", attrs...)
			return replies, err
		})
	}
}
