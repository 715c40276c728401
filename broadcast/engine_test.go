package broadcast_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/broadcast"
)

// tuesday is an ordinary working hour, far from quiet hours.
var tuesday = Kyiv(2026, time.November, 24, 11, 0, 0)

// kyivQuiet is the default quiet hours, 21:00 to 08:00.
var kyivQuiet = broadcast.QuietHours{Enabled: true, Start: 21, End: 8}

// chatNumber is a test chat id as a number.
func chatNumber(chat string) int {
	n, _ := strconv.Atoi(chat)
	return n
}

func TestSendPending(t *testing.T) {
	t.Run("OKTenThousandEachOnce", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 10000, false)
			snd := &FakeSender{Clock: clock, Fault: func(chat string, attempt int) error {
				switch n := chatNumber(chat); {
				case attempt == 1 && n%97 == 0:
					return Temporary
				case attempt == 1 && n%101 == 0:
					return RetryAfter(2 * time.Second)
				}
				return nil
			}}
			var lastSent, lastTotal, reports int
			outcomes := map[string]int{}
			s := MustService(t, db, clock, snd, func(c *broadcast.Config) {
				c.QuietHours = kyivQuiet
				c.Progress = func(kind string, sent, total int) { reports, lastSent, lastTotal = reports+1, sent, total }
				c.Outcome = func(kind, state string, n int) { outcomes[state] += n }
			})
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			ds := snd.Deliveries()
			AssertEachOnce(t, ds, chats)
			AssertRate(t, ds, 1000)
			if outcomes[hromadabot.RecipientSent] != 10000 {
				t.Fatalf("outcome hook counted %v, want 10000 sent", outcomes)
			}
			if reports < 2 || lastSent != 10000 || lastTotal != 10000 {
				t.Fatalf("progress hook heard %d times, last %d of %d; want several, last 10000 of 10000", reports, lastSent, lastTotal)
			}
			p := MustProgress(t, db, job.ID)
			if p.Status != hromadabot.BroadcastDone || p.Sent != 10000 || p.Pending != 0 || p.Failed != 0 || p.FinishedAt == nil {
				t.Fatalf("progress %+v", p)
			}
			for _, c := range chats {
				if n := chatNumber(c); n%97 == 0 && n%101 != 0 {
					if again := snd.Attempts(c); again != 2 {
						t.Fatalf("chat %s tried %d times after a 500, want 2", c, again)
					}
					break
				}
			}
		})
	})

	t.Run("OKThroughSenderWithFaults", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 2000, false)
			transport := &FakeSender{Clock: clock, Fault: func(chat string, attempt int) error {
				switch n := chatNumber(chat); {
				case n%50 == 0:
					return Blocked
				case attempt == 1 && n%7 == 0:
					return RetryAfter(3 * time.Second)
				case attempt <= 2 && n%11 == 0:
					return Temporary
				}
				return nil
			}}
			sender := bot.NewSender(transport, bot.SenderOptions{GlobalRate: 30, Now: clock.Now, Sleep: clock.Sleep})
			s := MustService(t, db, clock, sender, func(c *broadcast.Config) { c.Rate = 25 })
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			var reachable []string
			for _, c := range chats {
				if chatNumber(c)%50 != 0 {
					reachable = append(reachable, c)
				}
			}
			ds := transport.Deliveries()
			AssertEachOnce(t, ds, reachable)
			AssertRate(t, ds, 25)
			p := MustProgress(t, db, job.ID)
			if p.Status != hromadabot.BroadcastDone || p.Sent != len(reachable) || p.Blocked != 40 || p.Failed != 0 {
				t.Fatalf("progress %+v", p)
			}
		})
	})

	t.Run("OKFailsAfterBoundedRetries", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 3, false)
			snd := &FakeSender{Clock: clock, Fault: func(chat string, _ int) error {
				if chat == chats[1] {
					return Temporary
				}
				return nil
			}}
			s := MustService(t, db, clock, snd, nil)
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			AssertEachOnce(t, snd.Deliveries(), []string{chats[0], chats[2]})
			if n := snd.Attempts(chats[1]); n != 3 {
				t.Fatalf("failing chat tried %d times, want 3", n)
			}
			p := MustProgress(t, db, job.ID)
			if p.Status != hromadabot.BroadcastDone || p.Failed != 1 || p.Sent != 2 {
				t.Fatalf("progress %+v", p)
			}
			// A finished job is never sent again.
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(snd.Deliveries()); n != 2 {
				t.Fatalf("%d deliveries after a second pass, want 2", n)
			}
		})
	})

	t.Run("OKPermanentErrorNotRetried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 2, false)
			snd := &FakeSender{Clock: clock, Fault: func(chat string, _ int) error {
				if chat == chats[0] {
					return context.DeadlineExceeded // not a send error the platform may lift
				}
				return nil
			}}
			s := MustService(t, db, clock, snd, nil)
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := snd.Attempts(chats[0]); n != 1 {
				t.Fatalf("tried %d times, want 1", n)
			}
			if p := MustProgress(t, db, job.ID); p.Failed != 1 || p.Sent != 1 {
				t.Fatalf("progress %+v", p)
			}
		})
	})

	t.Run("OKNoChannelForPlatformFails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			c := MustCommunity(t, db, "Бучанська")
			MustUser(t, db, 1, "uk", hromadabot.RoleCDTO, c.ID, false)
			MustPlatformUser(t, db, hromadabot.PlatformViber, "v1", "uk", hromadabot.RoleCDTO, c.ID, false)
			job, err := broadcast.Announce(t.Context(), db, broadcast.Announcement{Audience: broadcast.AudienceCDTO, Text: "Увага", Actor: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			snd := &FakeSender{Clock: clock}
			if err := MustService(t, db, clock, snd, nil).SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			AssertEachOnce(t, snd.Deliveries(), []string{"1"})
			if p := MustProgress(t, db, job.ID); p.Status != hromadabot.BroadcastDone || p.Sent != 1 || p.Failed != 1 {
				t.Fatalf("progress %+v", p)
			}
		})
	})
}

func TestResume(t *testing.T) {
	t.Run("OKKilledHalfWayEachOnce", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, path := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 3000, false)

			ctx, kill := context.WithCancel(t.Context())
			snd := &FakeSender{Clock: clock, After: func(n int) {
				if n == 1234 {
					kill()
				}
			}}
			first := MustService(t, db, clock, snd, func(c *broadcast.Config) { c.Rate = 100 })
			if err := first.SendPending(ctx); err != nil {
				t.Fatal(err)
			}
			sent := len(snd.Deliveries())
			p := MustProgress(t, db, job.ID)
			if sent < 1234 || p.Sent != sent || p.Pending != 3000-sent || p.Status != hromadabot.BroadcastPaused || p.Owner != "" {
				t.Fatalf("after the kill: %d delivered, progress %+v", sent, p)
			}

			// A new process on the same file sends the rest.
			db.Close()
			reopened := MustOpenDBAt(t, path, clock)
			snd.After = nil
			second := MustService(t, reopened, clock, snd, func(c *broadcast.Config) { c.Rate = 100 })
			if err := second.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			AssertEachOnce(t, snd.Deliveries(), chats)
			if p := MustProgress(t, reopened, job.ID); p.Status != hromadabot.BroadcastDone || p.Sent != 3000 {
				t.Fatalf("after the restart: progress %+v", p)
			}
		})
	})

	t.Run("OKTakesOverAfterLease", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 50, false)
			// A process that crashed while sending left its lease behind.
			if ok, err := db.ClaimBroadcast(t.Context(), job.ID, "crashed", time.Minute); err != nil || !ok {
				t.Fatalf("claim: %v, %v", ok, err)
			}
			snd := &FakeSender{Clock: clock}
			s := MustService(t, db, clock, snd, nil)
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(snd.Deliveries()); n != 0 {
				t.Fatalf("%d sent while another process held the job", n)
			}
			time.Sleep(time.Minute + time.Second)
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			AssertEachOnce(t, snd.Deliveries(), chats)
		})
	})

	t.Run("OKHoldsJobThroughLongPause", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 5, false)
			snd := &FakeSender{Clock: clock, Fault: func(chat string, attempt int) error {
				if chat == chats[0] && attempt == 1 {
					return RetryAfter(3 * time.Minute)
				}
				return nil
			}}
			first := MustService(t, db, clock, snd, nil)
			done := make(chan error)
			go func() { done <- first.SendPending(t.Context()) }()

			// Well past the lease, the first process still holds the job.
			time.Sleep(2 * time.Minute)
			other := &FakeSender{Clock: clock}
			if err := MustService(t, db, clock, other, nil).SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(other.Deliveries()); n != 0 {
				t.Fatalf("another process sent %d messages of a job in progress", n)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			AssertEachOnce(t, snd.Deliveries(), chats)
			if p := MustProgress(t, db, job.ID); p.Status != hromadabot.BroadcastDone {
				t.Fatalf("progress %+v", p)
			}
		})
	})
}

func TestBlocked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		through func(f *FakeSender, clock *Clock) broadcast.Sender
	}{
		{"OKUnsubscribes", func(f *FakeSender, _ *Clock) broadcast.Sender { return f }},
		{"OKUnsubscribesThroughSender", func(f *FakeSender, clock *Clock) broadcast.Sender {
			return bot.NewSender(f, bot.SenderOptions{Now: clock.Now, Sleep: clock.Sleep})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := NewClock(tuesday)
				db, _ := MustOpenDB(t, clock)
				c := MustCommunity(t, db, "Бучанська")
				var users []*hromadabot.User
				for i := range 3 {
					users = append(users, MustUser(t, db, i+1, "uk", hromadabot.RoleResident, c.ID, true))
				}
				job, err := broadcast.Announce(t.Context(), db, broadcast.Announcement{Audience: broadcast.AudienceResidents, Text: "Новини", Actor: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				snd := &FakeSender{Clock: clock, Fault: func(chat string, _ int) error {
					if chat == users[1].PlatformID {
						return Blocked
					}
					return nil
				}}
				if err := MustService(t, db, clock, tc.through(snd, clock), nil).SendPending(t.Context()); err != nil {
					t.Fatal(err)
				}
				AssertEachOnce(t, snd.Deliveries(), []string{users[0].PlatformID, users[2].PlatformID})
				if n := snd.Attempts(users[1].PlatformID); n != 1 {
					t.Fatalf("blocked chat tried %d times, want 1", n)
				}
				if p := MustProgress(t, db, job.ID); p.Blocked != 1 || p.Sent != 2 || p.Status != hromadabot.BroadcastDone {
					t.Fatalf("progress %+v", p)
				}
				for i, u := range users {
					got, err := db.User(t.Context(), u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if blocked := i == 1; got.Blocked != blocked || got.Subscribed == blocked {
						t.Fatalf("user %d: blocked %v subscribed %v", i, got.Blocked, got.Subscribed)
					}
				}
				// The next announcement leaves the blocked user out.
				next, err := broadcast.Announce(t.Context(), db, broadcast.Announcement{Audience: broadcast.AudienceAll, Text: "Ще новини", Actor: "cli"})
				if err != nil || next.Total != 2 {
					t.Fatalf("next announcement: %+v, %v", next, err)
				}
			})
		})
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rate, n     int
		concurrency int
		withSender  bool
	}{
		{"OKOnePerSecond", 1, 40, 8, false},
		{"OKSevenPerSecond", 7, 150, 3, false},
		{"OKTwentyFivePerSecond", 25, 600, 8, false},
		{"OKTwentyFiveUnderSharedSender", 25, 600, 16, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := NewClock(tuesday)
				db, _ := MustOpenDB(t, clock)
				_, chats := MustJob(t, db, tc.n, false)
				// Every 13th chat is rate limited once: the pause must not
				// let the sends that wait for it out in a burst.
				snd := &FakeSender{Clock: clock, Fault: func(chat string, attempt int) error {
					if attempt == 1 && chatNumber(chat)%13 == 0 {
						return RetryAfter(1500 * time.Millisecond)
					}
					return nil
				}}
				var through broadcast.Sender = snd
				if tc.withSender {
					// The Sender allows more than the engine: replies share it.
					through = bot.NewSender(snd, bot.SenderOptions{GlobalRate: 30, MaxAttempts: 1, Now: clock.Now, Sleep: clock.Sleep})
				}
				s := MustService(t, db, clock, through, func(c *broadcast.Config) { c.Rate, c.Concurrency = tc.rate, tc.concurrency })
				if err := s.SendPending(t.Context()); err != nil {
					t.Fatal(err)
				}
				ds := snd.Deliveries()
				AssertEachOnce(t, ds, chats)
				AssertRate(t, ds, tc.rate)
			})
		})
	}

	t.Run("OKKeepsUpTheRate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			_, chats := MustJob(t, db, 251, false)
			snd := &FakeSender{Clock: clock}
			s := MustService(t, db, clock, snd, func(c *broadcast.Config) { c.Rate = 25 })
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			ds := snd.Deliveries()
			AssertEachOnce(t, ds, chats)
			// The limit is the rate, not less: 251 messages evenly spaced at
			// 25 a second span ten seconds.
			if span := ds[len(ds)-1].At.Sub(ds[0].At); span > 10*time.Second+10*time.Millisecond {
				t.Fatalf("251 messages at 25/s spread over %s", span)
			}
		})
	})
}

// TestRateShared runs jobs in several processes at once, each paced by one
// shared limiter (Redis in production): together they keep the rate, and
// each platform's pace has a key of its own.
func TestRateShared(t *testing.T) {
	for _, tc := range []struct {
		name          string
		processes     int
		rate          int
		platformRates map[string]int
		wantKey       string
	}{
		{"OKThreeProcessesKeepTheRate", 3, 10, nil, "broadcast:default"},
		{"OKOneProcessKeepsTheRate", 1, 10, nil, "broadcast:default"},
		{"OKPlatformRateHasItsKey", 3, 25, map[string]int{hromadabot.PlatformTelegram: 7}, "broadcast:telegram"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := NewClock(tuesday)
				db, _ := MustOpenDB(t, clock)
				const perJob = 60
				var chats []string
				for j := range tc.processes {
					_, cs := MustJobKey(t, db, "announce:fleet-"+strconv.Itoa(j), 100000+1000*j, perJob, false)
					chats = append(chats, cs...)
				}
				lim := &FakeLimiter{Clock: clock}
				senders := make([]*FakeSender, tc.processes)
				errs := make(chan error, tc.processes)
				for i := range senders {
					senders[i] = &FakeSender{Clock: clock}
					s := MustService(t, db, clock, senders[i], func(c *broadcast.Config) {
						c.Rate, c.PlatformRates, c.Limiter = tc.rate, tc.platformRates, lim
					})
					go func() { errs <- s.SendPending(t.Context()) }()
				}
				for range senders {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
				var all []Delivery
				busy := 0
				for _, snd := range senders {
					ds := snd.Deliveries()
					all = append(all, ds...)
					if len(ds) > 0 {
						busy++
					}
				}
				AssertEachOnce(t, all, chats)
				rate := tc.rate
				if r, ok := tc.platformRates[hromadabot.PlatformTelegram]; ok {
					rate = r
				}
				AssertRate(t, all, rate)
				if tc.processes > 1 && busy < 2 {
					t.Fatalf("%d of %d processes sent: the test wants them sending together", busy, tc.processes)
				}
				if got := lim.Keys(); got[tc.wantKey] != len(chats) || len(got) != 1 {
					t.Fatalf("limiter keys %v, want %d events of %s alone", got, len(chats), tc.wantKey)
				}
			})
		})
	}

	t.Run("OKLimiterDownWaitsThenSends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 20, false)
			// Redis refuses the first five calls: the sends wait, with
			// backoff, and none is given up as failed.
			lim := &FakeLimiter{Clock: clock, Fail: func(n int) error {
				if n <= 5 {
					return errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
				}
				return nil
			}}
			snd := &FakeSender{Clock: clock}
			start := clock.Now()
			s := MustService(t, db, clock, snd, func(c *broadcast.Config) { c.Rate, c.Limiter = 10, lim })
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			ds := snd.Deliveries()
			AssertEachOnce(t, ds, chats)
			AssertRate(t, ds, 10)
			// Five backoffs from 500ms, each at least half its ceiling.
			if waited := ds[0].At.Sub(start); waited < (250+500+1000+2000+4000)*time.Millisecond {
				t.Fatalf("first message after %s: sent while the limiter was down", waited)
			}
			if p := MustProgress(t, db, job.ID); p.Status != hromadabot.BroadcastDone || p.Sent != 20 || p.Failed != 0 {
				t.Fatalf("progress %+v", p)
			}
		})
	})

	t.Run("OKLimiterDownStopsWithContext", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			job, _ := MustJob(t, db, 20, false)
			lim := &FakeLimiter{Clock: clock, Fail: func(int) error { return errors.New("connection refused") }}
			snd := &FakeSender{Clock: clock}
			s := MustService(t, db, clock, snd, func(c *broadcast.Config) { c.Limiter = lim })
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			if err := s.SendPending(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(snd.Deliveries()); n != 0 {
				t.Fatalf("%d sent without a limit", n)
			}
			if p := MustProgress(t, db, job.ID); p.Pending != 20 || p.Failed != 0 || p.Status == hromadabot.BroadcastDone {
				t.Fatalf("progress %+v, want every recipient still pending", p)
			}
		})
	})
}

func TestQuietHours(t *testing.T) {
	t.Run("OKPausesAndResumesInTheMorning", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(Kyiv(2026, time.November, 24, 20, 59, 30))
			db, _ := MustOpenDB(t, clock)
			job, chats := MustJob(t, db, 100, false)
			snd := &FakeSender{Clock: clock}
			s := MustService(t, db, clock, snd, func(c *broadcast.Config) { c.Rate, c.QuietHours = 1, kyivQuiet })

			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			evening := len(snd.Deliveries())
			p := MustProgress(t, db, job.ID)
			if evening == 0 || evening > 30 || p.Status != hromadabot.BroadcastPaused || p.Sent != evening {
				t.Fatalf("by 21:00: %d sent, progress %+v", evening, p)
			}

			time.Sleep(Kyiv(2026, time.November, 24, 23, 0, 0).Sub(clock.Now()))
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(snd.Deliveries()); n != evening {
				t.Fatalf("%d sent at 23:00, want none", n-evening)
			}

			time.Sleep(Kyiv(2026, time.November, 25, 8, 0, 0).Sub(clock.Now()))
			if err := s.SendPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			ds := snd.Deliveries()
			AssertEachOnce(t, ds, chats)
			for _, d := range ds {
				if h := d.At.In(hromadabot.Kyiv).Hour(); h >= 21 || h < 8 {
					t.Fatalf("a message went out at %s, in quiet hours", d.At.In(hromadabot.Kyiv))
				}
			}
			if p := MustProgress(t, db, job.ID); p.Status != hromadabot.BroadcastDone {
				t.Fatalf("progress %+v", p)
			}
		})
	})

	for _, tc := range []struct {
		name  string
		now   bool
		quiet broadcast.QuietHours
		sent  int
	}{
		{"OKNothingAtNight", false, kyivQuiet, 0},
		{"OKAnnouncementNowOverrides", true, kyivQuiet, 20},
		{"OKQuietHoursOff", false, broadcast.QuietHours{}, 20},
		{"OKOtherSpanNotQuiet", false, broadcast.QuietHours{Enabled: true, Start: 1, End: 6}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := NewClock(Kyiv(2026, time.November, 24, 23, 30, 0))
				db, _ := MustOpenDB(t, clock)
				MustJob(t, db, 20, tc.now)
				snd := &FakeSender{Clock: clock}
				s := MustService(t, db, clock, snd, func(c *broadcast.Config) { c.QuietHours = tc.quiet })
				if err := s.SendPending(t.Context()); err != nil {
					t.Fatal(err)
				}
				if n := len(snd.Deliveries()); n != tc.sent {
					t.Fatalf("%d sent at 23:30, want %d", n, tc.sent)
				}
			})
		})
	}
}

func TestQuietHoursValues(t *testing.T) {
	night := broadcast.QuietHours{Enabled: true, Start: 21, End: 8}
	day := broadcast.QuietHours{Enabled: true, Start: 13, End: 15}
	for _, tc := range []struct {
		name  string
		q     broadcast.QuietHours
		at    time.Time
		quiet bool
		until time.Time
	}{
		{"OKEveningQuiet", night, Kyiv(2026, 3, 28, 21, 0, 0), true, Kyiv(2026, 3, 29, 8, 0, 0)},
		{"OKMorningQuiet", night, Kyiv(2026, 3, 29, 7, 59, 59), true, Kyiv(2026, 3, 29, 8, 0, 0)},
		{"OKEightNotQuiet", night, Kyiv(2026, 3, 29, 8, 0, 0), false, time.Time{}},
		{"OKBeforeNineNotQuiet", night, Kyiv(2026, 3, 29, 20, 59, 59), false, time.Time{}},
		{"OKDaySpanQuiet", day, Kyiv(2026, 3, 29, 14, 30, 0), true, Kyiv(2026, 3, 29, 15, 0, 0)},
		{"OKDaySpanAfter", day, Kyiv(2026, 3, 29, 15, 0, 0), false, time.Time{}},
		{"OKOffNeverQuiet", broadcast.QuietHours{}, Kyiv(2026, 3, 29, 3, 0, 0), false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.q.Contains(tc.at.UTC(), hromadabot.Kyiv); got != tc.quiet {
				t.Fatalf("Contains = %v, want %v", got, tc.quiet)
			}
			if tc.quiet {
				if got := tc.q.Until(tc.at.UTC(), hromadabot.Kyiv); !got.Equal(tc.until) {
					t.Fatalf("Until = %s, want %s", got, tc.until)
				}
			}
		})
	}
	for _, q := range []broadcast.QuietHours{{Enabled: true, Start: 8, End: 8}, {Enabled: true, Start: 24, End: 8}, {Enabled: true, Start: -1, End: 3}} {
		t.Run("ErrInvalid", func(t *testing.T) {
			if err := q.Validate(); err == nil {
				t.Fatalf("%+v validated", q)
			}
		})
	}
}

func TestNew(t *testing.T) {
	clock := NewClock(tuesday)
	db, _ := MustOpenDB(t, clock)
	for _, tc := range []struct {
		name string
		edit func(c *broadcast.Config)
		want string
	}{
		{"ErrStoreRequired", func(c *broadcast.Config) { c.Store = nil }, "Store is required"},
		{"ErrLocalesRequired", func(c *broadcast.Config) { c.Locales = nil }, "Locales is required"},
		{"ErrRateNegative", func(c *broadcast.Config) { c.Rate = -1 }, "rate -1"},
		{"ErrConcurrencyNegative", func(c *broadcast.Config) { c.Concurrency = -2 }, "concurrency -2"},
		{"ErrQuietHoursInvalid", func(c *broadcast.Config) { c.QuietHours = broadcast.QuietHours{Enabled: true, Start: 9, End: 9} }, "quiet hours 9-9"},
		{"ErrReminderCronInvalid", func(c *broadcast.Config) { c.ReminderCron = "every monday" }, `reminder schedule "every monday"`},
		{"ErrDigestCronInvalid", func(c *broadcast.Config) { c.DigestCron = "0 25 * * 5" }, `digest schedule "0 25 * * 5"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := broadcast.Config{Store: db, Locales: MustCatalog(t), Clock: clock}
			tc.edit(&cfg)
			s, err := broadcast.New(cfg)
			if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error with %q", s, err, tc.want)
			}
		})
	}
}
