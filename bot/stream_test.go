package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/redis/redistest"
)

// These tests run several "processes" in one: each its own Redis
// connections, Receiver and StreamReceiver, over one Redis (REDIS_URL when
// set, else miniredis with TTLs on the wall clock, as a real one keeps
// them). No assertion is about time: the tests wait for outcomes.

// streamLeaseTTL is short, so that a crashed process's shards pass on
// soon, and long enough that a slow run (-race) renews in time.
const streamLeaseTTL = 2 * time.Second

var errCrashed = errors.New("process crashed")

// crashable is a process's way to Redis, which a test cuts as a crash
// would: from then on every call fails. It keeps the keys of the entries
// the process read and did not acknowledge: after a crash, what the
// others may handle a second time.
type crashable struct {
	stream bot.Stream
	leases bot.Leases

	mu      sync.Mutex
	crashed bool
	unacked map[string]bool
}

func (c *crashable) crash() map[string]bool {
	c.cut(true)
	return c.unacked
}

// cut makes every call fail, as a lost Redis does, or work again.
func (c *crashable) cut(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crashed = down
}

func (c *crashable) down() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return errCrashed
	}
	return nil
}

// taken notes entries read; those a call brings back after the crash are
// pending in Redis all the same, but the process never sees them.
func (c *crashable) taken(entries []bot.StreamEntry, err error) ([]bot.StreamEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		c.unacked[e.Key] = true
	}
	if c.crashed {
		return nil, errCrashed
	}
	return entries, err
}

func (c *crashable) Shards() int { return c.stream.Shards() }

func (c *crashable) Add(ctx context.Context, entries []bot.StreamEntry) ([]bool, error) {
	if err := c.down(); err != nil {
		return nil, err
	}
	return c.stream.Add(ctx, entries)
}

func (c *crashable) Read(ctx context.Context, consumer string, shards []int, count int, block time.Duration) ([]bot.StreamEntry, error) {
	if err := c.down(); err != nil {
		return nil, err
	}
	return c.taken(c.stream.Read(ctx, consumer, shards, count, block))
}

func (c *crashable) Claim(ctx context.Context, shard int, consumer, after string, count int) ([]bot.StreamEntry, string, error) {
	if err := c.down(); err != nil {
		return nil, "", err
	}
	entries, next, err := c.stream.Claim(ctx, shard, consumer, after, count)
	entries, err = c.taken(entries, err)
	return entries, next, err
}

func (c *crashable) Ack(ctx context.Context, entries []bot.StreamEntry) error {
	if err := c.down(); err != nil {
		return err
	}
	if err := c.stream.Ack(ctx, entries); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		delete(c.unacked, e.Key)
	}
	return nil
}

func (c *crashable) Acquire(ctx context.Context, owner string, ttl time.Duration, names ...string) ([]bool, error) {
	if err := c.down(); err != nil {
		return nil, err
	}
	return c.leases.Acquire(ctx, owner, ttl, names...)
}

func (c *crashable) Release(ctx context.Context, owner string, names ...string) error {
	if err := c.down(); err != nil {
		return err
	}
	return c.leases.Release(ctx, owner, names...)
}

func (c *crashable) Heartbeat(ctx context.Context, owner string, ttl time.Duration) ([]string, error) {
	if err := c.down(); err != nil {
		return nil, err
	}
	return c.leases.Heartbeat(ctx, owner, ttl)
}

func (c *crashable) Leave(ctx context.Context, owner string) error {
	if err := c.down(); err != nil {
		return err
	}
	return c.leases.Leave(ctx, owner)
}

var (
	_ bot.Stream = (*crashable)(nil)
	_ bot.Leases = (*crashable)(nil)
)

// handling is one handling of an update, as the handler saw it.
type handling struct {
	proc string
	chat string
	seq  int
	key  string
}

// journal is every handling of every process, in the order they happened.
type journal struct {
	mu      sync.Mutex
	all     []handling
	keys    map[string]bool
	changed chan struct{}
}

func newJournal() *journal {
	return &journal{keys: map[string]bool{}, changed: make(chan struct{})}
}

func (j *journal) add(h handling) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.all = append(j.all, h)
	j.keys[h.key] = true
	close(j.changed)
	j.changed = make(chan struct{})
}

// distinct is how many updates were handled at least once.
func (j *journal) distinct() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.keys)
}

// waitHandled waits until every key was handled.
func (j *journal) waitHandled(t *testing.T, keys []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		j.mu.Lock()
		missing := 0
		for _, k := range keys {
			if !j.keys[k] {
				missing++
			}
		}
		ch := j.changed
		j.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("%d of %d updates never handled", missing, len(keys))
		}
	}
}

func (j *journal) handlings() []handling {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.all)
}

// proc is one bot process.
type proc struct {
	name   string
	redis  *crashable
	recv   *bot.Receiver
	sr     *bot.StreamReceiver
	cancel context.CancelFunc
	done   chan struct{}
}

type testUpdateBody struct {
	Chat string `json:"chat"`
	Seq  int    `json:"seq"`
}

func startProc(t *testing.T, opts *goredis.Options, prefix, name string, j *journal) *proc {
	t.Helper()
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	p := &proc{name: name, done: make(chan struct{}), redis: &crashable{
		stream:  redis.NewStream(client, redis.StreamOptions{Prefix: prefix, Channel: "test", Shards: 8}),
		leases:  redis.NewLeases(client, prefix, "test"),
		unacked: map[string]bool{},
	}}
	p.recv = bot.NewReceiver(bot.ReceiverOptions{Name: name, Workers: 8, ShutdownGrace: time.Second})
	h := bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		// Uneven handling times keep some updates in hand at any moment.
		time.Sleep(time.Duration(rand.N(300)) * time.Microsecond)
		seq, _ := strconv.Atoi(ev.Text)
		j.add(handling{proc: name, chat: ev.ChatID, seq: seq, key: ev.UpdateID})
		return nil, nil
	})
	if err := p.recv.Start(context.Background(), h, &recordingSender{}); err != nil {
		t.Fatal(err)
	}
	p.sr = bot.NewStreamReceiver(p.recv, bot.StreamOptions{
		Channel:  "test",
		Stream:   p.redis,
		Leases:   p.redis,
		Owner:    name,
		LeaseTTL: streamLeaseTTL,
		Decode: func(e bot.StreamEntry) (*bot.Update, bool) {
			var b testUpdateBody
			if err := json.Unmarshal(e.Raw, &b); err != nil {
				return nil, false
			}
			return &bot.Update{Event: bot.Event{Platform: "test", UpdateID: e.Key, ChatID: b.Chat, UserID: b.Chat, Text: strconv.Itoa(b.Seq)}}, true
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		if err := p.sr.Run(ctx); err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	}()
	t.Cleanup(p.stop)
	return p
}

// stop stops the process as a deployment does: the stream receiver and
// the Receiver together.
func (p *proc) stop() {
	p.cancel()
	p.recv.Stop()
	<-p.done
}

// cluster is the processes and the load balancer in front of them.
type cluster struct {
	opts   *goredis.Options
	prefix string
	j      *journal
	leases *redis.Leases
	stream *redis.Stream

	mu    sync.Mutex
	procs []*proc
	live  map[string]bool
}

// add delivers an update to a live process, retrying on another while the
// one tried fails it, as a platform does after a 5xx; with twice set, it
// delivers it to a second process as well, as a platform's retry of an
// answer it did not get would.
func (c *cluster) add(t *testing.T, chat string, seq int, twice bool) string {
	key := fmt.Sprintf("%s:%d", chat, seq)
	raw, _ := json.Marshal(testUpdateBody{Chat: chat, Seq: seq})
	delivered := 0
	for attempt := 0; delivered < 1 || twice && delivered < 2; attempt++ {
		if attempt > 1000 {
			t.Errorf("update %s not accepted by any process", key)
			return key
		}
		c.mu.Lock()
		var live []*proc
		for _, p := range c.procs {
			if c.live[p.name] {
				live = append(live, p)
			}
		}
		c.mu.Unlock()
		p := live[rand.N(len(live))]
		if _, err := p.sr.Add(context.Background(), bot.StreamEntry{Chat: chat, Key: key, Raw: raw}); err == nil {
			delivered++
		}
	}
	return key
}

// send delivers perChat updates of each chat, the chats interleaved, a
// fifth of them twice; each chat's updates go one after another, as a
// platform delivers them. onDelivered hears the count after each.
func (c *cluster) send(t *testing.T, chats, from, to int, onDelivered func(n int)) []string {
	var (
		mu   sync.Mutex
		keys []string
		wg   sync.WaitGroup
	)
	var n atomic.Int64
	for ch := range chats {
		wg.Go(func() {
			chat := "chat" + strconv.Itoa(ch)
			for seq := from; seq < to; seq++ {
				key := c.add(t, chat, seq, rand.N(5) == 0)
				mu.Lock()
				keys = append(keys, key)
				mu.Unlock()
				if onDelivered != nil {
					onDelivered(int(n.Add(1)))
				}
			}
		})
	}
	wg.Wait()
	return keys
}

func newCluster(t *testing.T, j *journal, names ...string) *cluster {
	opts, prefix := redistest.Open(t)
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	c := &cluster{live: map[string]bool{}, opts: opts, prefix: prefix, j: j,
		leases: redis.NewLeases(client, prefix, "test"),
		stream: redis.NewStream(client, redis.StreamOptions{Prefix: prefix, Channel: "test", Shards: 8})}
	for _, name := range names {
		c.join(t, name)
	}
	return c
}

// join starts another process.
func (c *cluster) join(t *testing.T, name string) {
	t.Helper()
	p := startProc(t, c.opts, c.prefix, name, c.j)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs = append(c.procs, p)
	c.live[name] = true
}

// waitHolding waits until every shard is held, each named process holds
// some, and no other does.
func (c *cluster) waitHolding(t *testing.T, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		holders := map[string]int{}
		for sh := range 8 {
			h, err := c.leases.Holder(ctx, "shard:"+strconv.Itoa(sh))
			if err != nil && ctx.Err() == nil {
				t.Fatal(err)
			}
			holders[h]++
		}
		all := len(holders) == len(names)
		for _, n := range names {
			all = all && holders[n] > 0
		}
		if all {
			return
		}
		if bot.Sleep(ctx, 20*time.Millisecond) != nil {
			t.Fatalf("shards held %v, want them all held, by each of %v alone", holders, names)
		}
	}
}

// waitAcked waits until the streams are empty: every update added was
// handled and acknowledged.
func (c *cluster) waitAcked(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		n, err := c.stream.Len(ctx)
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if bot.Sleep(ctx, 20*time.Millisecond) != nil {
			t.Fatalf("%d entries left in the streams", n)
		}
	}
}

// waitCheck waits until the process's Check says it is in touch with
// Redis (ok) or that it is not.
func waitCheck(t *testing.T, p *proc, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for (p.sr.Check(ctx) == nil) != ok {
		if bot.Sleep(ctx, 20*time.Millisecond) != nil {
			t.Fatalf("%s: Check = %v, want ok %v", p.name, p.sr.Check(ctx), ok)
		}
	}
}

// settle sends one more update to every chat and waits for them: a chat's
// order puts it after everything delivered to the chat before, so once it
// is handled nothing added before it is left.
func (c *cluster) settle(t *testing.T, j *journal, chats, seq int) {
	t.Helper()
	var keys []string
	for ch := range chats {
		keys = append(keys, c.add(t, "chat"+strconv.Itoa(ch), seq, false))
	}
	j.waitHandled(t, keys)
}

// checkOrder checks that each chat's updates were first handled in the
// order they were delivered, and that each process handled a chat's
// updates in that order too.
func checkOrder(t *testing.T, hs []handling, chats, perChat int) {
	t.Helper()
	first := map[string][]int{}
	seen := map[string]bool{}
	byProc := map[[2]string][]int{}
	for _, h := range hs {
		if !seen[h.key] {
			seen[h.key] = true
			first[h.chat] = append(first[h.chat], h.seq)
		}
		byProc[[2]string{h.proc, h.chat}] = append(byProc[[2]string{h.proc, h.chat}], h.seq)
	}
	for ch := range chats {
		chat := "chat" + strconv.Itoa(ch)
		want := make([]int, perChat)
		for i := range want {
			want[i] = i
		}
		if got := first[chat]; !slices.Equal(got, want) {
			t.Errorf("%s first handled in the order %v, want %v", chat, got, want)
		}
	}
	for pc, seqs := range byProc {
		if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) {
			t.Errorf("%s handled %s out of order: %v", pc[0], pc[1], seqs)
		}
	}
}

// TestStreamReceiversHandleOnceInOrder: updates of many chats delivered to
// three processes at random, a fifth of them to two, are each handled
// once, and each chat's in the order delivered, whichever process handled
// them; a process joining while updates flow takes its share of the
// shards from the others, which hand them over with what they had in hand.
func TestStreamReceiversHandleOnceInOrder(t *testing.T) {
	const chats, perChat = 16, 40
	j := newJournal()
	c := newCluster(t, j, "p1", "p2")
	c.waitHolding(t, "p1", "p2")
	keys := c.send(t, chats, 0, 20, nil)
	c.join(t, "p3")
	keys = append(keys, c.send(t, chats, 20, 30, nil)...)
	c.waitHolding(t, "p1", "p2", "p3")
	keys = append(keys, c.send(t, chats, 30, perChat-1, nil)...)
	j.waitHandled(t, keys)
	c.settle(t, j, chats, perChat-1)
	for _, p := range c.procs {
		p.stop()
	}

	hs := j.handlings()
	count := map[string]int{}
	procs := map[string]bool{}
	for _, h := range hs {
		count[h.key]++
		procs[h.proc] = true
	}
	for k, n := range count {
		if n != 1 {
			t.Errorf("update %s handled %d times, want once", k, n)
		}
	}
	if len(count) != chats*perChat {
		t.Errorf("%d updates handled, want %d", len(count), chats*perChat)
	}
	checkOrder(t, hs, chats, perChat)
	if len(procs) != 3 {
		t.Errorf("only %v handled updates: the shards were not shared", procs)
	}
}

// TestStreamReceiverCrashTakenOver crashes a process mid-way, with updates
// read and not acknowledged: the others take its shards and handle what
// it left, each chat still in order. What the crashed process handled and
// had not acknowledged is handled again: at most what it had in hand.
func TestStreamReceiverCrashTakenOver(t *testing.T) {
	const chats, perChat = 16, 40
	j := newJournal()
	c := newCluster(t, j, "p1", "p2", "p3")
	c.waitHolding(t, "p1", "p2", "p3")
	victim := c.procs[0]

	var (
		once    sync.Once
		crashed = make(chan struct{})
		unacked map[string]bool
	)
	crash := func() {
		// Nothing it does reaches Redis any more; its workers stop, what
		// they queued is dropped, and what it read stays pending.
		unacked = victim.redis.crash()
		c.mu.Lock()
		c.live[victim.name] = false
		c.mu.Unlock()
		victim.cancel()
		victim.recv.Stop()
		close(crashed)
	}
	keys := c.send(t, chats, 0, perChat-1, func(n int) {
		// Mid-way, once the victim is working on its share.
		if n >= chats*perChat/2 && j.distinct() > chats*perChat/4 {
			once.Do(func() { go crash() })
		}
	})
	once.Do(func() { go crash() })
	<-crashed
	j.waitHandled(t, keys)
	c.settle(t, j, chats, perChat-1)
	<-victim.done
	for _, p := range c.procs[1:] {
		p.stop()
	}

	hs := j.handlings()
	count := map[string]int{}
	firstBy := map[string]string{}
	handledBy := map[string]int{}
	for _, h := range hs {
		count[h.key]++
		if _, ok := firstBy[h.key]; !ok {
			firstBy[h.key] = h.proc
		}
		handledBy[h.proc]++
	}
	if len(count) != chats*perChat {
		t.Errorf("%d updates handled, want %d", len(count), chats*perChat)
	}
	victim.redis.mu.Lock()
	inHand := len(unacked)
	victim.redis.mu.Unlock()
	again := 0
	for k, n := range count {
		switch {
		case n == 1:
		case n == 2 && firstBy[k] == victim.name && unacked[k]:
			again++
		default:
			t.Errorf("update %s handled %d times, first by %s (unacknowledged by the crashed process: %v)", k, n, firstBy[k], unacked[k])
		}
	}
	if again > inHand {
		t.Errorf("%d updates handled again, more than the %d the crashed process had in hand", again, inHand)
	}
	checkOrder(t, hs, chats, perChat)
	if handledBy[victim.name] == 0 {
		t.Errorf("the crashed process handled nothing before it crashed: %v", handledBy)
	}
	t.Logf("handled by process: %v; the crashed one had %d read and not acknowledged, %d handled again", handledBy, inHand, again)
}

// TestStreamReceiverRedisLost: a process that loses Redis takes no more
// updates and its shards pass to the other; when Redis is back, it takes
// its share again and goes back to work. Nothing is lost or handled twice.
func TestStreamReceiverRedisLost(t *testing.T) {
	const chats = 16
	j := newJournal()
	c := newCluster(t, j, "p1", "p2")
	c.waitHolding(t, "p1", "p2")
	p1 := c.procs[0]
	keys := c.send(t, chats, 0, 10, nil)
	j.waitHandled(t, keys)
	// Acknowledged too, or what p1 handled and could not acknowledge
	// would be handled again by p2.
	c.waitAcked(t)

	p1.redis.cut(true)
	waitCheck(t, p1, false)
	c.waitHolding(t, "p2")
	if _, err := p1.sr.Add(t.Context(), bot.StreamEntry{Chat: "chat0", Key: "refused", Raw: []byte(`{}`)}); err == nil {
		t.Fatal("a process without Redis accepted an update")
	}
	// The load balancer sends what p1 refuses to p2.
	keys = c.send(t, chats, 10, 20, nil)
	j.waitHandled(t, keys)

	p1.redis.cut(false)
	waitCheck(t, p1, true)
	c.waitHolding(t, "p1", "p2")
	before := len(j.handlings())
	keys = c.send(t, chats, 20, 29, nil)
	j.waitHandled(t, keys)
	c.settle(t, j, chats, 29)
	for _, p := range c.procs {
		p.stop()
	}

	hs := j.handlings()
	count := map[string]int{}
	for _, h := range hs {
		count[h.key]++
	}
	for k, n := range count {
		if n != 1 {
			t.Errorf("update %s handled %d times, want once", k, n)
		}
	}
	if len(count) != chats*30 {
		t.Errorf("%d updates handled, want %d", len(count), chats*30)
	}
	checkOrder(t, hs, chats, 30)
	back := 0
	for _, h := range hs[before:] {
		if h.proc == p1.name {
			back++
		}
	}
	if back == 0 {
		t.Error("the process whose Redis came back handled nothing after")
	}
}

// TestStreamReceiverLead: of two processes, one runs the job at a time;
// when it stops, the other takes over.
func TestStreamReceiverLead(t *testing.T) {
	opts, prefix := redistest.Open(t)
	var running, ran atomic.Int32
	var mu sync.Mutex
	var leaders []string
	job := func(name string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if n := running.Add(1); n != 1 {
				t.Errorf("%d processes run the job at once", n)
			}
			mu.Lock()
			leaders = append(leaders, name)
			mu.Unlock()
			ran.Add(1)
			<-ctx.Done()
			running.Add(-1)
			return nil
		}
	}
	type leader struct {
		cancel context.CancelFunc
		done   chan error
	}
	start := func(name string) *leader {
		client := goredis.NewClient(opts)
		t.Cleanup(func() { client.Close() })
		leases := redis.NewLeases(client, prefix, "test")
		sr := bot.NewStreamReceiver(bot.NewReceiver(bot.ReceiverOptions{}), bot.StreamOptions{
			Channel: "test", Stream: redis.NewStream(client, redis.StreamOptions{Prefix: prefix, Channel: "test"}),
			Leases: leases, Owner: name, LeaseTTL: streamLeaseTTL,
			Decode: func(bot.StreamEntry) (*bot.Update, bool) { return nil, false },
		})
		ctx, cancel := context.WithCancel(context.Background())
		l := &leader{cancel: cancel, done: make(chan error, 1)}
		go func() { l.done <- sr.Lead(ctx, "job", job(name)) }()
		t.Cleanup(func() { cancel(); <-l.done })
		return l
	}
	a := start("a")
	b := start("b")
	waitFor := func(n int32) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for ran.Load() < n {
			if bot.Sleep(ctx, 10*time.Millisecond) != nil {
				t.Fatalf("the job ran %d times, want %d", ran.Load(), n)
			}
		}
	}
	waitFor(1)
	mu.Lock()
	first := leaders[0]
	mu.Unlock()
	stopped := map[string]*leader{"a": a, "b": b}[first]
	stopped.cancel()
	if err := <-stopped.done; err != nil {
		t.Fatalf("Lead = %v", err)
	}
	stopped.done <- nil // for the cleanup
	waitFor(2)
	mu.Lock()
	defer mu.Unlock()
	if leaders[1] == first {
		t.Fatalf("leaders %v: the stopped process led again", leaders)
	}
}
