package bot

import (
	"errors"
	"fmt"
	"time"
)

// Send errors are typed so that the Sender can decide what to do without
// knowing the platform: each channel maps its own API failures onto them
// (for example bot/telegram turns HTTP 429 into *RetryAfterError and 403
// into ErrBlocked) and returns any other error unchanged.

// ErrBlocked means the person can no longer be reached: they blocked the bot,
// deleted their account, or the chat does not exist. Retrying never helps.
// Channels wrap it to keep the platform's description:
// fmt.Errorf("%w: %s", bot.ErrBlocked, description).
var ErrBlocked = errors.New("chat blocked or not found")

// RetryAfterError means the platform rate-limited the bot (HTTP 429) and
// asked it to wait After before sending again.
type RetryAfterError struct {
	After time.Duration
}

// Error implements the error interface.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited: retry after %s", e.After)
}

// TemporaryError wraps a failure that may pass if the same message is sent
// again later: a 5xx answer, a timeout or a broken connection.
type TemporaryError struct {
	Err error
}

// Error implements the error interface.
func (e *TemporaryError) Error() string {
	if e.Err == nil {
		return "temporary failure"
	}
	return "temporary failure: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *TemporaryError) Unwrap() error { return e.Err }

// IsRetryable reports whether sending again may succeed: err is (or wraps)
// a *RetryAfterError or a *TemporaryError.
func IsRetryable(err error) bool {
	var ra *RetryAfterError
	var te *TemporaryError
	return errors.As(err, &ra) || errors.As(err, &te)
}

// RetryAfter returns how long the platform asked to wait when err is (or
// wraps) a *RetryAfterError.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}
