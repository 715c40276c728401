package broadcast_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/sqldb"
)

var _ broadcast.SlotLock = (*redis.SlotLock)(nil)

// monday is the default reminder slot, Monday 10:00 in Kyiv.
var monday = Kyiv(2026, time.November, 23, 10, 0, 0)

// MustRedis returns a client of the Redis at REDIS_URL when it is set, of
// an in-process miniredis otherwise, and a key prefix of the test's own.
func MustRedis(t *testing.T) (goredis.UniversalClient, string) {
	t.Helper()
	prefix := "hromadabot-test:" + t.Name() + ":" + time.Now().Format(time.RFC3339Nano) + ":"
	if url := os.Getenv("REDIS_URL"); url != "" {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatalf("REDIS_URL: %v", err)
		}
		c := goredis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		return c, prefix
	}
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { c.Close() })
	return c, prefix
}

// silentCDTO makes a CDTO whose community has never reported: due a
// reminder whatever else holds.
func silentCDTO(t *testing.T, db *sqldb.DB, id int) *hromadabot.User {
	t.Helper()
	c := MustCommunity(t, db, "Громада "+strconv.Itoa(id))
	return MustUser(t, db, id, "uk", hromadabot.RoleCDTO, c.ID, false)
}

// jobs returns every stored job.
func jobs(t *testing.T, db *sqldb.DB) []hromadabot.BroadcastProgress {
	t.Helper()
	all, err := db.Broadcasts(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestFire(t *testing.T) {
	ctx := context.Background()

	t.Run("OKSameSlotOneJob", func(t *testing.T) {
		clock := NewClock(monday)
		db, _ := MustOpenDB(t, clock)
		silentCDTO(t, db, 1)
		s := MustService(t, db, clock, &FakeSender{Clock: clock}, nil)
		first, created, err := s.Fire(ctx, hromadabot.BroadcastReminder, monday)
		if err != nil || !created || first.Key != "reminder:2026-W48" || first.Total != 1 {
			t.Fatalf("first: %+v, %v, %v", first, created, err)
		}
		silentCDTO(t, db, 2) // joins after the slot's job was made
		again, created, err := s.Fire(ctx, hromadabot.BroadcastReminder, monday.Add(time.Hour))
		if err != nil || created || again.ID != first.ID || again.Total != 1 {
			t.Fatalf("again: %+v, %v, %v", again, created, err)
		}
		if n := len(jobs(t, db)); n != 1 {
			t.Fatalf("%d jobs, want 1", n)
		}
		next, created, err := s.Fire(ctx, hromadabot.BroadcastReminder, monday.AddDate(0, 0, 7))
		if err != nil || !created || next.Key != "reminder:2026-W49" || next.Total != 2 {
			t.Fatalf("next week: %+v, %v, %v", next, created, err)
		}
	})

	t.Run("OKProcessesWithoutRedisOneJob", func(t *testing.T) {
		clock := NewClock(monday)
		db, _ := MustOpenDB(t, clock)
		for i := range 5 {
			silentCDTO(t, db, i+1)
		}
		var created sync.Map
		var wg sync.WaitGroup
		for i := range 6 {
			s := MustService(t, db, clock, &FakeSender{Clock: clock}, nil)
			wg.Go(func() {
				job, ok, err := s.Fire(ctx, hromadabot.BroadcastReminder, monday)
				if err != nil || job == nil {
					t.Errorf("process %d: %+v, %v", i, job, err)
					return
				}
				if ok {
					created.Store(i, job.ID)
				}
			})
		}
		wg.Wait()
		n := 0
		created.Range(func(any, any) bool { n++; return true })
		if all := jobs(t, db); n != 1 || len(all) != 1 || all[0].Total != 5 {
			t.Fatalf("%d created, jobs %+v; want one job of 5", n, all)
		}
	})

	t.Run("OKProcessesSharingRedisOneComposes", func(t *testing.T) {
		clock := NewClock(monday)
		db, _ := MustOpenDB(t, clock)
		silentCDTO(t, db, 1)
		rdb, prefix := MustRedis(t)
		results := make([]*hromadabot.Broadcast, 6)
		var wg sync.WaitGroup
		for i := range results {
			// Each process has a lock of its own on the one Redis.
			locks := redis.NewSlotLock(rdb, prefix, "process-"+strconv.Itoa(i))
			s := MustService(t, db, clock, &FakeSender{Clock: clock}, func(c *broadcast.Config) { c.Locks = locks })
			wg.Go(func() {
				job, _, err := s.Fire(ctx, hromadabot.BroadcastDigest, monday)
				if err != nil {
					t.Errorf("process %d: %v", i, err)
				}
				results[i] = job
			})
		}
		wg.Wait()
		if all := jobs(t, db); len(all) != 1 || all[0].Key != "digest:2026-W48" {
			t.Fatalf("jobs %+v, want one digest", all)
		}
		// The key is the one taken before SlotLock, so that old and new
		// processes share it in a deploy; its value names the taker.
		owner, err := rdb.Get(ctx, prefix+"broadcast:digest:2026-W48").Result()
		if err != nil || !strings.HasPrefix(owner, "process-") {
			t.Fatalf("slot lock: %q, %v", owner, err)
		}
		// The processes that lost the lock made nothing.
		composers := 0
		for _, job := range results {
			if job != nil {
				composers++
			}
		}
		if composers == 0 {
			t.Fatal("no process made the job")
		}
	})

	for _, tc := range []struct {
		name string
		lock fakeLock
		jobs int
	}{
		{"OKLockTakenComposes", fakeLock{took: true}, 1},
		{"OKLockHeldElsewhereComposesNothing", fakeLock{took: false}, 0},
		// The database's unique key still makes one job: composing it
		// twice is waste, not harm.
		{"OKLockFailsComposesAnyway", fakeLock{err: errors.New("dial tcp: connection refused")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewClock(monday)
			db, _ := MustOpenDB(t, clock)
			silentCDTO(t, db, 1)
			lock := tc.lock
			s := MustService(t, db, clock, &FakeSender{Clock: clock}, func(c *broadcast.Config) { c.Locks = &lock })
			job, created, err := s.Fire(ctx, hromadabot.BroadcastReminder, monday)
			if err != nil || created != (tc.jobs == 1) || (job != nil) != (tc.jobs == 1) {
				t.Fatalf("Fire: %+v, %v, %v", job, created, err)
			}
			if n := len(jobs(t, db)); n != tc.jobs {
				t.Fatalf("%d jobs, want %d", n, tc.jobs)
			}
			if lock.key != "broadcast:reminder:2026-W48" || lock.ttl <= 0 {
				t.Fatalf("TryLock(%q, %s), want the slot's key and a ttl", lock.key, lock.ttl)
			}
		})
	}

	t.Run("ErrKindNotScheduled", func(t *testing.T) {
		clock := NewClock(monday)
		db, _ := MustOpenDB(t, clock)
		s := MustService(t, db, clock, &FakeSender{Clock: clock}, nil)
		_, _, err := s.Fire(ctx, hromadabot.BroadcastAnnouncement, monday)
		if hromadabot.ErrorReason(err) != "broadcast_kind_invalid" {
			t.Fatalf("err %v", err)
		}
		if n := len(jobs(t, db)); n != 0 {
			t.Fatalf("%d jobs, want none", n)
		}
	})
}

// fakeLock is a SlotLock that answers took or err, and notes what it was
// asked.
type fakeLock struct {
	took bool
	err  error
	key  string
	ttl  time.Duration
}

func (f *fakeLock) TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	f.key, f.ttl = key, ttl
	return f.took, f.err
}

func TestSlotKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		slot time.Time
		want string
	}{
		{"OKMondayReminder", hromadabot.BroadcastReminder, monday, "reminder:2026-W48"},
		{"OKFridayDigest", hromadabot.BroadcastDigest, Kyiv(2026, time.November, 27, 18, 0, 0), "digest:2026-W48"},
		{"OKWeekOfTheZoneNotUTC", hromadabot.BroadcastDigest, Kyiv(2026, time.November, 30, 0, 30, 0), "digest:2026-W49"},
		{"OKISOYearAtNewYear", hromadabot.BroadcastDigest, Kyiv(2027, time.January, 1, 18, 0, 0), "digest:2026-W53"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := broadcast.SlotKey(tc.kind, tc.slot.UTC(), hromadabot.Kyiv); got != tc.want {
				t.Fatalf("SlotKey = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	// run starts s.Run and returns a function that stops it and waits.
	run := func(t *testing.T, s *broadcast.Service) func() {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}

	t.Run("OKPicksUpAnnouncementWithinSeconds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(tuesday)
			db, _ := MustOpenDB(t, clock)
			c := MustCommunity(t, db, "Бучанська")
			cdto := MustUser(t, db, 1, "uk", hromadabot.RoleCDTO, c.ID, false)
			snd := &FakeSender{Clock: clock}
			stop := run(t, MustService(t, db, clock, snd, nil))
			defer stop()

			time.Sleep(time.Minute)
			job, err := broadcast.Announce(t.Context(), db, broadcast.Announcement{Audience: broadcast.AudienceCDTO, Text: "Звіти до п'ятниці <b>обов'язкові</b>", Actor: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(broadcast.DefaultPollInterval + time.Second)
			synctest.Wait()
			ds := snd.Deliveries()
			AssertEachOnce(t, ds, []string{cdto.PlatformID})
			if got := ds[0].Out.Reply.Text; got != "Звіти до п&#39;ятниці &lt;b&gt;обов&#39;язкові&lt;/b&gt;" {
				t.Fatalf("text %q, want the admin's text escaped", got)
			}
			if p := MustProgress(t, db, job.ID); p.Status != hromadabot.BroadcastDone {
				t.Fatalf("progress %+v", p)
			}
		})
	})

	t.Run("OKSendsReminderAtItsSlot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock(monday.Add(-30 * time.Minute))
			db, _ := MustOpenDB(t, clock)
			cdto := silentCDTO(t, db, 1)
			snd := &FakeSender{Clock: clock}
			stop := run(t, MustService(t, db, clock, snd, func(c *broadcast.Config) { c.QuietHours = kyivQuiet }))
			defer stop()

			time.Sleep(29 * time.Minute)
			synctest.Wait()
			if n := len(jobs(t, db)); n != 0 {
				t.Fatalf("%d jobs before the slot", n)
			}
			time.Sleep(2 * time.Minute)
			synctest.Wait()
			all := jobs(t, db)
			if len(all) != 1 || all[0].Key != "reminder:2026-W48" || all[0].Status != hromadabot.BroadcastDone {
				t.Fatalf("jobs %+v", all)
			}
			ds := snd.Deliveries()
			AssertEachOnce(t, ds, []string{cdto.PlatformID})
			if at := ds[0].At; at.Before(monday) || at.After(monday.Add(time.Minute)) {
				t.Fatalf("sent at %s, want just after the slot", at)
			}
		})
	})

	for _, tc := range []struct {
		name  string
		start time.Time
		jobs  int
	}{
		{"OKCatchesUpMissedSlot", monday.Add(3 * time.Hour), 1},
		{"OKSkipsLongMissedSlot", monday.Add(13 * time.Hour), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := NewClock(tc.start)
				db, _ := MustOpenDB(t, clock)
				silentCDTO(t, db, 1)
				stop := run(t, MustService(t, db, clock, &FakeSender{Clock: clock}, nil))
				synctest.Wait()
				stop()
				if got := jobs(t, db); len(got) != tc.jobs {
					t.Fatalf("jobs %+v, want %d", got, tc.jobs)
				}
			})
		})
	}
}
