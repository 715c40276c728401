package broadcast

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hromadabot/hromadabot"
)

const (
	// catchUp is how late a slot missed while no process ran (a deploy, a
	// crash) is still made on start.
	catchUp = 12 * time.Hour
	// slotLockTTL bounds how long a process that took a slot's lock and
	// died before storing its job keeps the others from it.
	slotLockTTL = 10 * time.Minute
	// maxNap bounds one sleep until the next slot, so that a clock that
	// jumps (a suspended host) is noticed.
	maxNap = 5 * time.Minute
	// actorScheduler is the audit log's name for the scheduler.
	actorScheduler = "scheduler"
)

// SlotKey is the idempotency key of a scheduled job: the kind and the ISO
// week of the slot in loc ("digest:2026-W47"). Reminders and digests are
// weekly, so a changed schedule or a restart never sends twice in a week.
func SlotKey(kind string, slot time.Time, loc *time.Location) string {
	y, w := slot.In(loc).ISOWeek()
	return fmt.Sprintf("%s:%04d-W%02d", kind, y, w)
}

// runSchedule makes the kind's job at every slot of its schedule, and on
// start for a slot missed within catchUp.
func (s *Service) runSchedule(ctx context.Context, kind string) {
	sched := s.schedule[kind]
	if slot, ok := lastSlot(sched, s.clock.Now().In(s.tz), catchUp); ok {
		s.fire(ctx, kind, slot)
	}
	for {
		next := sched.Next(s.clock.Now().In(s.tz))
		for {
			d := next.Sub(s.clock.Now())
			if d <= 0 {
				break
			}
			if s.clock.Sleep(ctx, min(d, maxNap)) != nil {
				return
			}
		}
		s.fire(ctx, kind, next)
	}
}

// lastSlot returns the latest slot of sched at or before now and no
// earlier than window before it.
func lastSlot(sched cron.Schedule, now time.Time, window time.Duration) (time.Time, bool) {
	// Next is strictly after its argument, hence the nanosecond.
	slot := sched.Next(now.Add(-window - time.Nanosecond))
	if slot.IsZero() || slot.After(now) {
		return time.Time{}, false
	}
	for {
		next := sched.Next(slot)
		if next.IsZero() || next.After(now) {
			return slot, true
		}
		slot = next
	}
}

// fire makes the slot's job and logs what happened.
func (s *Service) fire(ctx context.Context, kind string, slot time.Time) {
	job, created, err := s.Fire(ctx, kind, slot)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "broadcast slot", "kind", kind, "slot", slot, "err", err)
		}
	case created:
		s.log.InfoContext(ctx, "broadcast created", "job", job.ID, "kind", kind, "key", job.Key, "total", job.Total)
	}
}

// Fire makes the job of the kind's slot (hromadabot.BroadcastReminder or
// BroadcastDigest) unless it exists, and returns it with created true when
// this call stored it. With Config.Locks, only the process that takes the
// slot's lock composes the job; the others return nil, false. The audience
// and every message are composed as of slot.
func (s *Service) Fire(ctx context.Context, kind string, slot time.Time) (*hromadabot.Broadcast, bool, error) {
	if kind != hromadabot.BroadcastReminder && kind != hromadabot.BroadcastDigest {
		return nil, false, hromadabot.FieldErrorf("kind", "broadcast_kind_invalid", "only reminders and digests are scheduled, not %q", kind)
	}
	key := SlotKey(kind, slot, s.tz)
	switch job, err := s.store.BroadcastByKey(ctx, key); {
	case err == nil:
		return job, false, nil
	case hromadabot.ErrorCode(err) != hromadabot.ENOTFOUND:
		return nil, false, err
	}
	if s.locks != nil {
		// The key is the one that processes took before SlotLock, so that
		// old and new ones running side by side in a deploy share it.
		took, err := s.locks.TryLock(ctx, "broadcast:"+key, slotLockTTL)
		switch {
		case err != nil:
			// The database's unique key still makes one job: composing it
			// twice is waste, not harm.
			s.log.WarnContext(ctx, "broadcast slot lock", "key", key, "err", err)
		case !took:
			return nil, false, nil
		}
	}

	c := s.composer(ctx, slot)
	var rs []hromadabot.Recipient
	var err error
	if kind == hromadabot.BroadcastReminder {
		rs, err = c.reminders()
	} else {
		rs, err = c.digests()
	}
	if err != nil {
		return nil, false, fmt.Errorf("compose %s: %w", key, err)
	}
	job := &hromadabot.Broadcast{Kind: kind, Key: key, CreatedBy: actorScheduler}
	created, err := s.store.CreateBroadcast(ctx, job, rs)
	if err != nil {
		return nil, false, err
	}
	return job, created, nil
}
