package viber

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

// Viber's status codes that the bot acts on
// (https://developers.viber.com/docs/api/rest-bot-api/#error-codes).
const (
	statusOK                    = 0
	statusInvalidURL            = 1
	statusInvalidAuthToken      = 2
	statusReceiverNotRegistered = 5
	statusReceiverNotSubscribed = 6
	statusTooManyRequests       = 12
)

// tooManyRequestsPause is how long a "too many requests" answer is waited
// out: Viber gives no retry_after.
const tooManyRequestsPause = time.Second

// maxBody is Viber's limit of a request's JSON body.
const maxBody = 30 * 1024

// Error is a Viber refusal that sending again will not fix, such as
// badData for a malformed message.
type Error struct {
	Method  string
	Status  int
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("viber %s: status %d %s", e.Method, e.Status, e.Message)
}

func isStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// envelope is the part of every answer that says how the call went.
type envelope struct {
	Status        *int   `json:"status"`
	StatusMessage string `json:"status_message"`
}

// call posts req as JSON to the method and decodes the answer into resp
// (nil: only the status is read). The failure is one of the send errors of
// package bot where one applies: "too many requests", a 5xx answer, a
// broken connection and an unreadable answer may pass
// (*bot.RetryAfterError, *bot.TemporaryError); a receiver who is not
// subscribed cannot be reached (bot.ErrBlocked); a refused token stops the
// channel; anything else is an *Error.
func (c *Channel) call(ctx context.Context, method string, req, resp any) error {
	// Without HTML escaping: "<" would take six bytes of the 30 KB.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return fmt.Errorf("viber %s: encode: %w", method, err)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(body) > maxBody {
		return &Error{Method: method, Status: -1, Message: fmt.Sprintf("request of %d bytes is over Viber's %d", len(body), maxBody)}
	}
	callCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(callCtx, http.MethodPost, c.cfg.APIURL+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("viber %s: %w", method, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(AuthHeader, c.cfg.Token)
	hresp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("viber %s: %w", method, ctx.Err())
		}
		return &bot.TemporaryError{Err: fmt.Errorf("viber %s: %w", method, err)}
	}
	defer hresp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return &bot.TemporaryError{Err: fmt.Errorf("viber %s: read answer: %w", method, err)}
	}
	switch {
	case hresp.StatusCode == http.StatusTooManyRequests:
		return &bot.RetryAfterError{After: tooManyRequestsPause}
	case hresp.StatusCode != http.StatusOK:
		// A proxy's error page or an outage: nothing says the call was
		// refused for what it carried.
		return &bot.TemporaryError{Err: fmt.Errorf("viber %s: HTTP %d", method, hresp.StatusCode)}
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || env.Status == nil {
		return &bot.TemporaryError{Err: fmt.Errorf("viber %s: the answer is not a Viber response", method)}
	}
	switch status := *env.Status; status {
	case statusOK:
		if resp != nil {
			if err := json.Unmarshal(raw, resp); err != nil {
				return fmt.Errorf("viber %s: decode answer: %w", method, err)
			}
		}
		return nil
	case statusInvalidAuthToken:
		c.stopOnBadToken()
		return &Error{Method: method, Status: status, Message: env.StatusMessage}
	case statusReceiverNotRegistered, statusReceiverNotSubscribed:
		return fmt.Errorf("viber %s: %w: status %d %s", method, bot.ErrBlocked, status, env.StatusMessage)
	case statusTooManyRequests:
		return &bot.RetryAfterError{After: tooManyRequestsPause}
	default:
		return &Error{Method: method, Status: status, Message: env.StatusMessage}
	}
}
