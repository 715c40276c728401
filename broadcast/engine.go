package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

const (
	// leaseTTL is how long a job stays with a process that stopped renewing
	// it (it renews with every batch): after a crash, the job resumes this
	// long after its last batch, in another process or the restarted one.
	leaseTTL = time.Minute
	// maxAttempts bounds the sends of one message that fail for a reason
	// that may pass (429, 5xx). The Sender retries within each attempt too.
	maxAttempts = 3
	// retryPause is the wait after the first failed attempt; it doubles.
	retryPause = 5 * time.Second
	// progressEvery spaces the progress lines in the log.
	progressEvery = 10 * time.Second
	// maxBatch bounds the recipients read, sent and recorded together.
	maxBatch = 512
)

// SendPending sends every job this process may take, oldest first, until
// each is done, reaches quiet hours (unless it overrides them) or ctx ends.
// Outcomes already known are recorded even when ctx ends.
func (s *Service) SendPending(ctx context.Context) error {
	s.sending.Lock()
	defer s.sending.Unlock()

	jobs, err := s.store.RunnableBroadcasts(ctx, s.owner)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if ctx.Err() != nil {
			return nil
		}
		if !job.OverrideQuiet && s.quietAt(s.clock.Now()) {
			continue
		}
		if err := s.sendJob(ctx, job); err != nil {
			return fmt.Errorf("broadcast %d: %w", job.ID, err)
		}
	}
	return nil
}

func (s *Service) quietAt(t time.Time) bool { return s.quiet.Contains(t, s.tz) }

// batchSize is about two seconds of sending: a crash loses at most that
// many outcomes (those recipients are sent again after the restart).
func (s *Service) batchSize() int {
	return min(max(2*s.rate, 32), maxBatch)
}

// progress is a job's running count, for the log.
type progress struct {
	hromadabot.BroadcastProgress
	loggedAt time.Time
}

func (p *progress) add(rs []hromadabot.RecipientResult) {
	for _, r := range rs {
		switch r.State {
		case hromadabot.RecipientSent:
			p.Sent++
		case hromadabot.RecipientFailed:
			p.Failed++
		case hromadabot.RecipientBlocked:
			p.Blocked++
		default:
			continue
		}
		p.Pending--
	}
}

// sendJob takes the job and sends its pending recipients batch by batch.
func (s *Service) sendJob(ctx context.Context, job hromadabot.Broadcast) error {
	ok, err := s.store.ClaimBroadcast(ctx, job.ID, s.owner, leaseTTL)
	if err != nil || !ok {
		return err
	}
	status := hromadabot.BroadcastPaused
	defer func() {
		// The job is handed back even when ctx has ended, so that the next
		// process need not wait for the lease to run out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.store.ReleaseBroadcast(rctx, job.ID, s.owner, status); err != nil {
			s.log.ErrorContext(ctx, "broadcast release", "job", job.ID, "err", err)
		}
	}()

	defer s.keepLease(ctx, job.ID)()

	bp, err := s.store.BroadcastProgress(ctx, job.ID)
	if err != nil {
		return err
	}
	p := &progress{BroadcastProgress: *bp, loggedAt: s.clock.Now()}
	s.observe(p)
	s.log.InfoContext(ctx, "broadcast sending", s.progressAttrs(p)...)

	var after int64
	for {
		if ctx.Err() != nil {
			s.log.InfoContext(ctx, "broadcast stopped", s.progressAttrs(p)...)
			return nil
		}
		if now := s.clock.Now(); !job.OverrideQuiet && s.quietAt(now) {
			s.log.InfoContext(ctx, "broadcast paused for quiet hours",
				append(s.progressAttrs(p), "until", s.quiet.Until(now, s.tz))...)
			return nil
		}
		batch, err := s.store.PendingRecipients(ctx, job.ID, after, s.batchSize())
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			if after == 0 {
				status = hromadabot.BroadcastDone
				s.log.InfoContext(ctx, "broadcast done", s.progressAttrs(p)...)
				return nil
			}
			// Recipients left pending behind the cursor (a send cut short)
			// get another pass before the job counts as done.
			after = 0
			continue
		}
		after = batch[len(batch)-1].ID

		results := s.sendBatch(ctx, job, batch)
		// Messages that went out are recorded even if ctx has just ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		held, err := s.store.RecordRecipients(rctx, job.ID, s.owner, leaseTTL, results)
		cancel()
		if err != nil {
			return err
		}
		p.add(results)
		s.observe(p)
		s.count(p.Kind, results)
		if now := s.clock.Now(); now.Sub(p.loggedAt) >= progressEvery {
			p.loggedAt = now
			s.log.InfoContext(ctx, "broadcast progress", s.progressAttrs(p)...)
		}
		if !held {
			// Another process took the job over after this one stalled
			// past its lease; it sends the rest.
			s.log.WarnContext(ctx, "broadcast lease lost", "job", job.ID)
			return nil
		}
	}
}

// keepLease renews this process's hold on the job until the returned
// function is called, so that a batch slowed down by rate-limit pauses
// never lets the lease run out while its messages are going out.
func (s *Service) keepLease(ctx context.Context, id int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for s.clock.Sleep(ctx, leaseTTL/3) == nil {
			if held, err := s.store.ClaimBroadcast(ctx, id, s.owner, leaseTTL); err != nil || !held {
				if ctx.Err() == nil {
					s.log.WarnContext(ctx, "broadcast lease not renewed", "job", id, "held", held, "err", err)
				}
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// count hands a batch's results, by state, to the Outcome hook, if any.
func (s *Service) count(kind string, rs []hromadabot.RecipientResult) {
	if s.outcome == nil {
		return
	}
	byState := map[string]int{}
	for _, r := range rs {
		byState[r.State]++
	}
	for state, n := range byState {
		s.outcome(kind, state, n)
	}
}

// observe hands the job's count to the Progress hook, if any.
func (s *Service) observe(p *progress) {
	if s.progress != nil {
		s.progress(p.Kind, p.Sent, p.Total)
	}
}

func (s *Service) progressAttrs(p *progress) []any {
	return []any{"job", p.ID, "kind", p.Kind, "sent", p.Sent, "total", p.Total,
		"failed", p.Failed, "blocked", p.Blocked, "pending", p.Pending, "eta", ETA(p.Pending, s.rate)}
}

// ETA is how long sending pending messages at rate per second takes.
func ETA(pending, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return (time.Duration(pending) * time.Second / time.Duration(rate)).Round(time.Second)
}

// sendBatch sends to the batch's recipients from a bounded number of
// workers and returns the outcomes to record; recipients not tried (ctx
// ended, or quiet hours began) are left out and stay pending.
func (s *Service) sendBatch(ctx context.Context, job hromadabot.Broadcast, batch []hromadabot.Recipient) []hromadabot.RecipientResult {
	results := make([]hromadabot.RecipientResult, len(batch))
	var next atomic.Int64
	var quiet atomic.Bool
	var wg sync.WaitGroup
	for range min(s.workers, len(batch)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(batch) || ctx.Err() != nil || quiet.Load() {
					return
				}
				results[i] = s.deliver(ctx, job, &batch[i], &quiet)
			}
		})
	}
	wg.Wait()
	out := results[:0]
	for _, r := range results {
		if r.State != "" {
			out = append(out, r)
		}
	}
	return out
}

// deliver sends one recipient's message, retrying what may pass, and
// returns the outcome; State is "" when nothing was tried.
func (s *Service) deliver(ctx context.Context, job hromadabot.Broadcast, r *hromadabot.Recipient, quiet *atomic.Bool) hromadabot.RecipientResult {
	res := hromadabot.RecipientResult{ID: r.ID, UserID: r.UserID, Attempts: r.Attempts, Error: r.LastError}
	// unfinished keeps the recipient pending, with the attempts made so far.
	unfinished := func() hromadabot.RecipientResult {
		if res.Attempts > r.Attempts {
			res.State = hromadabot.RecipientPending
		}
		return res
	}
	fail := func(err error) hromadabot.RecipientResult {
		res.State, res.Error = hromadabot.RecipientFailed, err.Error()
		s.log.WarnContext(ctx, "broadcast send failed", "job", job.ID, "user", r.UserID, "attempts", res.Attempts, "err", err)
		return res
	}

	snd := s.senders[r.Platform]
	if snd == nil {
		return fail(fmt.Errorf("no channel sends to %s", r.Platform))
	}
	out, err := outgoing(r)
	if err != nil {
		return fail(err)
	}
	pace := s.pace(r.Platform)
	for {
		if pace.wait(ctx) != nil {
			return unfinished()
		}
		now := s.clock.Now()
		if !job.OverrideQuiet && s.quietAt(now) {
			quiet.Store(true)
			return unfinished()
		}
		res.Attempts++
		err := snd.Send(ctx, out)
		switch {
		case err == nil:
			res.State, res.Error, res.At = hromadabot.RecipientSent, "", now
			return res
		case ctx.Err() != nil:
			// Whether it went out is unknown; it stays pending.
			res.Attempts--
			return unfinished()
		case errors.Is(err, bot.ErrBlocked):
			res.State, res.Error = hromadabot.RecipientBlocked, err.Error()
			return res
		case !bot.IsRetryable(err) || res.Attempts >= maxAttempts:
			return fail(err)
		}
		res.Error = err.Error()
		if after, ok := bot.RetryAfter(err); ok {
			s.log.WarnContext(ctx, "broadcast rate limited", "job", job.ID, "retry_after", after)
			pace.holdFor(after)
			continue
		}
		if s.clock.Sleep(ctx, retryPause<<(res.Attempts-1)) != nil {
			return unfinished()
		}
	}
}

// outgoing is the message to the recipient's chat.
func outgoing(r *hromadabot.Recipient) (bot.Outgoing, error) {
	out := bot.Outgoing{ChatID: r.PlatformID, Reply: bot.Reply{Text: r.Text}}
	if r.Buttons != "" {
		if err := json.Unmarshal([]byte(r.Buttons), &out.Reply.Buttons); err != nil {
			return out, fmt.Errorf("stored buttons: %w", err)
		}
	}
	return out, nil
}
