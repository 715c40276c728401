// Package broadcast sends the bot's messages to many people at once: the
// weekly reminder to CDTOs, the weekly digest to subscribers and admins'
// announcements.
//
// A broadcast is a job in the database whose recipients, each with the
// message rendered for them, are stored in one transaction before the first
// message goes out. The engine sends the pending recipients at a bounded
// rate, outside quiet hours, and records every outcome as it goes, so that
// after a crash or restart the job resumes with the recipients still
// pending and nobody hears the same message twice. The scheduler only makes
// jobs, one per slot and idempotency key, whichever process fires it.
package broadcast

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// Sender delivers one message; *bot.Sender implements it, keeping the
// platform's global and per-chat limits and retrying what may pass.
type Sender interface {
	Send(ctx context.Context, out bot.Outgoing) error
}

// JobStore is what making an announcement needs; *sqldb.DB implements it.
type JobStore interface {
	Users(ctx context.Context, f hromadabot.UserFilter) ([]hromadabot.User, error)
	CreateBroadcast(ctx context.Context, b *hromadabot.Broadcast, rs []hromadabot.Recipient) (created bool, err error)
}

// Store is what the scheduler and the engine need from the records
// database; *sqldb.DB implements it.
type Store interface {
	JobStore
	BroadcastByKey(ctx context.Context, key string) (*hromadabot.Broadcast, error)
	RunnableBroadcasts(ctx context.Context, owner string) ([]hromadabot.Broadcast, error)
	ClaimBroadcast(ctx context.Context, id int64, owner string, lease time.Duration) (bool, error)
	ReleaseBroadcast(ctx context.Context, id int64, owner, status string) error
	PendingRecipients(ctx context.Context, jobID, afterID int64, limit int) ([]hromadabot.Recipient, error)
	RecordRecipients(ctx context.Context, jobID int64, owner string, lease time.Duration, rs []hromadabot.RecipientResult) (held bool, err error)
	BroadcastProgress(ctx context.Context, id int64) (*hromadabot.BroadcastProgress, error)

	Community(ctx context.Context, id int64) (*hromadabot.Community, error)
	Communities(ctx context.Context) ([]hromadabot.Community, error)
	Plan(ctx context.Context, communityID int64) (*hromadabot.Plan, error)
	ScoresAsOf(ctx context.Context, year int, at time.Time) (map[int64]hromadabot.Score, error)
	LastReportTimes(ctx context.Context) (map[int64]time.Time, error)
}

// SlotLock lets one of several processes make each scheduled job;
// storage/redis's SlotLock implements it.
type SlotLock interface {
	// TryLock takes key for ttl unless another process holds it, and
	// reports whether it did.
	TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Clock is the engine's and the scheduler's time: tests move it on
// without waiting.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx.Err() as soon as ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d, or until ctx ends.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error { return bot.Sleep(ctx, d) }

// Defaults for Config fields left zero.
const (
	DefaultRate         = 25
	DefaultConcurrency  = 8
	DefaultReminderCron = "0 10 * * 1"
	DefaultDigestCron   = "0 18 * * 5"
	DefaultPollInterval = 3 * time.Second
)

// Config is what a Service is built from.
type Config struct {
	Store Store
	// Senders deliver by platform (hromadabot.PlatformTelegram → the
	// Telegram channel's *bot.Sender). A recipient on a platform without a
	// sender is marked failed.
	Senders map[string]Sender
	Locales *locales.Catalog
	// Clock is the time; nil means SystemClock.
	Clock Clock
	// Timezone is where the schedules and quiet hours are read
	// (BOT_TIMEZONE); nil means Europe/Kyiv.
	Timezone *time.Location
	// Rate is the most broadcast messages per second (BROADCAST_RATE),
	// default 25. The sender's own limit may be shared with chat replies,
	// so the engine keeps this one itself.
	Rate int
	// PlatformRates are the most broadcast messages per second on a
	// platform that has a limit of its own (VIBER_RATE); a platform not
	// listed shares Rate. Each platform's sends are paced on their own, so
	// a 429 from one holds up no other.
	PlatformRates map[string]int
	// Concurrency bounds the sends under way at once, default 8.
	Concurrency int
	// QuietHours are when no broadcast goes out (QUIET_HOURS); the zero
	// value sends at any hour.
	QuietHours QuietHours
	// ReminderCron and DigestCron are standard cron schedules in Timezone
	// (REMINDER_CRON, DIGEST_CRON); empty means Monday 10:00 and Friday 18:00.
	ReminderCron string
	DigestCron   string
	// Locks, when set, makes one of several processes sharing it run each
	// slot, under the key broadcast:SLOT ("broadcast:digest:2026-W47");
	// nil means this process runs every slot. Either way the database's
	// unique key remains the final guard.
	Locks SlotLock
	// Limiter, when set, paces the broadcasts of every process sharing it
	// together, so that jobs sent by several processes at once keep Rate
	// (and PlatformRates) in all: the key broadcast:PLATFORM for a
	// platform of PlatformRates, broadcast:default for the others. nil
	// paces this process's sends alone.
	Limiter bot.Limiter
	// PollInterval is how often the engine looks for new jobs, such as an
	// announcement stored by the command line; default 3 seconds.
	PollInterval time.Duration
	// Progress, when set, hears each job's count after every batch (for
	// the metrics): messages sent and the job's recipients in all.
	Progress func(kind string, sent, total int)
	// Outcome, when set, counts each batch's results by recipient state.
	Outcome func(kind, state string, n int)
	// Log gets progress and failures, with ids only; nil discards.
	Log *slog.Logger
}

// Service makes the scheduled jobs and sends every job. It is safe for
// concurrent use.
type Service struct {
	store    Store
	senders  map[string]Sender
	loc      *locales.Catalog
	clock    Clock
	tz       *time.Location
	rate     int
	workers  int
	quiet    QuietHours
	schedule map[string]cron.Schedule
	locks    SlotLock
	poll     time.Duration
	log      *slog.Logger
	progress func(kind string, sent, total int)
	outcome  func(kind, state string, n int)
	// paces space each platform's sends; the one of "" serves every
	// platform without a rate of its own.
	paces map[string]*pacer

	// owner names this process on the jobs it holds.
	owner string
	// sending serializes engine passes: jobs go one after another, since
	// the rate limit is shared anyway.
	sending sync.Mutex
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("broadcast: Store is required")
	case cfg.Locales == nil:
		return nil, errors.New("broadcast: Locales is required")
	case cfg.Rate < 0:
		return nil, fmt.Errorf("broadcast: rate %d must be positive", cfg.Rate)
	case slices.ContainsFunc(slices.Collect(maps.Values(cfg.PlatformRates)), func(r int) bool { return r <= 0 }):
		return nil, errors.New("broadcast: every platform rate must be positive")
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("broadcast: concurrency %d must be positive", cfg.Concurrency)
	}
	if err := cfg.QuietHours.Validate(); err != nil {
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	s := &Service{
		store:    cfg.Store,
		senders:  make(map[string]Sender, len(cfg.Senders)),
		loc:      cfg.Locales,
		clock:    cfg.Clock,
		tz:       cfg.Timezone,
		rate:     cfg.Rate,
		workers:  cfg.Concurrency,
		quiet:    cfg.QuietHours,
		locks:    cfg.Locks,
		poll:     cfg.PollInterval,
		log:      cfg.Log,
		progress: cfg.Progress,
		outcome:  cfg.Outcome,
		owner:    rand.Text()[:12],
	}
	for platform, snd := range cfg.Senders {
		if snd != nil {
			s.senders[platform] = snd
		}
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.tz == nil {
		s.tz = hromadabot.Kyiv
	}
	if s.rate == 0 {
		s.rate = DefaultRate
	}
	if s.workers == 0 {
		s.workers = DefaultConcurrency
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.paces = map[string]*pacer{"": newPacer(s.clock, s.rate, cfg.Limiter, "broadcast:default", s.log)}
	for platform, r := range cfg.PlatformRates {
		s.paces[platform] = newPacer(s.clock, r, cfg.Limiter, "broadcast:"+platform, s.log)
	}

	s.schedule = make(map[string]cron.Schedule, 2)
	for kind, spec := range map[string]string{
		hromadabot.BroadcastReminder: orDefault(cfg.ReminderCron, DefaultReminderCron),
		hromadabot.BroadcastDigest:   orDefault(cfg.DigestCron, DefaultDigestCron),
	} {
		sched, err := cron.ParseStandard(spec)
		if err != nil {
			return nil, fmt.Errorf("broadcast: %s schedule %q: %w", kind, spec, err)
		}
		s.schedule[kind] = sched
	}
	return s, nil
}

// pace is the pacer of a platform's sends.
func (s *Service) pace(platform string) *pacer {
	if p, ok := s.paces[platform]; ok {
		return p
	}
	return s.paces[""]
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Run makes the reminder and digest jobs on their schedules and sends every
// job, until ctx ends; it then returns nil once the sends under way have
// been recorded.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, kind := range []string{hromadabot.BroadcastReminder, hromadabot.BroadcastDigest} {
		wg.Go(func() { s.runSchedule(ctx, kind) })
	}
	wg.Go(func() { s.runEngine(ctx) })
	wg.Wait()
	return nil
}

// runEngine sends the runnable jobs, then looks for new ones every poll
// interval.
func (s *Service) runEngine(ctx context.Context) {
	for {
		if err := s.SendPending(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "broadcast engine", "err", err)
		}
		if s.clock.Sleep(ctx, s.poll) != nil {
			return
		}
	}
}
