package bot_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

// Most receiver tests run in a synctest bubble: the retries' backoff and
// the shutdown grace pass on the bubble's clock at once, and
// synctest.Wait tells when every worker has settled, so that no test
// sleeps or depends on how fast the machine is.

var (
	errFlaky     = errors.New("store briefly unreachable")
	errPermanent = errors.New("handler failed for good")
)

// recordingSender is a ReplySender that keeps every message it is given;
// fail, when set, decides each send's outcome by its 1-based number.
type recordingSender struct {
	fail func(n int, out bot.Outgoing) error

	mu   sync.Mutex
	sent []bot.Outgoing
}

var _ bot.ReplySender = (*recordingSender)(nil)

func (s *recordingSender) Send(ctx context.Context, out bot.Outgoing) error {
	s.mu.Lock()
	s.sent = append(s.sent, out)
	n := len(s.sent)
	s.mu.Unlock()
	if s.fail != nil {
		return s.fail(n, out)
	}
	return nil
}

// Sent returns the messages sent so far.
func (s *recordingSender) Sent() []bot.Outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Texts returns the texts sent to chat, in order.
func (s *recordingSender) Texts(chat string) []string {
	var texts []string
	for _, out := range s.Sent() {
		if out.ChatID == chat {
			texts = append(texts, out.Reply.Text)
		}
	}
	return texts
}

// startReceiver starts a receiver of h and s; it is stopped when the test
// ends.
func startReceiver(t *testing.T, opts bot.ReceiverOptions, h bot.Handler, s bot.ReplySender) *bot.Receiver {
	t.Helper()
	r := bot.NewReceiver(opts)
	if err := r.Start(t.Context(), h, s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

// testUpdate is an update of chat whose outcome goes to done.
func testUpdate(chat, id string, done chan<- error) *bot.Update {
	return &bot.Update{
		Event: bot.Event{Platform: "test", UpdateID: id, ChatID: chat, UserID: chat, Text: id},
		Done:  func(err error) { done <- err },
	}
}

func mustSubmit(t *testing.T, r *bot.Receiver, u *bot.Update) {
	t.Helper()
	if err := r.Submit(t.Context(), u); err != nil {
		t.Fatalf("Submit %s: %v", u.Event.UpdateID, err)
	}
}

// echo replies with the event's text.
func echo(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
	return []bot.Reply{{Text: ev.Text}}, nil
}

func TestReceiverWorkers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		want    int
	}{
		{"OKDefault", 0, bot.DefaultWorkers},
		{"OKNegativeTakesDefault", -3, bot.DefaultWorkers},
		{"OKGiven", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.NewReceiver(bot.ReceiverOptions{Workers: tc.workers}).Workers(); got != tc.want {
				t.Fatalf("Workers = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestReceiverChatOrder submits the updates of many chats interleaved,
// each handled for a different time, and checks that every chat's updates
// were handled and answered in the order submitted.
func TestReceiverChatOrder(t *testing.T) {
	const perChat = 30
	chats := []string{"1", "2", "3", "4", "5", "-1001", "-1002", "viber:a", "viber:b", "viber:c", "viber:d", "viber:e"}
	for _, tc := range []struct {
		name    string
		workers int
	}{
		{"OKOneWorker", 1},
		{"OKFewerWorkersThanChats", 4},
		{"OKMoreWorkersThanChats", 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				handled := map[string][]int{}
				h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
					seq, err := strconv.Atoi(ev.Text)
					if err != nil {
						return nil, err
					}
					// Uneven handling times, on the bubble's clock.
					time.Sleep(time.Duration((len(ev.ChatID)*7+seq*13)%5) * time.Millisecond)
					mu.Lock()
					handled[ev.ChatID] = append(handled[ev.ChatID], seq)
					mu.Unlock()
					return []bot.Reply{{Text: ev.Text}}, nil
				})
				s := &recordingSender{}
				r := startReceiver(t, bot.ReceiverOptions{Workers: tc.workers}, h, s)

				done := make(chan error, perChat*len(chats))
				for seq := range perChat {
					for _, chat := range chats {
						u := testUpdate(chat, fmt.Sprintf("%s/%d", chat, seq), done)
						u.Event.Text = strconv.Itoa(seq)
						mustSubmit(t, r, u)
					}
				}
				for range perChat * len(chats) {
					if err := <-done; err != nil {
						t.Fatalf("Done = %v, want nil", err)
					}
				}

				want := make([]int, perChat)
				wantTexts := make([]string, perChat)
				for i := range want {
					want[i] = i
					wantTexts[i] = strconv.Itoa(i)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, chat := range chats {
					if got := handled[chat]; !slices.Equal(got, want) {
						t.Errorf("chat %s handled %v, want %v", chat, got, want)
					}
					if got := s.Texts(chat); !slices.Equal(got, wantTexts) {
						t.Errorf("chat %s sent %v, want %v", chat, got, wantTexts)
					}
				}
			})
		})
	}
}

// TestReceiverChatsConcurrent holds the first chat's update until the
// second chat's has started: handled one after the other, the first gives
// up when the guard's deadline passes and the test fails.
func TestReceiverChatsConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		a, b    string
	}{
		{"OKConsecutiveChats", 2, "1", "2"},
		{"OKGroupChats", 2, "-1001", "-1002"},
		{"OKDefaultWorkers", 0, "100", "101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				guard, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				aStarted, bStarted := make(chan struct{}), make(chan struct{})
				h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
					switch ev.ChatID {
					case tc.a:
						close(aStarted)
						select {
						case <-bStarted:
							return nil, nil
						case <-guard.Done():
							return nil, fmt.Errorf("chat %s not handled while chat %s was", tc.b, tc.a)
						}
					default:
						close(bStarted)
						return nil, nil
					}
				})
				r := startReceiver(t, bot.ReceiverOptions{Workers: tc.workers}, h, &recordingSender{})

				doneA, doneB := make(chan error, 1), make(chan error, 1)
				mustSubmit(t, r, testUpdate(tc.a, "a", doneA))
				<-aStarted
				mustSubmit(t, r, testUpdate(tc.b, "b", doneB))
				if err := <-doneA; err != nil {
					t.Fatalf("chat %s: %v", tc.a, err)
				}
				if err := <-doneB; err != nil {
					t.Fatalf("chat %s: %v", tc.b, err)
				}
			})
		})
	}
}

func TestReceiverRedelivery(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		// first is the first handling's error.
		first     error
		wantCalls int
		wantSent  []string
	}{
		{"OKRepeatSkipped", "telegram:7", nil, 1, []string{"reply 1"}},
		{"OKRepeatOfFailureHandled", "telegram:7", errPermanent, 2, []string{"reply 2"}},
		{"OKRepeatOfRetryableFailureHandled", "telegram:7", &bot.TemporaryError{Err: errFlaky}, 2, []string{"reply 1", "reply 2"}},
		{"OKWithoutIDNeverSkipped", "", nil, 2, []string{"reply 1", "reply 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				reply := []bot.Reply{{Text: fmt.Sprintf("reply %d", calls)}}
				if calls == 1 {
					return reply, tc.first
				}
				return reply, nil
			})
			s := &recordingSender{}
			r := startReceiver(t, bot.ReceiverOptions{}, h, s)

			done := make(chan error, 1)
			mustSubmit(t, r, testUpdate("5", tc.id, done))
			if err, want := <-done, tc.first; !errors.Is(err, want) {
				t.Fatalf("first Done = %v, want %v", err, want)
			}
			mustSubmit(t, r, testUpdate("5", tc.id, done))
			if err := <-done; err != nil {
				t.Fatalf("second Done = %v, want nil", err)
			}

			mu.Lock()
			defer mu.Unlock()
			if calls != tc.wantCalls {
				t.Errorf("handler called %d times, want %d", calls, tc.wantCalls)
			}
			if got := s.Texts("5"); !slices.Equal(got, tc.wantSent) {
				t.Errorf("sent %q, want %q", got, tc.wantSent)
			}
		})
	}
}

func TestReceiverRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attempts int
		// fail is the error of the nth handling.
		fail    func(n int) error
		wantErr func(err error) bool
		// wantLog is what ran, in order: Before and each handling.
		wantLog  []string
		wantSent []string
	}{
		{
			name: "OKFirstTime", attempts: 3,
			fail:     func(int) error { return nil },
			wantErr:  isNil,
			wantLog:  []string{"before", "handle 1"},
			wantSent: []string{"attempt 1"},
		},
		{
			name: "OKSucceedsOnRetry", attempts: 3,
			fail: func(n int) error {
				if n < 3 {
					return &bot.TemporaryError{Err: errFlaky}
				}
				return nil
			},
			wantErr: isNil,
			wantLog: []string{"before", "handle 1", "handle 2", "handle 3"},
			// The apology that came with the failure goes out once.
			wantSent: []string{"attempt 1", "attempt 3"},
		},
		{
			name: "ErrRetryableGivenUpAfterAttempts", attempts: 3,
			fail: func(int) error { return &bot.TemporaryError{Err: errFlaky} },
			wantErr: func(err error) bool {
				return bot.IsRetryable(err) && errors.Is(err, errFlaky) && !errors.Is(err, bot.ErrStopped)
			},
			wantLog:  []string{"before", "handle 1", "handle 2", "handle 3"},
			wantSent: []string{"attempt 1"},
		},
		{
			name: "ErrRateLimitedGivenUpAfterAttempts", attempts: 2,
			fail: func(int) error { return &bot.RetryAfterError{After: time.Second} },
			wantErr: func(err error) bool {
				_, ok := bot.RetryAfter(err)
				return ok
			},
			wantLog:  []string{"before", "handle 1", "handle 2"},
			wantSent: []string{"attempt 1"},
		},
		{
			name: "ErrNotRetryableTriedOnce", attempts: 3,
			fail:    func(int) error { return errPermanent },
			wantErr: func(err error) bool { return errors.Is(err, errPermanent) && !bot.IsRetryable(err) },
			wantLog: []string{"before", "handle 1"},
			// The replies of a failed handling are not sent.
			wantSent: nil,
		},
		{
			name: "ErrNotRetryableAfterRetryable", attempts: 5,
			fail: func(n int) error {
				if n == 1 {
					return &bot.TemporaryError{Err: errFlaky}
				}
				return errPermanent
			},
			wantErr:  func(err error) bool { return errors.Is(err, errPermanent) },
			wantLog:  []string{"before", "handle 1", "handle 2"},
			wantSent: []string{"attempt 1"},
		},
		{
			name: "ErrZeroAttemptsTriedOnce", attempts: 0,
			fail:     func(int) error { return &bot.TemporaryError{Err: errFlaky} },
			wantErr:  bot.IsRetryable,
			wantLog:  []string{"before", "handle 1"},
			wantSent: []string{"attempt 1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var log []string
				calls := 0
				h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
					mu.Lock()
					defer mu.Unlock()
					calls++
					log = append(log, fmt.Sprintf("handle %d", calls))
					return []bot.Reply{{Text: fmt.Sprintf("attempt %d", calls)}}, tc.fail(calls)
				})
				s := &recordingSender{}
				r := startReceiver(t, bot.ReceiverOptions{}, h, s)

				done := make(chan error, 1)
				u := testUpdate("9", "telegram:1", done)
				u.Attempts = tc.attempts
				u.Before = func(ctx context.Context, _ *bot.Event) {
					mu.Lock()
					defer mu.Unlock()
					log = append(log, "before")
				}
				mustSubmit(t, r, u)
				if err := <-done; !tc.wantErr(err) {
					t.Fatalf("Done = %v", err)
				}

				mu.Lock()
				defer mu.Unlock()
				if !slices.Equal(log, tc.wantLog) {
					t.Errorf("ran %q, want %q", log, tc.wantLog)
				}
				if got := s.Texts("9"); !slices.Equal(got, tc.wantSent) {
					t.Errorf("sent %q, want %q", got, tc.wantSent)
				}
			})
		})
	}
}

func isNil(err error) bool { return err == nil }

func TestReceiverReplies(t *testing.T) {
	for _, tc := range []struct {
		name string
		// deliver, when set, is the update's Deliver's error.
		deliver    *error
		sendFail   func(n int, out bot.Outgoing) error
		wantSent   []string
		wantDelivr []string
	}{
		{name: "OKToSender", wantSent: []string{"one", "two", "three"}},
		{name: "OKToDeliver", deliver: new(error), wantDelivr: []string{"one", "two", "three"}},
		{name: "OKDeliverFailureNotAHandlingFailure", deliver: &errPermanent, wantDelivr: []string{"one", "two", "three"}},
		{
			name: "OKSendFailureGoesOn",
			sendFail: func(n int, _ bot.Outgoing) error {
				if n == 1 {
					return &bot.TemporaryError{Err: errFlaky}
				}
				return nil
			},
			wantSent: []string{"one", "two", "three"},
		},
		{
			name:     "OKBlockedChatDropsTheRest",
			sendFail: func(int, bot.Outgoing) error { return fmt.Errorf("%w: bot was blocked by the user", bot.ErrBlocked) },
			wantSent: []string{"one"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				return []bot.Reply{{Text: "one"}, {Text: "two"}, {Text: "three", EditMenu: true}}, nil
			})
			s := &recordingSender{fail: tc.sendFail}
			r := startReceiver(t, bot.ReceiverOptions{}, h, s)

			var delivered []string
			done := make(chan error, 1)
			u := testUpdate("42", "telegram:3", done)
			u.Event.MenuID = "menu-8"
			if tc.deliver != nil {
				u.Deliver = func(ctx context.Context, replies []bot.Reply) error {
					for _, r := range replies {
						delivered = append(delivered, r.Text)
					}
					return *tc.deliver
				}
			}
			mustSubmit(t, r, u)
			if err := <-done; err != nil {
				t.Fatalf("Done = %v, want nil", err)
			}

			sent := s.Sent()
			var texts []string
			for _, out := range sent {
				texts = append(texts, out.Reply.Text)
				if out.ChatID != "42" || out.MenuID != "menu-8" {
					t.Errorf("sent to chat %q menu %q, want chat 42 menu menu-8", out.ChatID, out.MenuID)
				}
			}
			if !slices.Equal(texts, tc.wantSent) {
				t.Errorf("sent %q, want %q", texts, tc.wantSent)
			}
			if !slices.Equal(delivered, tc.wantDelivr) {
				t.Errorf("delivered %q, want %q", delivered, tc.wantDelivr)
			}
		})
	}
}

// TestReceiverPanics checks that a panic anywhere in an update's handling
// fails that update alone: it is not retried, and the worker goes on with
// the chat's next update.
func TestReceiverPanics(t *testing.T) {
	const boom = "boom"
	for _, tc := range []struct {
		name string
		// where is the step that panics: "handler", "before", "send" or "deliver".
		where string
	}{
		{"ErrPanicInHandler", "handler"},
		{"ErrPanicInBefore", "before"},
		{"ErrPanicInSend", "send"},
		{"ErrPanicInDeliver", "deliver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			handled := map[string]int{}
			h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				mu.Lock()
				handled[ev.Text]++
				mu.Unlock()
				if tc.where == "handler" && ev.Text == boom {
					panic("handler bug")
				}
				return []bot.Reply{{Text: ev.Text}}, nil
			})
			s := &recordingSender{fail: func(_ int, out bot.Outgoing) error {
				if tc.where == "send" && out.Reply.Text == boom {
					panic("sender bug")
				}
				return nil
			}}
			r := startReceiver(t, bot.ReceiverOptions{Workers: 1}, h, s)

			done := make(chan error, 2)
			u := testUpdate("3", boom, done)
			u.Attempts = 3
			switch tc.where {
			case "before":
				u.Before = func(context.Context, *bot.Event) { panic("before bug") }
			case "deliver":
				u.Deliver = func(context.Context, []bot.Reply) error { panic("deliver bug") }
			}
			mustSubmit(t, r, u)
			mustSubmit(t, r, testUpdate("3", "next", done))

			if err := <-done; err == nil || errors.Is(err, bot.ErrStopped) || !strings.Contains(err.Error(), "panic") {
				t.Errorf("Done of the panicking update = %v, want a panic error", err)
			}
			if err := <-done; err != nil {
				t.Errorf("Done of the next update = %v, want nil", err)
			}
			mu.Lock()
			defer mu.Unlock()
			wantBoom := 1
			if tc.where == "before" {
				wantBoom = 0
			}
			if handled[boom] != wantBoom || handled["next"] != 1 {
				t.Errorf("handled %v, want %s %d times and next once", handled, boom, wantBoom)
			}
			if got := s.Texts("3"); !slices.Contains(got, "next") {
				t.Errorf("sent %q, want the next update's reply", got)
			}
		})
	}
}

// TestReceiverStop stops while one update of a chat is being handled and
// two more wait behind it: the one in hand finishes and its reply goes
// out, the queued ones are handed back.
func TestReceiverStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		var handled []string
		var ctxErr error
		h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			mu.Lock()
			handled = append(handled, ev.UpdateID)
			mu.Unlock()
			if ev.UpdateID == "running" {
				close(started)
				<-release
				mu.Lock()
				ctxErr = ctx.Err()
				mu.Unlock()
			}
			return []bot.Reply{{Text: ev.UpdateID}}, nil
		})
		s := &recordingSender{}
		r := startReceiver(t, bot.ReceiverOptions{Workers: 2}, h, s)

		running, queued := make(chan error, 1), make(chan error, 2)
		mustSubmit(t, r, testUpdate("1", "running", running))
		<-started
		mustSubmit(t, r, testUpdate("1", "queued 1", queued))
		mustSubmit(t, r, testUpdate("1", "queued 2", queued))

		stopped := make(chan struct{})
		go func() {
			r.Stop()
			close(stopped)
		}()
		// Stop has begun and waits for the running update.
		synctest.Wait()
		select {
		case <-stopped:
			t.Fatal("Stop returned while an update was being handled")
		default:
		}
		if err := r.Submit(t.Context(), testUpdate("2", "late", queued)); !errors.Is(err, bot.ErrStopped) {
			t.Errorf("Submit while stopping = %v, want ErrStopped", err)
		}

		close(release)
		<-stopped
		if err := <-running; err != nil {
			t.Errorf("Done of the running update = %v, want nil", err)
		}
		for range 2 {
			if err := <-queued; !errors.Is(err, bot.ErrStopped) {
				t.Errorf("Done of a queued update = %v, want ErrStopped", err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(handled, []string{"running"}) {
			t.Errorf("handled %q, want only the running update", handled)
		}
		if ctxErr != nil {
			t.Errorf("the running update's context ended within the grace: %v", ctxErr)
		}
		if got := s.Texts("1"); !slices.Equal(got, []string{"running"}) {
			t.Errorf("sent %q, want the running update's reply", got)
		}
	})
}

// TestReceiverStopWhileRetrying stops while an update waits for its next
// attempt: it is handed back at once rather than tried again.
func TestReceiverStopWhileRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		calls := 0
		h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return nil, &bot.TemporaryError{Err: errFlaky}
		})
		r := startReceiver(t, bot.ReceiverOptions{}, h, &recordingSender{})
		done := make(chan error, 1)
		u := testUpdate("1", "telegram:1", done)
		u.Attempts = 5
		mustSubmit(t, r, u)
		// The worker waits for the backoff; the bubble's clock stands
		// still while this goroutine runs.
		synctest.Wait()
		r.Stop()
		if err := <-done; !errors.Is(err, bot.ErrStopped) {
			t.Errorf("Done = %v, want ErrStopped", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if calls != 1 {
			t.Errorf("handled %d times, want 1", calls)
		}
	})
}

// TestReceiverStopReleasesSubmit stops while a Submit waits for room in
// a full queue.
func TestReceiverStopReleasesSubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			if ev.UpdateID == "first" {
				close(started)
				<-release
			}
			return nil, nil
		})
		r := startReceiver(t, bot.ReceiverOptions{Workers: 1}, h, &recordingSender{})
		done := make(chan error, 100)
		mustSubmit(t, r, testUpdate("1", "first", done))
		<-started

		submitted := make(chan error)
		go func() {
			// One more than any queue holds.
			for i := range 100 {
				if err := r.Submit(t.Context(), testUpdate("1", strconv.Itoa(i), done)); err != nil {
					submitted <- err
					return
				}
			}
			submitted <- nil
		}()
		synctest.Wait()
		select {
		case err := <-submitted:
			t.Fatalf("Submit into a full queue returned %v, want it to wait", err)
		default:
		}

		stopped := make(chan struct{})
		go func() {
			r.Stop()
			close(stopped)
		}()
		if err := <-submitted; !errors.Is(err, bot.ErrStopped) {
			t.Errorf("waiting Submit = %v, want ErrStopped", err)
		}
		close(release)
		<-stopped
	})
}

// TestReceiverShutdownGrace stops while a handler runs past the grace: its
// context ends, and its update is handed back as stopped.
func TestReceiverShutdownGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		sawErr := make(chan error, 1)
		h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			close(started)
			<-ctx.Done()
			sawErr <- ctx.Err()
			return nil, ctx.Err()
		})
		r := startReceiver(t, bot.ReceiverOptions{ShutdownGrace: 3 * time.Second}, h, &recordingSender{})
		done := make(chan error, 1)
		mustSubmit(t, r, testUpdate("1", "telegram:1", done))
		<-started
		r.Stop()

		select {
		case err := <-sawErr:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("handler's context ended with %v, want context.Canceled", err)
			}
		default:
			t.Fatal("Stop returned before the handler ended")
		}
		if err := <-done; !errors.Is(err, bot.ErrStopped) {
			t.Errorf("Done = %v, want ErrStopped", err)
		}
	})
}

// TestReceiverOutlivesStartContext ends the context given to Start: the
// handling's context goes on until Stop.
func TestReceiverOutlivesStartContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	sawErr := make(chan error, 1)
	h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		sawErr <- ctx.Err()
		return nil, nil
	})
	r := bot.NewReceiver(bot.ReceiverOptions{})
	if err := r.Start(ctx, h, &recordingSender{}); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer r.Stop()
	cancel()

	done := make(chan error, 1)
	mustSubmit(t, r, testUpdate("1", "telegram:1", done))
	if err := <-done; err != nil {
		t.Fatalf("Done = %v, want nil", err)
	}
	if err := <-sawErr; err != nil {
		t.Errorf("handler's context ended with %v, want it live", err)
	}
}

func TestReceiverStart(t *testing.T) {
	t.Run("ErrStartedTwice", func(t *testing.T) {
		r := startReceiver(t, bot.ReceiverOptions{Name: "viber"}, bot.HandlerFunc(echo), &recordingSender{})
		if err := r.Start(t.Context(), bot.HandlerFunc(echo), &recordingSender{}); err == nil {
			t.Fatal("second Start = nil, want an error")
		}
		// The first start's workers go on.
		done := make(chan error, 1)
		mustSubmit(t, r, testUpdate("1", "viber:1", done))
		if err := <-done; err != nil {
			t.Fatalf("Done = %v, want nil", err)
		}
	})
}

func TestReceiverSubmitStopped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// stop makes the receiver not take updates.
		stop func(t *testing.T) *bot.Receiver
	}{
		{"ErrNotStarted", func(t *testing.T) *bot.Receiver {
			return bot.NewReceiver(bot.ReceiverOptions{})
		}},
		{"ErrStopped", func(t *testing.T) *bot.Receiver {
			r := startReceiver(t, bot.ReceiverOptions{}, bot.HandlerFunc(echo), &recordingSender{})
			r.Stop()
			return r
		}},
		{"ErrStoppedTwice", func(t *testing.T) *bot.Receiver {
			r := startReceiver(t, bot.ReceiverOptions{}, bot.HandlerFunc(echo), &recordingSender{})
			r.Stop()
			r.Stop()
			return r
		}},
		{"ErrStoppedBeforeStart", func(t *testing.T) *bot.Receiver {
			r := bot.NewReceiver(bot.ReceiverOptions{})
			r.Stop()
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.stop(t)
			done := make(chan error, 1)
			if err := r.Submit(t.Context(), testUpdate("1", "telegram:1", done)); !errors.Is(err, bot.ErrStopped) {
				t.Errorf("Submit = %v, want ErrStopped", err)
			}
			if err := r.HandleWait(t.Context(), testUpdate("1", "telegram:2", done)); !errors.Is(err, bot.ErrStopped) {
				t.Errorf("HandleWait = %v, want ErrStopped", err)
			}
			select {
			case err := <-done:
				t.Errorf("Done heard %v of an update never taken", err)
			default:
			}
		})
	}
}

func TestReceiverHandleWait(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantErr func(err error) bool
	}{
		{"OK", nil, isNil},
		{"ErrHandling", errPermanent, func(err error) bool { return errors.Is(err, errPermanent) }},
		{"ErrRetryableNotRetried", &bot.TemporaryError{Err: errFlaky}, bot.IsRetryable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				calls++
				return []bot.Reply{{Text: "hi"}}, tc.err
			})
			s := &recordingSender{}
			r := startReceiver(t, bot.ReceiverOptions{}, h, s)

			inner := make(chan error, 1)
			err := r.HandleWait(t.Context(), testUpdate("77", "viber:1", inner))
			if !tc.wantErr(err) {
				t.Fatalf("HandleWait = %v", err)
			}
			if got := <-inner; got != err {
				t.Errorf("Done heard %v, HandleWait returned %v", got, err)
			}
			// HandleWait returned after Done, so the handler has run.
			if calls != 1 {
				t.Errorf("handled %d times, want 1", calls)
			}
		})
	}
}

// TestReceiverHandleWaitContextEnded gives up waiting while the update is
// queued: HandleWait returns ctx's error, the update is handled all the
// same and its redelivery skipped.
func TestReceiverHandleWaitContextEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		handled := map[string]int{}
		h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			mu.Lock()
			handled[ev.UpdateID]++
			mu.Unlock()
			if ev.UpdateID == "blocker" {
				close(started)
				<-release
			}
			return []bot.Reply{{Text: ev.UpdateID}}, nil
		})
		s := &recordingSender{}
		r := startReceiver(t, bot.ReceiverOptions{Workers: 1}, h, s)
		blocker := make(chan error, 1)
		mustSubmit(t, r, testUpdate("1", "blocker", blocker))
		<-started

		ctx, cancel := context.WithCancel(t.Context())
		inner := make(chan error, 2)
		waited := make(chan error)
		go func() { waited <- r.HandleWait(ctx, testUpdate("1", "webhook", inner)) }()
		// HandleWait has queued the update and waits for it.
		synctest.Wait()
		cancel()
		if err := <-waited; !errors.Is(err, context.Canceled) {
			t.Fatalf("HandleWait = %v, want context.Canceled", err)
		}

		close(release)
		if err := <-inner; err != nil {
			t.Fatalf("Done = %v, want nil", err)
		}
		if err := r.HandleWait(t.Context(), testUpdate("1", "webhook", inner)); err != nil {
			t.Fatalf("HandleWait of the redelivery = %v, want nil", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if handled["webhook"] != 1 {
			t.Errorf("webhook update handled %d times, want 1", handled["webhook"])
		}
		if got := s.Texts("1"); !slices.Equal(got, []string{"blocker", "webhook"}) {
			t.Errorf("sent %q, want the blocker's and the webhook update's replies", got)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attempt int
		base    time.Duration
	}{
		{"OKZeroTakenAsFirst", 0, 500 * time.Millisecond},
		{"OKNegativeTakenAsFirst", -4, 500 * time.Millisecond},
		{"OKFirst", 1, 500 * time.Millisecond},
		{"OKSecondDoubles", 2, time.Second},
		{"OKThird", 3, 2 * time.Second},
		{"OKSixth", 6, 16 * time.Second},
		{"OKSeventhCapped", 7, 30 * time.Second},
		{"OKLargeCapped", 1000, 30 * time.Second},
		{"OKHugeCapped", 1 << 40, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := tc.base/2, tc.base*3/2
			seen := map[time.Duration]bool{}
			for range 500 {
				d := bot.Backoff(tc.attempt)
				if d < lo || d >= hi {
					t.Fatalf("Backoff(%d) = %v, want within [%v, %v)", tc.attempt, d, lo, hi)
				}
				if d > 45*time.Second {
					t.Fatalf("Backoff(%d) = %v, more than 45s", tc.attempt, d)
				}
				seen[d] = true
			}
			// Jittered: 500 draws from a range of at least 500ms do not
			// all fall on one value.
			if len(seen) < 2 {
				t.Errorf("Backoff(%d) always %v, want jitter", tc.attempt, bot.Backoff(tc.attempt))
			}
		})
	}
}
