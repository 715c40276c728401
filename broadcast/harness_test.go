package broadcast_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// Engine tests run inside testing/synctest bubbles: time.Sleep and timers
// use the bubble's fake time, which moves on only when every goroutine
// waits, so a night of quiet hours passes at once and the times a fake
// sender sees are exact. Clock shifts that time to a chosen instant.

// Clock is broadcast.SystemClock moved to a chosen time.
type Clock struct {
	broadcast.SystemClock
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock whose Now is at when called.
func NewClock(at time.Time) *Clock { return &Clock{offset: time.Until(at)} }

// Now returns the shifted time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Set moves the clock to at, for storing records made in the past.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(at)
}

// Kyiv returns a time in Kyiv.
func Kyiv(year int, month time.Month, day, hour, min, sec int) time.Time {
	return time.Date(year, month, day, hour, min, sec, 0, hromadabot.Kyiv)
}

// MustOpenDB opens a fresh database file whose clock is clock.
func MustOpenDB(tb testing.TB, clock broadcast.Clock) (*sqldb.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "hromada.db")
	return MustOpenDBAt(tb, path, clock), path
}

// MustOpenDBAt opens the database file at path, closed when the test ends.
func MustOpenDBAt(tb testing.TB, path string, clock broadcast.Clock) *sqldb.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	db.Now = clock.Now
	return db
}

var (
	catalogOnce sync.Once
	catalog     *locales.Catalog
	catalogErr  error
)

// MustCatalog returns the real catalogues.
func MustCatalog(tb testing.TB) *locales.Catalog {
	tb.Helper()
	catalogOnce.Do(func() { catalog, catalogErr = locales.New() })
	if catalogErr != nil {
		tb.Fatal(catalogErr)
	}
	return catalog
}

// MustService builds a Service on db sending through snd on Telegram.
func MustService(tb testing.TB, db *sqldb.DB, clock broadcast.Clock, snd broadcast.Sender, edit func(*broadcast.Config)) *broadcast.Service {
	tb.Helper()
	cfg := broadcast.Config{
		Store: db, Senders: map[string]broadcast.Sender{hromadabot.PlatformTelegram: snd},
		Locales: MustCatalog(tb), Clock: clock, Rate: 1000,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := broadcast.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// MustCommunity adds a community by hand.
func MustCommunity(tb testing.TB, db *sqldb.DB, name string) *hromadabot.Community {
	tb.Helper()
	c := &hromadabot.Community{Name: name, Oblast: "Київська"}
	if err := db.CreateCommunity(context.Background(), c, "cli"); err != nil {
		tb.Fatalf("create community %s: %v", name, err)
	}
	return c
}

// MustUser creates a Telegram user with the role, community and
// subscription given.
func MustUser(tb testing.TB, db *sqldb.DB, id int, lang string, role hromadabot.Role, communityID int64, subscribed bool) *hromadabot.User {
	tb.Helper()
	return MustPlatformUser(tb, db, hromadabot.PlatformTelegram, strconv.Itoa(id), lang, role, communityID, subscribed)
}

// MustPlatformUser is MustUser on any platform.
func MustPlatformUser(tb testing.TB, db *sqldb.DB, platform, id, lang string, role hromadabot.Role, communityID int64, subscribed bool) *hromadabot.User {
	tb.Helper()
	ctx := context.Background()
	u, err := db.EnsureUser(ctx, platform, id, lang)
	if err != nil {
		tb.Fatal(err)
	}
	if role != hromadabot.RoleResident || communityID != 0 || subscribed {
		u.Role, u.CommunityID, u.Subscribed = role, communityID, subscribed
		if err := db.UpdateUser(ctx, u, "cli"); err != nil {
			tb.Fatal(err)
		}
	}
	return u
}

// MustBlock marks the user as having blocked the bot.
func MustBlock(tb testing.TB, db *sqldb.DB, u *hromadabot.User) {
	tb.Helper()
	u.Blocked = true
	if err := db.UpdateUser(context.Background(), u, "cli"); err != nil {
		tb.Fatal(err)
	}
}

// MustReport stores a report on the community's indicator.
func MustReport(tb testing.TB, db *sqldb.DB, communityID int64, indicator int, value float64) {
	tb.Helper()
	r := &hromadabot.Report{CommunityID: communityID, IndicatorID: indicator, Value: value, Source: hromadabot.SourceCLI}
	if _, err := db.CreateReport(context.Background(), r, "cli"); err != nil {
		tb.Fatalf("report %d on %d: %v", indicator, communityID, err)
	}
}

// MustJob stores a job of n recipients, new users, and returns it with
// their chat ids. now lets it send during quiet hours.
func MustJob(tb testing.TB, db *sqldb.DB, n int, now bool) (*hromadabot.Broadcast, []string) {
	tb.Helper()
	return MustJobKey(tb, db, "announce:test", 100000, n, now)
}

// MustJobKey is MustJob with the job's key and the first user's chat id,
// so that a test can store several jobs to different people.
func MustJobKey(tb testing.TB, db *sqldb.DB, key string, first, n int, now bool) (*hromadabot.Broadcast, []string) {
	tb.Helper()
	ctx := context.Background()
	rs := make([]hromadabot.Recipient, n)
	chats := make([]string, n)
	for i := range n {
		u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, strconv.Itoa(first+i), "uk")
		if err != nil {
			tb.Fatal(err)
		}
		rs[i] = hromadabot.Recipient{UserID: u.ID, Platform: u.Platform, PlatformID: u.PlatformID, Text: "Повідомлення №" + strconv.Itoa(i)}
		chats[i] = u.PlatformID
	}
	job := &hromadabot.Broadcast{Kind: hromadabot.BroadcastAnnouncement, Key: key, OverrideQuiet: now, CreatedBy: "cli"}
	if _, err := db.CreateBroadcast(ctx, job, rs); err != nil {
		tb.Fatal(err)
	}
	return job, chats
}

// MustProgress returns the job's progress.
func MustProgress(tb testing.TB, db *sqldb.DB, id int64) *hromadabot.BroadcastProgress {
	tb.Helper()
	p, err := db.BroadcastProgress(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Delivery is a message a fake delivered, and when.
type Delivery struct {
	Out bot.Outgoing
	At  time.Time
}

// FakeSender delivers by recording, failing first as Fault says. It is
// used both as the engine's Sender and, through Transport, under the real
// bot.Sender.
type FakeSender struct {
	Clock broadcast.Clock
	// Fault returns the error of the attempt-th delivery (from 1) to a
	// chat, nil to deliver.
	Fault func(chat string, attempt int) error
	// After, when set, is called after each delivery with their count.
	After func(n int)

	mu         sync.Mutex
	attempts   map[string]int
	deliveries []Delivery
}

// Send implements broadcast.Sender.
func (f *FakeSender) Send(ctx context.Context, out bot.Outgoing) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	if f.attempts == nil {
		f.attempts = make(map[string]int)
	}
	f.attempts[out.ChatID]++
	attempt := f.attempts[out.ChatID]
	f.mu.Unlock()
	if f.Fault != nil {
		if err := f.Fault(out.ChatID, attempt); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.deliveries = append(f.deliveries, Delivery{Out: out, At: f.Clock.Now()})
	n := len(f.deliveries)
	f.mu.Unlock()
	if f.After != nil {
		f.After(n)
	}
	return nil
}

// Deliver implements bot.Transport.
func (f *FakeSender) Deliver(ctx context.Context, out bot.Outgoing) error { return f.Send(ctx, out) }

// Deliveries returns what was delivered, in order.
func (f *FakeSender) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deliveries)
}

// Attempts returns the deliveries tried to a chat.
func (f *FakeSender) Attempts(chat string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[chat]
}

// AssertEachOnce fails unless every chat got exactly one message and no
// other chat got any.
func AssertEachOnce(tb testing.TB, ds []Delivery, chats []string) {
	tb.Helper()
	got := make(map[string]int, len(ds))
	for _, d := range ds {
		got[d.Out.ChatID]++
	}
	for _, c := range chats {
		if got[c] != 1 {
			tb.Fatalf("chat %s got %d messages, want 1", c, got[c])
		}
	}
	if len(ds) != len(chats) {
		tb.Fatalf("%d messages delivered, want %d", len(ds), len(chats))
	}
}

// AssertRate fails if more than rate deliveries fall within any one
// second: sorted, delivery i+rate must come a full second after delivery i.
func AssertRate(tb testing.TB, ds []Delivery, rate int) {
	tb.Helper()
	at := make([]time.Time, len(ds))
	for i, d := range ds {
		at[i] = d.At
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	for i := 0; i+rate < len(at); i++ {
		if d := at[i+rate].Sub(at[i]); d < time.Second {
			tb.Fatalf("deliveries %d to %d came within %s: more than %d in one second", i, i+rate, d, rate)
		}
	}
}

// Temporary is a 5xx answer.
var Temporary = &bot.TemporaryError{Err: fmt.Errorf("500 Internal Server Error")}

// Blocked is a 403 answer.
var Blocked = fmt.Errorf("%w: Forbidden: bot was blocked by the user", bot.ErrBlocked)

// RetryAfter is a 429 answer.
func RetryAfter(d time.Duration) error { return &bot.RetryAfterError{After: d} }

// FakeLimiter is a bot.Limiter in memory on a clock: GCRA as storage/redis
// runs it, in whole nanoseconds, for the processes of a test that share it.
// Fail, when set, returns the error of the n-th call (from 1), nil to
// answer.
type FakeLimiter struct {
	Clock broadcast.Clock
	Fail  func(n int) error

	mu    sync.Mutex
	calls int
	tat   map[string]time.Time // theoretical arrival time, by key
	keys  map[string]int       // events given, by key
}

// Allow implements bot.Limiter.
func (f *FakeLimiter) Allow(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.Fail != nil {
		if err := f.Fail(f.calls); err != nil {
			return 0, err
		}
	}
	if f.tat == nil {
		f.tat, f.keys = map[string]time.Time{}, map[string]int{}
	}
	now := f.Clock.Now()
	tat := f.tat[key]
	if tat.Before(now) {
		tat = now
	}
	if free := tat.Add(interval - time.Duration(max(burst, 1))*interval); now.Before(free) {
		return free.Sub(now), nil
	}
	f.tat[key] = tat.Add(interval)
	f.keys[key]++
	return 0, nil
}

// Keys returns how many events each key gave.
func (f *FakeLimiter) Keys() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.keys)
}
