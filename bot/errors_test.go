package bot_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
		after     time.Duration // 0: not a rate-limit error
		blocked   bool
	}{
		{"RetryAfter", &bot.RetryAfterError{After: 3 * time.Second}, true, 3 * time.Second, false},
		{"RetryAfterWrapped", fmt.Errorf("sendMessage: %w", &bot.RetryAfterError{After: time.Second}), true, time.Second, false},
		{"Temporary", &bot.TemporaryError{Err: errors.New("502 Bad Gateway")}, true, 0, false},
		{"TemporaryWrapped", fmt.Errorf("sendPhoto: %w", &bot.TemporaryError{Err: errors.New("EOF")}), true, 0, false},
		{"Blocked", fmt.Errorf("%w: Forbidden: bot was blocked by the user", bot.ErrBlocked), false, 0, true},
		{"Other", errors.New("Bad Request: can't parse entities"), false, 0, false},
		{"Nil", nil, false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.IsRetryable(tc.err); got != tc.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tc.retryable)
			}
			after, ok := bot.RetryAfter(tc.err)
			if ok != (tc.after != 0) || after != tc.after {
				t.Errorf("RetryAfter = %s, %v; want %s", after, ok, tc.after)
			}
			if got := errors.Is(tc.err, bot.ErrBlocked); got != tc.blocked {
				t.Errorf("errors.Is(err, ErrBlocked) = %v, want %v", got, tc.blocked)
			}
		})
	}

	t.Run("TemporaryUnwraps", func(t *testing.T) {
		cause := errors.New("connection reset by peer")
		err := &bot.TemporaryError{Err: cause}
		if !errors.Is(err, cause) {
			t.Fatal("TemporaryError does not unwrap to its cause")
		}
		if got, want := err.Error(), "temporary failure: connection reset by peer"; got != want {
			t.Fatalf("Error() = %q, want %q", got, want)
		}
	})

	t.Run("RetryAfterMessage", func(t *testing.T) {
		if got, want := (&bot.RetryAfterError{After: 5 * time.Second}).Error(), "rate limited: retry after 5s"; got != want {
			t.Fatalf("Error() = %q, want %q", got, want)
		}
	})
}
