package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// tick is how often the driver looks for the bot's requests and injects
// the updates due. Replies are timed when seen, so latencies read up to a
// tick high; a shorter tick would cost the harness more CPU.
const tick = time.Millisecond

// driver plays the people against the fake Bot API server. One goroutine
// owns all its state: every tick it reads the bot's new requests, times
// out updates left unanswered and injects the updates due, each from the
// next idle person. A person never has two updates in flight.
type driver struct {
	srv     *telegramtest.Server
	w       *world
	timeout time.Duration

	byChat  map[int64]*user
	ready   []*user // idle people, longest idle first
	head    int
	flights []flight // updates in flight, oldest first
	lastSeq int
	// inFlight counts the updates awaiting their reply, lost the people
	// awaiting the late reply to an update that timed out.
	inFlight, lost int

	st *tally
}

// flight is an update sent and not yet answered.
type flight struct {
	u   *user
	gen int
	at  time.Time
}

// tally counts what happened during one step.
type tally struct {
	sent       int       // updates injected
	starved    int       // updates due while every person waited for a reply
	replies    int       // first replies to an update, late ones included
	lat        Latencies // of those replies
	wrong      int       // replies without the expected part
	rejected   int       // bot requests the Bot API refused (bad HTML, unknown chat...)
	pressFail  int       // buttons the script looked for and the chat did not show
	timeouts   int       // updates unanswered within the timeout
	late       int       // replies to updates that had timed out
	unexpected int       // bot messages to a person with no update in flight
	unseen     int       // requests dropped from the record before the driver saw them
	samples    []string  // a few wrong replies, for the report
	// answerLat are the times to the webhook's answer, for the Viber
	// driver, whose callbacks are answered once handled.
	answerLat Latencies
}

func newDriver(srv *telegramtest.Server, w *world, timeout time.Duration) *driver {
	return &driver{srv: srv, w: w, timeout: timeout, byChat: map[int64]*user{}, st: &tally{}}
}

// add makes people known to the driver and idle.
func (d *driver) add(us []*user) {
	for _, u := range us {
		d.byChat[u.tg.ID] = u
		d.ready = append(d.ready, u)
	}
}

// idle puts a person at the end of the queue of those ready to act.
func (d *driver) idle(u *user) {
	if u.stage == stageDone {
		return
	}
	if d.head > 1024 && d.head*2 > len(d.ready) {
		d.ready = append(d.ready[:0], d.ready[d.head:]...)
		d.head = 0
	}
	d.ready = append(d.ready, u)
}

func (d *driver) nextReady() *user {
	if d.head == len(d.ready) {
		return nil
	}
	u := d.ready[d.head]
	d.ready[d.head] = nil
	d.head++
	return u
}

// inject sends the next idle person's next action.
func (d *driver) inject() {
	u := d.nextReady()
	if u == nil {
		d.st.starved++
		return
	}
	act := d.w.next(u)
	if act.text != "" {
		d.srv.UserText(u.tg, act.text)
	} else if _, err := d.srv.UserClick(u.tg, act.press); err != nil {
		d.st.pressFail++
		d.sample(fmt.Sprintf("no button %q: %v", act.press, err))
		u.restart()
		d.idle(u)
		return
	}
	u.act, u.inFlight, u.sentAt = act, true, time.Now()
	d.inFlight++
	u.gen++
	d.flights = append(d.flights, flight{u: u, gen: u.gen, at: u.sentAt})
	d.st.sent++
}

// observe reads the requests the bot made since the last look and takes
// every message to a person as the reply to their update in flight.
func (d *driver) observe(now time.Time) {
	reqs := d.srv.RequestsAfter(d.lastSeq)
	for _, r := range reqs {
		if r.Seq != d.lastSeq+1 {
			d.st.unseen += r.Seq - d.lastSeq - 1
		}
		d.lastSeq = r.Seq
		switch r.Method {
		case "sendMessage", "sendPhoto", "editMessageText":
		default:
			continue
		}
		u := d.byChat[r.ChatID()]
		if u == nil {
			continue
		}
		if u.lost {
			// The late reply to a timed-out update: the person may go on.
			u.lost = false
			d.lost--
			d.st.late++
			d.st.replies++
			d.st.lat = append(d.st.lat, now.Sub(u.sentAt))
			u.restart()
			d.idle(u)
			continue
		}
		if !u.inFlight {
			d.st.unexpected++
			continue
		}
		u.inFlight = false
		d.inFlight--
		d.st.replies++
		d.st.lat = append(d.st.lat, now.Sub(u.sentAt))
		text := r.Params["text"]
		if r.Method == "sendPhoto" {
			text = r.Params["caption"]
		}
		act := u.act
		if !r.OK() {
			d.st.rejected++
			d.sample(fmt.Sprintf("%s refused: %d %s", r.Method, r.Status, r.Error))
			u.restart()
		} else if ok, lower := accepts(u, act, text); ok {
			u.advance(lower)
		} else {
			d.st.wrong++
			d.sample(fmt.Sprintf("want %q, got %q", act.expect, text))
			u.restart()
		}
		d.idle(u)
	}
	// Flights are in send order, so the expired ones are at the front.
	i := 0
	for ; i < len(d.flights); i++ {
		f := d.flights[i]
		if !f.u.inFlight || f.u.gen != f.gen {
			continue
		}
		if now.Sub(f.at) < d.timeout {
			break
		}
		// The person waits for the late reply before going on, so that
		// it is not taken for the answer to their next update.
		f.u.inFlight, f.u.lost = false, true
		d.inFlight--
		d.lost++
		d.st.timeouts++
	}
	d.flights = d.flights[i:]
}

func (d *driver) sample(s string) { d.st.sample(s) }

// sample keeps the first few descriptions of what went wrong.
func (t *tally) sample(s string) {
	if len(t.samples) < 5 {
		t.samples = append(t.samples, s)
	}
}

// run injects updates at rate for dur (open loop; rate 0 injects none) and
// returns what happened. With until set it ends early once until holds.
func (d *driver) run(ctx context.Context, rate float64, dur time.Duration, until func() bool) *tally {
	d.st = &tally{}
	openLoop(ctx, rate, dur, until, d.observe, d.inject)
	return d.st
}

// openLoop calls inject on rate's schedule for dur, whatever the bot's
// speed, and observe every tick before; with until set it ends early once
// until holds. Both drivers run their steps on it.
func openLoop(ctx context.Context, rate float64, dur time.Duration, until func() bool, observe func(now time.Time), inject func()) {
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	pace := NewPacer(rate, start)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Not the tick's own time: it may be older than an update
			// sent late in the previous tick.
			now := time.Now()
			observe(now)
			if now.Sub(start) >= dur || (until != nil && until()) {
				return
			}
			for n := pace.Due(now); n > 0; n-- {
				inject()
			}
		}
	}
}

// drain waits, injecting nothing, until every update queued at the fake
// server was taken and answered, or limit passes. It reports whether it
// got there.
func (d *driver) drain(ctx context.Context, limit time.Duration) (*tally, bool) {
	done := func() bool { return d.inFlight == 0 && d.lost == 0 && len(d.srv.Pending()) == 0 }
	t := d.run(ctx, 0, limit, done)
	return t, done()
}

// failures sums the failures of a tally.
func (t *tally) failures() int { return t.wrong + t.rejected + t.pressFail }

// describe lists the failures of a tally, for the report.
func (t *tally) describe() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(t.wrong, "wrong replies")
	add(t.rejected, "refused by the Bot API")
	add(t.pressFail, "buttons not shown")
	add(t.timeouts, "timeouts")
	add(t.late, "late replies")
	add(t.unexpected, "unexpected messages")
	add(t.unseen, "requests unseen")
	add(t.starved, "updates due with every person waiting")
	if len(parts) == 0 {
		return "none"
	}
	s := strings.Join(parts, ", ")
	for _, x := range t.samples {
		s += "\n      e.g. " + x
	}
	return s
}
