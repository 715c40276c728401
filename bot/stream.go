package bot

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// How several processes serve one bot. Every process adds what it receives
// (a webhook's update, or the poller's) to a shared Stream: one stream per
// shard, a chat's updates all in the shard its id hashes to, each added
// once however often it is delivered. At any moment one process consumes a
// shard, the holder of the shard's lease, so that a chat's updates are
// handled one after another in the order added, whichever process received
// them; the leases are spread evenly over the live processes, and those of
// a process that died pass to the others once they expire. A new holder
// first takes over what the previous one read and did not acknowledge.
// A process that gives a shard up waits until what it has in hand of it is
// handled and acknowledged before it lets go, or order would break.

// StreamEntry is one update in a shard's stream. It is an alias of an
// unnamed struct type so that a store that may not import this package
// (storage/redis declares the same type as redis.Entry) implements Stream
// without an adapter; the compiler keeps the two equal.
type StreamEntry = struct {
	// Shard is the stream of the entry: its chat's shard.
	Shard int
	// ID is the entry's id in its stream, given by the stream.
	ID string
	// Key is the update's key (Event.UpdateID): an update is added once
	// per key. An empty key is added every time.
	Key string
	// Chat is the update's chat, which picks the shard.
	Chat string
	// Raw is the update as the platform sent it; the consuming process
	// decodes it with the channel's own decoder.
	Raw []byte
}

// Stream is a channel's updates, shared by every process of a deployment
// and durable (storage/redis's Stream): per shard, a log of entries read
// through one consumer group, each pending for its reader until
// acknowledged.
type Stream interface {
	// Shards is the number of shards; every process must see the same.
	Shards() int
	// Add appends the entries to their shards in order, each unless one
	// with its key was added lately; added[i] tells whether entries[i] was.
	Add(ctx context.Context, entries []StreamEntry) (added []bool, err error)
	// Read returns entries of the shards no consumer has read, at most
	// count per shard, waiting up to block while there are none; they are
	// pending for consumer until acknowledged.
	Read(ctx context.Context, consumer string, shards []int, count int, block time.Duration) ([]StreamEntry, error)
	// Claim makes consumer the reader of every entry of the shard read and
	// not acknowledged, from after ("" for the start), at most count, in
	// stream order; next continues, "" when none are left.
	Claim(ctx context.Context, shard int, consumer, after string, count int) (entries []StreamEntry, next string, err error)
	// Ack acknowledges handled entries (by Shard and ID); they are gone.
	Ack(ctx context.Context, entries []StreamEntry) error
}

// Leases are named leases with a time to live, and the live processes
// (storage/redis's Leases).
type Leases interface {
	// Acquire takes the named leases nobody holds for owner, for ttl, and
	// renews those owner holds; held[i] tells whether owner holds names[i].
	Acquire(ctx context.Context, owner string, ttl time.Duration, names ...string) (held []bool, err error)
	// Release gives up the named leases owner holds.
	Release(ctx context.Context, owner string, names ...string) error
	// Heartbeat notes owner as live and returns the members seen within
	// ttl, owner among them.
	Heartbeat(ctx context.Context, owner string, ttl time.Duration) (members []string, err error)
	// Leave removes owner from the members.
	Leave(ctx context.Context, owner string) error
}

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal,
// which comes every third of it: a process that dies hands its shards and
// the poller to the others within about this.
const DefaultLeaseTTL = 3 * time.Second

const (
	// streamBatch is how many entries one read or claim takes per shard.
	streamBatch = 100
	// streamBlock is how long a read waits for new entries: it bounds how
	// soon a shard just taken is read and a stop is heard.
	streamBlock = time.Second
	// ackTimeout bounds one acknowledging call.
	ackTimeout = 10 * time.Second
)

// errLeaseLost stops the reading of a shard whose lease was lost.
var errLeaseLost = errors.New("shard lease lost")

// StreamOptions configure a StreamReceiver. Stream, Leases and Decode are
// required; zero fields take the defaults.
type StreamOptions struct {
	// Channel names the channel, which is also its platform ("telegram"):
	// it goes into a chat's shard and the log lines.
	Channel string
	Stream  Stream
	Leases  Leases
	// Owner names this process among those sharing the stream; it must
	// be unique among them. Empty: the host name, the process id and a
	// random suffix.
	Owner string
	// LeaseTTL is the time to live of the shard and poller leases
	// (DefaultLeaseTTL), renewed every third of it.
	LeaseTTL time.Duration
	// Decode turns an entry into the update the Receiver handles: the
	// channel's decoder, whose Update's Done may be nil. False for an
	// entry it cannot read or does not handle, which is acknowledged.
	Decode func(e StreamEntry) (*Update, bool)
	// Log gets ids and errors, never message texts; nil discards.
	Log *slog.Logger
}

// StreamReceiver receives a channel's updates through a Stream shared by
// every process of the deployment: Add puts what this process receives in,
// and Run consumes the shards this process holds the leases of into its
// Receiver, whose workers keep each chat's order. An entry is acknowledged
// once handled; one handed back by a stop stays pending for the shard's
// next holder. Lead runs a job, such as polling, in one process at a time.
type StreamReceiver struct {
	opts   StreamOptions
	recv   *Receiver
	log    *slog.Logger
	shards int
	ttl    time.Duration
	every  time.Duration
	// start spreads where processes begin looking for free shards.
	start int
	// wakeRead tells the reader that it has a shard to read; wakeLeases
	// tells the coordinator that a shard given up may be let go.
	wakeRead, wakeLeases chan struct{}

	mu sync.Mutex
	// held are the shards whose leases this process holds; left those
	// lost with updates still in hand, which are not taken again until
	// those are done, so that none is handled twice here.
	held, left map[int]*lease
	inHand     int
	idle       *sync.Cond
	stopping   bool
	started    bool
	// lastBeat is when the last heartbeat that succeeded was sent;
	// down tells that Redis did not answer since.
	lastBeat time.Time
	down     bool
	lastErr  error

	ackMu  sync.Mutex
	acks   []pendingAck
	acking bool
	// ackIdle is signalled, under ackMu, when acking ends: a WaitGroup
	// could not be waited on while handled updates keep adding to it.
	ackIdle   *sync.Cond
	dropAcks  chan struct{}
	ackFailed bool
}

// lease is one holding of a shard's lease, from taking it to losing or
// releasing it.
type lease struct {
	shard    int
	deadline time.Time
	// claimed tells that what the previous holder left was taken over;
	// claimAfter is where the claim goes on after a failure.
	claimed    bool
	claimAfter string
	// giving: no more reads, let go once nothing is in hand.
	giving  bool
	reading bool
	gone    bool
	// lost is closed when the lease is lost: the Receiver hands back
	// what it has queued of the shard.
	lost            chan struct{}
	inHand, unacked int
}

func (l *lease) busy() bool { return l.reading || l.inHand > 0 || l.unacked > 0 }

type pendingAck struct {
	l *lease
	e StreamEntry
}

// NewStreamReceiver returns a StreamReceiver feeding recv; Run starts it.
func NewStreamReceiver(recv *Receiver, opts StreamOptions) *StreamReceiver {
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Channel == "" {
		opts.Channel = "channel"
	}
	if opts.Owner == "" {
		opts.Owner = defaultOwner()
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &StreamReceiver{
		opts:       opts,
		recv:       recv,
		log:        log.With("channel", opts.Channel, "owner", opts.Owner),
		shards:     max(opts.Stream.Shards(), 1),
		ttl:        opts.LeaseTTL,
		every:      opts.LeaseTTL / 3,
		wakeRead:   make(chan struct{}, 1),
		wakeLeases: make(chan struct{}, 1),
		held:       map[int]*lease{},
		left:       map[int]*lease{},
		dropAcks:   make(chan struct{}),
	}
	s.start = s.hash(opts.Owner)
	s.idle = sync.NewCond(&s.mu)
	s.ackIdle = sync.NewCond(&s.ackMu)
	return s
}

// defaultOwner names this process: host and pid for the operator, and a
// random suffix, since a restarted process may get the old one's pid.
func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = crand.Read(b[:])
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
}

// Owner is this process's name among those sharing the stream.
func (s *StreamReceiver) Owner() string { return s.opts.Owner }

// Shard is a chat's shard: FNV-1a of the channel and the chat modulo the
// shards, the same in every process.
func (s *StreamReceiver) Shard(chat string) int { return s.hash(s.opts.Channel + "\x00" + chat) }

func (s *StreamReceiver) hash(key string) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(s.shards))
}

// Add puts updates into the stream, each into its chat's shard (Chat, Key
// and Raw are read), unless one with its key was added before: a
// redelivery to this process or another. Once Add returned nil the updates
// are accepted: durable in Redis, some process will handle them. added
// tells which went in.
func (s *StreamReceiver) Add(ctx context.Context, updates ...StreamEntry) (added []bool, err error) {
	entries := make([]StreamEntry, len(updates))
	for i, u := range updates {
		u.Shard = s.Shard(u.Chat)
		entries[i] = u
	}
	if added, err = s.opts.Stream.Add(ctx, entries); err != nil {
		return nil, fmt.Errorf("%s: add to the stream: %w", s.opts.Channel, err)
	}
	return added, nil
}

// Check reports whether this process is in touch with the other processes
// through Redis: an error while its heartbeats fail, during which it takes
// no updates. For /readyz.
func (s *StreamReceiver) Check(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.lastBeat.IsZero() && s.lastErr != nil:
		return fmt.Errorf("%s stream: %w", s.opts.Channel, s.lastErr)
	case s.lastBeat.IsZero():
		return fmt.Errorf("%s stream: not running", s.opts.Channel)
	case s.down && time.Since(s.lastBeat) > s.ttl:
		return fmt.Errorf("%s stream: no heartbeat for %s: %w", s.opts.Channel, time.Since(s.lastBeat).Round(time.Second), s.lastErr)
	}
	return nil
}

// Run takes shard leases and consumes the shards into the Receiver until
// ctx ends. Then it stops reading, leaves the members and keeps its leases
// until every update it submitted was handled or handed back, which the
// Receiver's Stop brings about (the channel stops it once ctx ended); it
// acknowledges what was handled, for at most LeaseTTL, releases the leases
// and returns. A Redis that does not answer is waited for: meanwhile the
// leases lapse and the process takes nothing. Run may be called once.
func (s *StreamReceiver) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return fmt.Errorf("%s: the stream receiver may be run once", s.opts.Channel)
	}
	s.started = true
	s.mu.Unlock()

	// The leases are renewed until the end, past ctx: the updates in hand
	// are handled under them.
	leaseCtx, stopLeases := context.WithCancel(context.WithoutCancel(ctx))
	coordinated := make(chan struct{})
	go func() {
		defer close(coordinated)
		s.coordinate(leaseCtx)
	}()
	var reader sync.WaitGroup
	reader.Go(func() { s.read(ctx) })
	<-ctx.Done()
	reader.Wait()

	s.mu.Lock()
	s.stopping = true
	for _, l := range s.held {
		l.giving = true
	}
	s.mu.Unlock()
	bg := context.WithoutCancel(ctx)
	if err := s.call(bg, func(ctx context.Context) error { return s.opts.Leases.Leave(ctx, s.opts.Owner) }); err != nil {
		s.log.Warn(s.opts.Channel+": leaving the members failed", "err", err)
	}
	s.mu.Lock()
	for s.inHand > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	s.flushAcks(s.ttl)
	stopLeases()
	<-coordinated

	s.mu.Lock()
	names := make([]string, 0, len(s.held))
	for sh, l := range s.held {
		names = append(names, shardLease(sh))
		s.loseLocked(l)
	}
	s.mu.Unlock()
	if err := s.call(bg, func(ctx context.Context) error { return s.opts.Leases.Release(ctx, s.opts.Owner, names...) }); err != nil {
		s.log.Warn(s.opts.Channel+": releasing the shards failed; they pass on when their leases expire", "shards", len(names), "err", err)
	}
	s.log.Info(s.opts.Channel+": stream receiver stopped", "shards_released", len(names))
	return nil
}

// call runs one coordinating Redis call, bounded so that a Redis that
// hangs does not hold up the renewal of the leases.
func (s *StreamReceiver) call(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.every)
	defer cancel()
	return fn(ctx)
}

func shardLease(shard int) string { return "shard:" + strconv.Itoa(shard) }

// coordinate heartbeats and renews, takes and gives up shard leases every
// third of their ttl until ctx ends.
func (s *StreamReceiver) coordinate(ctx context.Context) {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	s.balance(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.balance(ctx)
		case <-s.wakeLeases:
			s.releaseIdle(ctx)
		}
	}
}

// balance is one round of coordination: the heartbeat, which tells how
// many processes share the shards; then, in one call, the renewal of the
// leases held and the taking of free shards up to this process's share,
// ceil(shards / members); the giving up of shards beyond it; and the
// letting go of those given up that have nothing in hand.
func (s *StreamReceiver) balance(ctx context.Context) {
	sent := time.Now()
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	members := 0
	if !stopping {
		var list []string
		err := s.call(ctx, func(ctx context.Context) (err error) {
			list, err = s.opts.Leases.Heartbeat(ctx, s.opts.Owner, s.ttl)
			return err
		})
		if err != nil {
			s.unreachable(err)
			return
		}
		members = max(len(list), 1)
	}

	s.mu.Lock()
	share := 0
	if !stopping {
		share = (s.shards + members - 1) / members
	}
	renew := slices.Sorted(maps.Keys(s.held))
	active := 0
	for _, l := range s.held {
		if !l.giving {
			active++
		}
	}
	var free []int
	if active < share {
		for i := range s.shards {
			sh := (s.start + i) % s.shards
			if s.held[sh] == nil && s.left[sh] == nil {
				free = append(free, sh)
			}
		}
	}
	s.mu.Unlock()

	names := make([]string, 0, len(renew)+len(free))
	for _, sh := range append(slices.Clone(renew), free...) {
		names = append(names, shardLease(sh))
	}
	var got []bool
	if len(names) > 0 {
		err := s.call(ctx, func(ctx context.Context) (err error) {
			got, err = s.opts.Leases.Acquire(ctx, s.opts.Owner, s.ttl, names...)
			return err
		})
		if err == nil && len(got) != len(names) {
			err = fmt.Errorf("acquire answered %d of %d leases", len(got), len(names))
		}
		if err != nil {
			s.unreachable(err)
			return
		}
	}

	s.mu.Lock()
	s.lastBeat, s.lastErr = sent, nil
	if s.down {
		s.down = false
		s.log.Info(s.opts.Channel + ": redis answers again; taking updates")
	}
	for i, sh := range renew {
		l := s.held[sh]
		if l == nil {
			continue
		}
		if got[i] {
			l.deadline = sent.Add(s.ttl)
			continue
		}
		s.log.Warn(s.opts.Channel+": shard taken by another process", "shard", sh)
		s.loseLocked(l)
	}
	var surplus []string
	taken := 0
	for j, sh := range free {
		if !got[len(renew)+j] {
			continue
		}
		if active >= share || s.stopping {
			// More were free than this process's share (or it began to
			// stop meanwhile): let the rest go at once, before anything
			// was read of them.
			surplus = append(surplus, shardLease(sh))
			continue
		}
		s.held[sh] = &lease{shard: sh, deadline: sent.Add(s.ttl), lost: make(chan struct{})}
		active++
		taken++
	}
	if extra := active - share; extra > 0 && !stopping {
		// Members joined: give up the last shards beyond the share.
		for _, sh := range slices.Backward(slices.Sorted(maps.Keys(s.held))) {
			if extra == 0 {
				break
			}
			if l := s.held[sh]; !l.giving {
				l.giving = true
				extra--
				s.log.Info(s.opts.Channel+": giving a shard up to another process", "shard", sh)
			}
		}
	}
	s.mu.Unlock()
	if taken > 0 {
		s.log.Info(s.opts.Channel+": shards taken", "shards", taken, "members", members)
		wake(s.wakeRead)
	}
	if len(surplus) > 0 {
		if err := s.call(ctx, func(ctx context.Context) error { return s.opts.Leases.Release(ctx, s.opts.Owner, surplus...) }); err != nil {
			s.log.Debug(s.opts.Channel+": releasing surplus shards failed", "err", err)
		}
	}
	s.releaseIdle(ctx)
}

// releaseIdle lets go of the shards given up that have nothing in hand.
func (s *StreamReceiver) releaseIdle(ctx context.Context) {
	s.mu.Lock()
	if s.stopping {
		// Run releases them all at the end.
		s.mu.Unlock()
		return
	}
	var names []string
	for sh, l := range s.held {
		if l.giving && !l.busy() {
			names = append(names, shardLease(sh))
			s.loseLocked(l)
		}
	}
	s.mu.Unlock()
	if len(names) == 0 {
		return
	}
	if err := s.call(ctx, func(ctx context.Context) error { return s.opts.Leases.Release(ctx, s.opts.Owner, names...) }); err != nil {
		s.log.Warn(s.opts.Channel+": releasing shards failed; they pass on when their leases expire", "shards", len(names), "err", err)
		return
	}
	s.log.Info(s.opts.Channel+": shards handed over", "shards", len(names))
}

// unreachable notes that Redis did not answer, and gives up the leases
// that would expire before the next renewal could come: from then on
// another process may hold them, so this one must not take their updates.
func (s *StreamReceiver) unreachable(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err
	if !s.down {
		s.down = true
		s.log.Warn(s.opts.Channel+": redis does not answer; the shards lapse and no updates are taken until it does", "err", err)
	}
	now := time.Now()
	for _, l := range s.held {
		if !now.Add(s.every).Before(l.deadline) {
			s.log.Warn(s.opts.Channel+": shard lease lapsed", "shard", l.shard)
			s.loseLocked(l)
		}
	}
}

// loseLocked drops a lease: the Receiver hands back what it queued of the
// shard; what it is handling is waited for before the shard is taken again.
func (s *StreamReceiver) loseLocked(l *lease) {
	if l.gone {
		return
	}
	l.gone = true
	close(l.lost)
	delete(s.held, l.shard)
	if l.busy() {
		s.left[l.shard] = l
	}
}

// settleLocked notes progress on a lease's updates in hand.
func (s *StreamReceiver) settleLocked(l *lease) {
	if l.busy() {
		return
	}
	if l.gone {
		if s.left[l.shard] == l {
			delete(s.left, l.shard)
		}
		return
	}
	if l.giving {
		wake(s.wakeLeases)
	}
}

// read consumes the shards held until ctx ends: first, for a shard just
// taken, what its previous holder left; then new entries of all of them,
// in one blocking read.
func (s *StreamReceiver) read(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		claim, reading := s.take()
		var err error
		switch {
		case claim != nil:
			err = s.claim(ctx, claim)
		case len(reading) > 0:
			shards := make([]int, len(reading))
			for i, l := range reading {
				shards[i] = l.shard
			}
			var entries []StreamEntry
			entries, err = s.opts.Stream.Read(ctx, s.opts.Owner, shards, streamBatch, streamBlock)
			if err == nil {
				err = s.submit(ctx, reading, entries, false)
			}
		default:
			select {
			case <-s.wakeRead:
			case <-ctx.Done():
			case <-time.After(s.every):
			}
			continue
		}
		s.untake(claim, reading)
		switch {
		case err == nil, errors.Is(err, errLeaseLost):
			failures = 0
		case ctx.Err() != nil, errors.Is(err, ErrStopped):
			return
		default:
			failures++
			wait := Backoff(failures)
			s.log.Warn(s.opts.Channel+": reading the stream failed", "err", err, "retry_in", wait.String())
			// Shards taken again, once Redis is back, cut the wait short.
			select {
			case <-time.After(wait):
			case <-s.wakeRead:
			case <-ctx.Done():
				return
			}
		}
	}
}

// take marks what the reader works on next: a shard still to be claimed,
// or else every shard held and not given up.
func (s *StreamReceiver) take() (claim *lease, reading []*lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sh := range slices.Sorted(maps.Keys(s.held)) {
		l := s.held[sh]
		if l.giving {
			continue
		}
		if !l.claimed {
			l.reading = true
			return l, nil
		}
		reading = append(reading, l)
	}
	for _, l := range reading {
		l.reading = true
	}
	return nil, reading
}

func (s *StreamReceiver) untake(claim *lease, reading []*lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if claim != nil {
		reading = append(reading, claim)
	}
	for _, l := range reading {
		if l.reading {
			l.reading = false
			s.settleLocked(l)
		}
	}
}

// claim takes over the entries the shard's previous holder read and did
// not acknowledge, and submits them, in stream order, before anything new
// of the shard.
func (s *StreamReceiver) claim(ctx context.Context, l *lease) error {
	for {
		entries, next, err := s.opts.Stream.Claim(ctx, l.shard, s.opts.Owner, l.claimAfter, streamBatch)
		if err != nil {
			return fmt.Errorf("claim shard %d: %w", l.shard, err)
		}
		if len(entries) > 0 {
			s.log.Info(s.opts.Channel+": taking over updates left in a shard", "shard", l.shard, "updates", len(entries))
		}
		if err := s.submit(ctx, []*lease{l}, entries, true); err != nil {
			return err
		}
		s.mu.Lock()
		l.claimAfter = next
		if next == "" {
			l.claimed = true
		}
		s.mu.Unlock()
		if next == "" {
			return nil
		}
	}
}

// submit hands entries of the leases to the Receiver, in order. They are
// counted in hand first, all at once, and the leases stop counting as
// being read only then (unless claiming, which goes on), so that a shard
// given up is not let go while some are on their way; those of a lease
// lost meanwhile are left pending, for the shard's next holder.
func (s *StreamReceiver) submit(ctx context.Context, leases []*lease, entries []StreamEntry, claiming bool) error {
	byShard := make(map[int]*lease, len(leases))
	s.mu.Lock()
	now := time.Now()
	for _, l := range leases {
		if !l.gone && now.Before(l.deadline) {
			byShard[l.shard] = l
		}
		if !claiming {
			l.reading = false
		}
	}
	kept := entries[:0:0]
	for _, e := range entries {
		if l := byShard[e.Shard]; l != nil {
			l.inHand++
			s.inHand++
			kept = append(kept, e)
		}
	}
	for _, l := range leases {
		s.settleLocked(l)
	}
	s.mu.Unlock()
	if len(byShard) < len(leases) && len(leases) == 1 {
		return errLeaseLost
	}
	for i, e := range kept {
		l := byShard[e.Shard]
		u, ok := s.opts.Decode(e)
		if !ok {
			s.handled(l, e, nil)
			continue
		}
		inner := u.Done
		u.Done = func(err error) {
			if inner != nil {
				inner(err)
			}
			s.handled(l, e, err)
		}
		u.Cancel = l.lost
		if err := s.recv.Submit(ctx, u); err != nil {
			// Not queued: these stay pending, for the next holder.
			s.mu.Lock()
			for _, e := range kept[i:] {
				byShard[e.Shard].inHand--
				s.inHand--
			}
			for _, l := range byShard {
				s.settleLocked(l)
			}
			s.wakeIdleLocked()
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// handled hears the outcome of an entry's update: handled (or failed for
// good, which handling it again would not change) is acknowledged; handed
// back by a stop, it stays pending for the shard's next holder.
func (s *StreamReceiver) handled(l *lease, e StreamEntry, err error) {
	s.mu.Lock()
	l.inHand--
	s.inHand--
	stopped := errors.Is(err, ErrStopped)
	if !stopped {
		l.unacked++
	}
	s.settleLocked(l)
	s.wakeIdleLocked()
	s.mu.Unlock()
	if !stopped {
		s.ack(l, e)
	}
}

func (s *StreamReceiver) wakeIdleLocked() {
	if s.inHand == 0 {
		s.idle.Broadcast()
	}
}

// ack queues an acknowledgement. While one call is on its way, those that
// come meanwhile gather for the next, so that a lone one goes at once and
// under load one call carries many.
func (s *StreamReceiver) ack(l *lease, e StreamEntry) {
	s.ackMu.Lock()
	s.acks = append(s.acks, pendingAck{l: l, e: e})
	start := !s.acking
	s.acking = true
	s.ackMu.Unlock()
	if start {
		go s.sendAcks()
	}
}

func (s *StreamReceiver) sendAcks() {
	failures := 0
	for {
		s.ackMu.Lock()
		batch := s.acks
		s.acks = nil
		if len(batch) == 0 {
			s.acking = false
			s.ackIdle.Broadcast()
			s.ackMu.Unlock()
			return
		}
		s.ackMu.Unlock()
		entries := make([]StreamEntry, len(batch))
		for i, a := range batch {
			entries[i] = a.e
		}
		ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
		err := s.opts.Stream.Ack(ctx, entries)
		cancel()
		if err != nil {
			// Kept: while not acknowledged, they are handled again by the
			// shard's next holder, a repeat rather than a loss.
			s.ackMu.Lock()
			s.acks = append(batch, s.acks...)
			first := !s.ackFailed
			s.ackFailed = true
			s.ackMu.Unlock()
			failures++
			wait := Backoff(failures)
			if first {
				s.log.Warn(s.opts.Channel+": acknowledging handled updates failed", "updates", len(batch), "err", err, "retry_in", wait.String())
			}
			select {
			case <-time.After(wait):
			case <-s.dropAcks:
				s.ackMu.Lock()
				s.acks = nil
				s.acking = false
				s.ackIdle.Broadcast()
				s.ackMu.Unlock()
				return
			}
			continue
		}
		failures = 0
		s.ackMu.Lock()
		s.ackFailed = false
		s.ackMu.Unlock()
		s.mu.Lock()
		for _, a := range batch {
			a.l.unacked--
			s.settleLocked(a.l)
		}
		s.mu.Unlock()
	}
}

// flushAcks waits up to d for the acknowledgements under way, then drops
// those that still fail: by then another process may have taken the shards
// and handles those updates again.
func (s *StreamReceiver) flushAcks(d time.Duration) {
	done := make(chan struct{})
	go func() {
		s.ackMu.Lock()
		for s.acking {
			s.ackIdle.Wait()
		}
		s.ackMu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(d):
	}
	close(s.dropAcks)
	<-done
	s.log.Warn(s.opts.Channel + ": handled updates left unacknowledged; the shards' next holders handle them again")
}

// Lead runs fn while this process holds the named lease, which at most
// one process holds at a time: it tries to take the lease every third of
// its ttl, and once it has it runs fn, renewing the lease, until fn
// returns; it cancels fn's context when the lease is lost (another took
// it, or Redis did not answer in time to renew it). It releases the lease
// when fn returns, so that another process takes over at once, and tries
// again unless ctx ended. It returns nil when ctx ends, or the error fn
// returned of its own accord, with its context not cancelled.
func (s *StreamReceiver) Lead(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	for ctx.Err() == nil {
		sent := time.Now()
		var held []bool
		err := s.call(ctx, func(ctx context.Context) (err error) {
			held, err = s.opts.Leases.Acquire(ctx, s.opts.Owner, s.ttl, name)
			return err
		})
		if err == nil && len(held) == 1 && held[0] {
			if err := s.lead(ctx, name, sent, fn); err != nil {
				return err
			}
		}
		if Sleep(ctx, s.every) != nil {
			break
		}
	}
	return nil
}

func (s *StreamReceiver) lead(ctx context.Context, name string, sent time.Time, fn func(ctx context.Context) error) error {
	s.log.Info(s.opts.Channel+": lease taken", "lease", name)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := fn(fctx)
		if fctx.Err() != nil {
			// Cut off: not fn's own failure.
			err = nil
		}
		done <- err
	}()
	deadline := sent.Add(s.ttl)
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	lost := false
	for {
		select {
		case err := <-done:
			if !lost {
				bg := context.WithoutCancel(ctx)
				if rerr := s.call(bg, func(ctx context.Context) error { return s.opts.Leases.Release(ctx, s.opts.Owner, name) }); rerr != nil {
					s.log.Warn(s.opts.Channel+": releasing a lease failed; it passes on when it expires", "lease", name, "err", rerr)
				}
			}
			s.log.Info(s.opts.Channel+": lease given up", "lease", name)
			return err
		case <-tick.C:
			if lost {
				continue
			}
			renewed := time.Now()
			var held []bool
			err := s.call(ctx, func(ctx context.Context) (err error) {
				held, err = s.opts.Leases.Acquire(ctx, s.opts.Owner, s.ttl, name)
				return err
			})
			switch {
			case err == nil && len(held) == 1 && held[0]:
				deadline = renewed.Add(s.ttl)
			case err == nil:
				s.log.Warn(s.opts.Channel+": lease taken by another process", "lease", name)
				lost = true
			case !time.Now().Add(s.every).Before(deadline):
				s.log.Warn(s.opts.Channel+": lease lapsed: redis does not answer", "lease", name, "err", err)
				lost = true
			}
			if lost {
				cancel()
			}
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
