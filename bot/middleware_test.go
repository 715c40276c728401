package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// logRecords captures slog output as JSON records.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecords) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logRecords) Records(t *testing.T) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(l.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func newLogger() (*slog.Logger, *logRecords) {
	recs := &logRecords{}
	return slog.New(slog.NewJSONHandler(recs, &slog.HandlerOptions{Level: slog.LevelDebug})), recs
}

// Private words a person might send; none may reach the log.
const (
	secretText    = "/report Бучанська 55,5 приватне"
	secretPayload = "r:community=481:indicator=7"
	secretMessage = "значення «дуже таємне» не є числом"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   bot.Event
		want string
	}{
		{"Command", bot.Event{Text: "/score Буча"}, bot.KindCommand},
		{"Text", bot.Event{Text: "Буча"}, bot.KindText},
		{"Button", bot.Event{Payload: "menu"}, bot.KindButton},
		{"Attachment", bot.Event{Text: "фото", Attachment: &bot.Attachment{Kind: "photo", FileID: "f1"}}, bot.KindAttachment},
		{"Empty", bot.Event{}, bot.KindEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.KindOf(tc.ev); got != tc.want {
				t.Fatalf("KindOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLog(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ev        bot.Event
		err       error
		wantLevel string
		wantKind  string
		want      map[string]string // further fields expected in the record
	}{
		{
			name:      "OK",
			ev:        bot.Event{Platform: "telegram", UserID: "telegram:1001", Text: secretText},
			wantLevel: "DEBUG",
			wantKind:  bot.KindCommand,
		},
		{
			name:      "OK/Button",
			ev:        bot.Event{Platform: "telegram", UserID: "telegram:1001", Payload: secretPayload},
			wantLevel: "DEBUG",
			wantKind:  bot.KindButton,
		},
		{
			name:      "ErrInvalid",
			ev:        bot.Event{Platform: "console", UserID: "console:demo", Text: secretText},
			err:       hromadabot.FieldErrorf("value", "value_not_number", "%s", secretMessage),
			wantLevel: "INFO",
			wantKind:  bot.KindCommand,
			want:      map[string]string{"code": hromadabot.EINVALID, "reason": "value_not_number"},
		},
		{
			name:      "ErrInternal",
			ev:        bot.Event{Platform: "telegram", UserID: "telegram:1001", Text: secretText},
			err:       fmt.Errorf("insert report: %w", errors.New("database is locked")),
			wantLevel: "ERROR",
			wantKind:  bot.KindCommand,
			want:      map[string]string{"error": "insert report: database is locked"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, recs := newLogger()
			h := bot.Chain(bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				return []bot.Reply{{Text: "відповідь"}}, tc.err
			}), bot.Log(log))

			replies, err := h.Handle(t.Context(), tc.ev)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v passed through", err, tc.err)
			}
			if len(replies) != 1 {
				t.Fatalf("replies = %d, want 1 passed through", len(replies))
			}
			out := recs.String()
			for _, secret := range []string{"Бучанська", "55,5", secretPayload, "таємне"} {
				if strings.Contains(out, secret) {
					t.Fatalf("log contains %q: %s", secret, out)
				}
			}
			rs := recs.Records(t)
			if len(rs) != 1 {
				t.Fatalf("log records = %d, want 1: %s", len(rs), out)
			}
			rec := rs[0]
			want := map[string]string{"level": tc.wantLevel, "platform": tc.ev.Platform, "user": tc.ev.UserID, "kind": tc.wantKind}
			for k, v := range tc.want {
				want[k] = v
			}
			for k, v := range want {
				if got := fmt.Sprint(rec[k]); got != v {
					t.Errorf("log field %s = %q, want %q", k, got, v)
				}
			}
			if _, ok := rec["duration"]; !ok {
				t.Errorf("log record has no duration: %s", out)
			}
		})
	}
}

func apology(bot.Event) bot.Reply {
	return bot.Reply{Text: "Вибачте, сталася помилка. Спробуйте ще раз."}
}

func TestRecover(t *testing.T) {
	for _, tc := range []struct {
		name      string
		panicWith func(ev bot.Event)
		wantPanic string // the logged panic field
	}{
		{
			name:      "PanicValue",
			panicWith: func(ev bot.Event) { panic("cannot parse " + ev.Text) },
			wantPanic: "string",
		},
		{
			name:      "PanicError",
			panicWith: func(ev bot.Event) { panic(errors.New("bad input " + ev.Text)) },
			wantPanic: "*errors.errorString",
		},
		{
			name: "PanicRuntimeError",
			panicWith: func(ev bot.Event) {
				var steps []string
				_ = steps[len(ev.Text)]
			},
			wantPanic: "runtime error: index out of range",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, recs := newLogger()
			h := bot.Chain(bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				tc.panicWith(ev)
				return nil, nil
			}), bot.Recover(log, apology))

			ev := bot.Event{Platform: "telegram", ChatID: "telegram:1001", UserID: "telegram:1001", Text: secretText}
			replies, err := h.Handle(t.Context(), ev)
			if err != nil {
				t.Fatalf("err = %v, want the apology instead", err)
			}
			if len(replies) != 1 || replies[0].Text != apology(ev).Text {
				t.Fatalf("replies = %+v, want the apology", replies)
			}
			out := recs.String()
			if strings.Contains(out, "Бучанська") || strings.Contains(out, "55,5") {
				t.Fatalf("log contains the message text: %s", out)
			}
			rs := recs.Records(t)
			if len(rs) != 1 {
				t.Fatalf("log records = %d, want 1: %s", len(rs), out)
			}
			rec := rs[0]
			if rec["level"] != "ERROR" || rec["user"] != "telegram:1001" || rec["platform"] != "telegram" {
				t.Fatalf("log record = %v, want level ERROR with the platform and user id", rec)
			}
			if p := fmt.Sprint(rec["panic"]); !strings.HasPrefix(p, tc.wantPanic) {
				t.Fatalf("logged panic = %q, want %q", p, tc.wantPanic)
			}
			if stack := fmt.Sprint(rec["stack"]); !strings.Contains(stack, "bot_test.TestRecover") {
				t.Fatalf("logged stack does not show where the panic happened: %q", stack)
			}
		})
	}

	t.Run("OK/NoPanic", func(t *testing.T) {
		log, recs := newLogger()
		errNotFound := hromadabot.Errorf(hromadabot.ENOTFOUND, "community_not_found", "community not found")
		h := bot.Chain(bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			return []bot.Reply{{Text: "ok"}}, errNotFound
		}), bot.Recover(log, apology))
		replies, err := h.Handle(t.Context(), bot.Event{UserID: "telegram:1"})
		if !errors.Is(err, errNotFound) || len(replies) != 1 || replies[0].Text != "ok" {
			t.Fatalf("Handle = %+v, %v; want the handler's own result", replies, err)
		}
		if out := recs.String(); out != "" {
			t.Fatalf("log = %s, want nothing", out)
		}
	})

	// One chat's panic leaves the chats handled at the same time alone.
	t.Run("OK/OtherChatsUnaffected", func(t *testing.T) {
		log, _ := newLogger()
		h := bot.Chain(bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			if ev.ChatID == "telegram:13" {
				panic("handler bug")
			}
			return []bot.Reply{{Text: "score for " + ev.ChatID}}, nil
		}), bot.Log(log), bot.Recover(log, apology))

		var wg sync.WaitGroup
		for i := range 40 {
			chat := fmt.Sprintf("telegram:%d", i)
			wg.Go(func() {
				replies, err := h.Handle(t.Context(), bot.Event{ChatID: chat, UserID: chat, Text: "/score"})
				want := "score for " + chat
				if chat == "telegram:13" {
					want = apology(bot.Event{}).Text
				}
				if err != nil || len(replies) != 1 || replies[0].Text != want {
					t.Errorf("chat %s: replies = %+v, err = %v; want %q", chat, replies, err, want)
				}
			})
		}
		wg.Wait()
	})
}
