package bot_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

// senderClock is a fake clock: Sleep moves it forward at once, so rate
// limits and retries are tested without waiting.
type senderClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newSenderClock() *senderClock {
	return &senderClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *senderClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *senderClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *senderClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// delivery is one attempt the fake transport saw.
type delivery struct {
	chat string
	at   time.Time
}

// fakeTransport records every attempt by the fake clock's time and fails
// the n-th attempt (counted from 1) with fail(n), if fail is set.
type fakeTransport struct {
	clock *senderClock
	fail  func(n int) error

	mu    sync.Mutex
	tries []delivery
}

func (f *fakeTransport) Deliver(ctx context.Context, out bot.Outgoing) error {
	f.mu.Lock()
	f.tries = append(f.tries, delivery{out.ChatID, f.clock.Now()})
	n := len(f.tries)
	f.mu.Unlock()
	if f.fail != nil {
		return f.fail(n)
	}
	return nil
}

func (f *fakeTransport) Tries() []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]delivery(nil), f.tries...)
}

// newTestSender returns a sender on a fake clock with opts' other fields.
func newTestSender(fail func(n int) error, opts bot.SenderOptions) (*bot.Sender, *fakeTransport, *senderClock) {
	clock := newSenderClock()
	tr := &fakeTransport{clock: clock, fail: fail}
	opts.Now, opts.Sleep = clock.Now, clock.Sleep
	return bot.NewSender(tr, opts), tr, clock
}

func message(chat string) bot.Outgoing {
	return bot.Outgoing{ChatID: chat, Reply: bot.Reply{Text: "<b>Індекс</b> 47,3"}}
}

// maxInWindow returns the most deliveries within any window [t, t+w).
func maxInWindow(ds []delivery, w time.Duration) int {
	most := 0
	for _, a := range ds {
		n := 0
		for _, b := range ds {
			if !b.at.Before(a.at) && b.at.Before(a.at.Add(w)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func TestSenderGlobalRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
	}{
		{"OK/Default", 0},
		{"OK/Configured", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, tr, _ := newTestSender(nil, bot.SenderOptions{GlobalRate: tc.rate})
			limit := tc.rate
			if limit == 0 {
				limit = 25
			}
			// A broadcast: every message to another chat, so only the
			// global limit applies.
			const n = 200
			for i := range n {
				if err := s.Send(t.Context(), message(fmt.Sprintf("telegram:%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			ds := tr.Tries()
			if len(ds) != n {
				t.Fatalf("deliveries = %d, want %d", len(ds), n)
			}
			if got := maxInWindow(ds, time.Second); got > int(limit) {
				t.Fatalf("%d deliveries within one second, limit %v/s", got, limit)
			}
		})
	}
}

func TestSenderPerChatRate(t *testing.T) {
	s, tr, clock := newTestSender(nil, bot.SenderOptions{GlobalRate: 1000})
	start := clock.Now()
	const n = 20
	for range n {
		if err := s.Send(t.Context(), message("telegram:7")); err != nil {
			t.Fatal(err)
		}
	}
	ds := tr.Tries()
	if len(ds) != n {
		t.Fatalf("deliveries = %d, want %d", len(ds), n)
	}
	// The default burst of 3 goes at once (spaced only by the global
	// limit, 1ms here); then 1 per second.
	for i := range 3 {
		if d := ds[i].at.Sub(start); d > 10*time.Millisecond {
			t.Fatalf("delivery %d waited %s, want the burst to go at once", i, d)
		}
	}
	for _, w := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second} {
		if got, most := maxInWindow(ds, w), 3+int(w/time.Second); got > most {
			t.Fatalf("%d deliveries to one chat within %s, want at most %d", got, w, most)
		}
	}
}

func TestSenderChatsDoNotShareRate(t *testing.T) {
	s, tr, clock := newTestSender(nil, bot.SenderOptions{GlobalRate: 1000, PerChatBurst: 1})
	start := clock.Now()
	if err := s.Send(t.Context(), message("telegram:1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), message("telegram:2")); err != nil {
		t.Fatal(err)
	}
	ds := tr.Tries()
	if d := ds[1].at.Sub(start); d > 10*time.Millisecond {
		t.Fatalf("the second chat waited %s for the first chat's limit", d)
	}
}

func TestSenderRetries(t *testing.T) {
	errBadRequest := errors.New("Bad Request: message text is empty")
	errServer := &bot.TemporaryError{Err: errors.New("500 Internal Server Error")}
	for _, tc := range []struct {
		name     string
		fail     func(n int) error
		opts     bot.SenderOptions
		wantErr  error // errors.Is target; nil means success
		tries    int
		blocked  int
		checkErr func(t *testing.T, err error)
		checkRun func(t *testing.T, ds []delivery, sleeps []time.Duration)
	}{
		{
			name:  "OK",
			tries: 1,
		},
		{
			name: "OK/RetryAfterWaited",
			fail: func(n int) error {
				if n == 1 {
					return &bot.RetryAfterError{After: 7 * time.Second}
				}
				return nil
			},
			tries: 2,
			checkRun: func(t *testing.T, ds []delivery, _ []time.Duration) {
				if d := ds[1].at.Sub(ds[0].at); d < 7*time.Second {
					t.Fatalf("retried after %s, want the 7s retry_after waited out", d)
				}
			},
		},
		{
			name: "OK/TemporaryRetried",
			fail: func(n int) error {
				if n < 3 {
					return errServer
				}
				return nil
			},
			tries: 3,
		},
		{
			name:    "ErrTemporaryGivesUp",
			fail:    func(int) error { return errServer },
			wantErr: errServer,
			tries:   5,
			checkErr: func(t *testing.T, err error) {
				if !bot.IsRetryable(err) {
					t.Fatalf("err = %v, want it to stay retryable for the caller", err)
				}
			},
			checkRun: func(t *testing.T, _ []delivery, sleeps []time.Duration) {
				// Backoff pauses between the 5 attempts: 500ms doubling,
				// each within [ceiling/2, ceiling] (jitter).
				var backoffs []time.Duration
				for _, d := range sleeps {
					if d >= 200*time.Millisecond {
						backoffs = append(backoffs, d)
					}
				}
				if len(backoffs) != 4 {
					t.Fatalf("backoff pauses = %v, want 4", backoffs)
				}
				ceiling := 500 * time.Millisecond
				for i, d := range backoffs {
					if d < ceiling/2 || d > ceiling {
						t.Fatalf("backoff %d = %s, want within [%s, %s]", i+1, d, ceiling/2, ceiling)
					}
					ceiling *= 2
				}
			},
		},
		{
			name:    "ErrTemporaryGivesUp/MaxAttempts",
			fail:    func(int) error { return errServer },
			opts:    bot.SenderOptions{MaxAttempts: 2},
			wantErr: errServer,
			tries:   2,
		},
		{
			name:    "ErrRetryAfterGivesUp",
			fail:    func(int) error { return &bot.RetryAfterError{After: time.Second} },
			tries:   5,
			wantErr: nil,
			checkErr: func(t *testing.T, err error) {
				if _, ok := bot.RetryAfter(err); !ok {
					t.Fatalf("err = %v, want a *RetryAfterError", err)
				}
			},
		},
		{
			name:  "ErrRetryAfterTooLong",
			fail:  func(int) error { return &bot.RetryAfterError{After: 2 * time.Hour} },
			tries: 1,
			checkErr: func(t *testing.T, err error) {
				if after, ok := bot.RetryAfter(err); !ok || after != 2*time.Hour {
					t.Fatalf("err = %v, want the *RetryAfterError returned to the caller", err)
				}
			},
		},
		{
			name:    "ErrBlocked",
			fail:    func(int) error { return fmt.Errorf("%w: Forbidden: bot was blocked by the user", bot.ErrBlocked) },
			wantErr: bot.ErrBlocked,
			tries:   1,
			blocked: 1,
		},
		{
			name:    "ErrOther",
			fail:    func(int) error { return errBadRequest },
			wantErr: errBadRequest,
			tries:   1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var blocked []string
			opts := tc.opts
			opts.OnBlocked = func(chat string) { blocked = append(blocked, chat) }
			s, tr, clock := newTestSender(tc.fail, opts)

			err := s.Send(t.Context(), message("telegram:42"))
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && tc.checkErr == nil && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tc.checkErr != nil:
				if err == nil {
					t.Fatal("err = nil, want an error")
				}
				tc.checkErr(t, err)
			}
			ds := tr.Tries()
			if len(ds) != tc.tries {
				t.Fatalf("delivery attempts = %d, want %d", len(ds), tc.tries)
			}
			if len(blocked) != tc.blocked {
				t.Fatalf("OnBlocked called %d times, want %d", len(blocked), tc.blocked)
			}
			for _, chat := range blocked {
				if chat != "telegram:42" {
					t.Fatalf("OnBlocked(%q), want telegram:42", chat)
				}
			}
			if tc.checkRun != nil {
				tc.checkRun(t, ds, clock.Sleeps())
			}
		})
	}
}

// blockingSleep is a Sleep that reports it started and then waits for the
// context to end, like a long wait cut short.
func blockingSleep(started chan<- struct{}) func(context.Context, time.Duration) error {
	var once sync.Once
	return func(ctx context.Context, d time.Duration) error {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return ctx.Err()
	}
}

func TestSenderCanceled(t *testing.T) {
	t.Run("ErrCanceledWaitingRetryAfter", func(t *testing.T) {
		started := make(chan struct{})
		tr := &fakeTransport{clock: newSenderClock(), fail: func(int) error { return &bot.RetryAfterError{After: 30 * time.Second} }}
		s := bot.NewSender(tr, bot.SenderOptions{Now: tr.clock.Now, Sleep: blockingSleep(started)})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Send(ctx, message("telegram:1")) }()
		<-started
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := len(tr.Tries()); n != 1 {
			t.Fatalf("delivery attempts = %d, want 1", n)
		}
	})

	t.Run("ErrCanceledWaitingRateLimit", func(t *testing.T) {
		started := make(chan struct{})
		tr := &fakeTransport{clock: newSenderClock()}
		s := bot.NewSender(tr, bot.SenderOptions{PerChatBurst: 1, Now: tr.clock.Now, Sleep: blockingSleep(started)})
		if err := s.Send(t.Context(), message("telegram:1")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Send(ctx, message("telegram:1")) }()
		<-started
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := len(tr.Tries()); n != 1 {
			t.Fatalf("delivery attempts = %d, want only the first message", n)
		}
	})

	t.Run("ErrCanceledWaitingForChat", func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		clock := newSenderClock()
		tr := &blockingTransport{entered: entered, release: release}
		s := bot.NewSender(tr, bot.SenderOptions{Now: clock.Now, Sleep: clock.Sleep})
		first := make(chan error, 1)
		go func() { first <- s.Send(t.Context(), message("telegram:1")) }()
		<-entered
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Send(ctx, message("telegram:1")); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if n := tr.calls.Load(); n != 1 {
			t.Fatalf("delivery attempts = %d, want only the first message", n)
		}
	})
}

// blockingTransport holds every delivery until release is closed.
type blockingTransport struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	calls   atomic.Int32
}

func (b *blockingTransport) Deliver(ctx context.Context, out bot.Outgoing) error {
	b.calls.Add(1)
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestSenderConcurrent sends from many goroutines at once, as the channel's
// workers and the broadcast do: every message arrives, each chat's in order.
func TestSenderConcurrent(t *testing.T) {
	clock := newSenderClock()
	tr := &orderTransport{}
	s := bot.NewSender(tr, bot.SenderOptions{GlobalRate: 1e6, PerChatRate: 1e6, Now: clock.Now, Sleep: clock.Sleep})
	const chats, perChat = 8, 25
	var wg sync.WaitGroup
	for c := range chats {
		wg.Go(func() {
			for i := range perChat {
				out := message(fmt.Sprintf("telegram:%d", c))
				out.Reply.Text = fmt.Sprint(i)
				if err := s.Send(t.Context(), out); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for c := range chats {
		got := tr.texts(fmt.Sprintf("telegram:%d", c))
		if len(got) != perChat {
			t.Fatalf("chat %d got %d messages, want %d", c, len(got), perChat)
		}
		for i, text := range got {
			if text != fmt.Sprint(i) {
				t.Fatalf("chat %d message %d = %q: out of order", c, i, text)
			}
		}
	}
}

// orderTransport records each chat's texts in delivery order.
type orderTransport struct {
	mu  sync.Mutex
	got map[string][]string
}

func (o *orderTransport) Deliver(ctx context.Context, out bot.Outgoing) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.got == nil {
		o.got = make(map[string][]string)
	}
	o.got[out.ChatID] = append(o.got[out.ChatID], out.Reply.Text)
	return nil
}

func (o *orderTransport) texts(chat string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.got[chat]
}

// TestSenderForgetsIdleChats checks that the per-chat limiters of a large
// broadcast do not stay in memory.
func TestSenderForgetsIdleChats(t *testing.T) {
	s, _, clock := newTestSender(nil, bot.SenderOptions{GlobalRate: 1e6})
	for i := range 1000 {
		if err := s.Send(t.Context(), message(fmt.Sprintf("telegram:%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := bot.ChatsTracked(s); n < 1000 {
		t.Fatalf("chats tracked = %d right after sending to 1000, want 1000", n)
	}
	if err := clock.Sleep(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), message("telegram:last")); err != nil {
		t.Fatal(err)
	}
	if n := bot.ChatsTracked(s); n != 1 {
		t.Fatalf("chats tracked = %d a minute later, want 1", n)
	}
}

// TestSenderConcurrentOneChat sends to one chat from many goroutines: the
// chat's limit holds as if the messages were sent one after another.
func TestSenderConcurrentOneChat(t *testing.T) {
	s, tr, _ := newTestSender(nil, bot.SenderOptions{GlobalRate: 1e6, PerChatBurst: 1})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 5 {
				if err := s.Send(t.Context(), message("telegram:1")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	ds := tr.Tries()
	if len(ds) != 50 {
		t.Fatalf("deliveries = %d, want 50", len(ds))
	}
	if got := maxInWindow(ds, time.Second); got > 2 {
		t.Fatalf("%d deliveries to one chat within one second, want at most 2", got)
	}
}

func TestSleep(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		if err := bot.Sleep(t.Context(), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := bot.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// sharedLimiter is a bot.Limiter in memory on the fake clock: GCRA as
// storage/redis runs it, in whole nanoseconds, for the Senders of a test
// that share it, as the processes of a fleet share Redis. fail, when set,
// returns the error of the n-th call (from 1), nil to answer.
type sharedLimiter struct {
	clock *senderClock
	fail  func(n int) error

	mu    sync.Mutex
	calls int
	tat   map[string]time.Time // theoretical arrival time, by key
	keys  map[string]int       // events given, by key
}

var _ bot.Limiter = (*sharedLimiter)(nil)

func (l *sharedLimiter) Allow(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.fail != nil {
		if err := l.fail(l.calls); err != nil {
			return 0, err
		}
	}
	if l.tat == nil {
		l.tat, l.keys = map[string]time.Time{}, map[string]int{}
	}
	now := l.clock.Now()
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	if free := tat.Add(interval - time.Duration(max(burst, 1))*interval); now.Before(free) {
		return free.Sub(now), nil
	}
	l.tat[key] = tat.Add(interval)
	l.keys[key]++
	return 0, nil
}

func (l *sharedLimiter) Keys() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.keys)
}

// TestSenderSharedLimiter has two Senders, as two processes would, send
// turn about through one shared limiter: together they keep the limits
// that each keeps alone without it.
func TestSenderSharedLimiter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     bot.SenderOptions
		chat     func(i int) string
		n        int
		check    func(t *testing.T, ds []delivery)
		wantKeys map[string]int
	}{
		{
			name: "OKGlobalRateInAll",
			opts: bot.SenderOptions{GlobalRate: 10},
			chat: func(i int) string { return strconv.Itoa(i) },
			n:    100,
			check: func(t *testing.T, ds []delivery) {
				if got := maxInWindow(ds, time.Second); got > 10 {
					t.Fatalf("%d deliveries within one second, limit 10/s in all", got)
				}
			},
		},
		{
			name: "OKChatRateInAll",
			opts: bot.SenderOptions{GlobalRate: 1000},
			chat: func(int) string { return "42" },
			n:    30,
			check: func(t *testing.T, ds []delivery) {
				for _, w := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second} {
					if got, most := maxInWindow(ds, w), 3+int(w/time.Second); got > most {
						t.Fatalf("%d deliveries to one chat within %s, want at most %d", got, w, most)
					}
				}
			},
		},
		{
			name:     "OKKeysOfThePlatform",
			opts:     bot.SenderOptions{Platform: "telegram"},
			chat:     func(i int) string { return strconv.Itoa(i % 2) },
			n:        4,
			wantKeys: map[string]int{"send:telegram": 4, "chat:telegram:0": 2, "chat:telegram:1": 2},
		},
		{
			name:     "OKUnlimitedAsksChatsOnly",
			opts:     bot.SenderOptions{GlobalRate: math.Inf(1), Platform: "telegram"},
			chat:     func(int) string { return "7" },
			n:        2,
			wantKeys: map[string]int{"chat:telegram:7": 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newSenderClock()
			tr := &fakeTransport{clock: clock}
			lim := &sharedLimiter{clock: clock}
			opts := tc.opts
			opts.Limiter, opts.Now, opts.Sleep = lim, clock.Now, clock.Sleep
			senders := []*bot.Sender{bot.NewSender(tr, opts), bot.NewSender(tr, opts)}
			for i := range tc.n {
				if err := senders[i%2].Send(t.Context(), message(tc.chat(i))); err != nil {
					t.Fatal(err)
				}
			}
			ds := tr.Tries()
			if len(ds) != tc.n {
				t.Fatalf("deliveries = %d, want %d", len(ds), tc.n)
			}
			if tc.check != nil {
				tc.check(t, ds)
			}
			if tc.wantKeys != nil {
				if got := lim.Keys(); !maps.Equal(got, tc.wantKeys) {
					t.Fatalf("limiter keys %v, want %v", got, tc.wantKeys)
				}
			}
		})
	}
}

// TestSenderSharedLimiterDown checks that a Sender whose shared limiter
// fails goes on sending under limits of its own, a share of the global
// one, never unlimited.
func TestSenderSharedLimiterDown(t *testing.T) {
	errRedis := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

	t.Run("OKFallsBackToShareOfRate", func(t *testing.T) {
		clock := newSenderClock()
		tr := &fakeTransport{clock: clock}
		lim := &sharedLimiter{clock: clock, fail: func(int) error { return errRedis }}
		s := bot.NewSender(tr, bot.SenderOptions{GlobalRate: 20, Limiter: lim, Now: clock.Now, Sleep: clock.Sleep})
		const n = 60
		for i := range n {
			if err := s.Send(t.Context(), message(strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		ds := tr.Tries()
		if len(ds) != n {
			t.Fatalf("deliveries = %d, want %d", len(ds), n)
		}
		// The default FleetSize of 4 leaves each process 20/4 a second.
		if got := maxInWindow(ds, time.Second); got > 5 {
			t.Fatalf("%d deliveries within one second, want at most 5 while the limiter is down", got)
		}
		// It is asked again after a backoff, not for every message.
		if lim.calls >= n/2 {
			t.Fatalf("limiter asked %d times for %d messages", lim.calls, n)
		}
	})

	t.Run("OKSharedAgainOnceItAnswers", func(t *testing.T) {
		clock := newSenderClock()
		tr := &fakeTransport{clock: clock}
		lim := &sharedLimiter{clock: clock, fail: func(n int) error {
			if n <= 2 {
				return errRedis
			}
			return nil
		}}
		s := bot.NewSender(tr, bot.SenderOptions{GlobalRate: 20, Limiter: lim, Now: clock.Now, Sleep: clock.Sleep})
		const n = 40
		for i := range n {
			if err := s.Send(t.Context(), message(strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(tr.Tries()); got != n {
			t.Fatalf("deliveries = %d, want %d", got, n)
		}
		if got := lim.Keys()["send:bot"]; got == 0 || got >= n {
			t.Fatalf("%d of %d messages under the shared limit, want the ones after the outage", got, n)
		}
	})

	t.Run("OKStuckLimiterCountsAsDown", func(t *testing.T) {
		clock := newSenderClock()
		tr := &fakeTransport{clock: clock}
		s := bot.NewSender(tr, bot.SenderOptions{Limiter: stuckLimiter{}, Now: clock.Now, Sleep: clock.Sleep})
		if err := s.Send(t.Context(), message("42")); err != nil {
			t.Fatal(err)
		}
		if n := len(tr.Tries()); n != 1 {
			t.Fatalf("delivery attempts = %d, want 1 under the local limits", n)
		}
	})

	t.Run("ErrCanceledAskingLimiter", func(t *testing.T) {
		clock := newSenderClock()
		tr := &fakeTransport{clock: clock}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// The call is cut short by ctx, as go-redis returns it.
		lim := &sharedLimiter{clock: clock, fail: func(int) error {
			cancel()
			return context.Canceled
		}}
		s := bot.NewSender(tr, bot.SenderOptions{Limiter: lim, Now: clock.Now, Sleep: clock.Sleep})
		if err := s.Send(ctx, message("42")); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := len(tr.Tries()); n != 0 {
			t.Fatalf("delivery attempts = %d, want none", n)
		}
	})
}

// stuckLimiter answers nothing until its context ends, as a Redis that
// stopped answering without closing the connection.
type stuckLimiter struct{}

func (stuckLimiter) Allow(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}
