package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot/bot/vibertest"
)

// viberHistory bounds the fake Viber server's record of messages and
// calls (over all people, unlike the fake Bot API's per chat): the driver
// reads it every millisecond, far more often than this many arrive, and
// presses only the keyboard each person sees, which the limit leaves alone.
const viberHistory = 8192

// viberID is the Viber id of the i-th person of the steps: the shape of a
// real one (base64 of 16 bytes), and unique.
func viberID(i int) string {
	return fmt.Sprintf("loadtest%014d==", i)
}

// viberDriver plays the people against the fake Viber server, open loop
// as driver does on Telegram. Viber delivers a callback by an HTTP request
// that the bot answers only once it has handled it, so each callback in
// flight is a request; conns workers make them, at most that many at
// once, and a callback due while all are busy waits for one. One goroutine
// owns the people: every tick it takes the webhook's answers, reads the
// bot's new messages, times out callbacks and queues those due, each from
// the next idle person. A person has one callback in flight at most: the
// next waits for the answer to the last.
type viberDriver struct {
	srv     *vibertest.Server
	w       *world
	timeout time.Duration

	byID    map[string]*user
	ready   []*user
	head    int
	flights []flight
	// inFlight counts the callbacks awaiting their reply, lost the people
	// whose callback timed out and awaits its answer.
	inFlight, lost int
	lastSeq        int

	jobs    chan viberJob
	answers chan viberAnswer
	workers sync.WaitGroup

	st *tally
}

// viberJob is a callback to make; viberAnswer what came of it.
type viberJob struct {
	u   *user
	act action
}

type viberAnswer struct {
	u        *user
	at       time.Time
	status   int
	err      error
	noButton bool
}

// newViberDriver starts conns workers for people's callbacks; close it to
// stop them.
func newViberDriver(srv *vibertest.Server, w *world, timeout time.Duration, people []*user, conns int) *viberDriver {
	d := &viberDriver{srv: srv, w: w, timeout: timeout, byID: map[string]*user{}, st: &tally{},
		// A person has one callback queued or in flight at most, so
		// neither channel ever fills.
		jobs: make(chan viberJob, len(people)+1), answers: make(chan viberAnswer, len(people)+1)}
	for _, u := range people {
		d.byID[u.vid] = u
		d.ready = append(d.ready, u)
	}
	for range conns {
		d.workers.Add(1)
		go d.work()
	}
	return d
}

// close stops the workers once the callbacks queued are made.
func (d *viberDriver) close() {
	close(d.jobs)
	d.workers.Wait()
}

// work makes callbacks. It reads only what the job carries and the
// person's id, which never changes: the rest of the person is the
// driver's.
func (d *viberDriver) work() {
	defer d.workers.Done()
	for j := range d.jobs {
		who := vibertest.User{ID: j.u.vid}
		var dl vibertest.Delivery
		var err error
		if j.act.text != "" {
			dl, err = d.srv.Text(who, j.act.text)
		} else if !hasButton(d.srv.LastKeyboard(who.ID), j.act.press) {
			d.answers <- viberAnswer{u: j.u, at: time.Now(), noButton: true}
			continue
		} else {
			dl, err = d.srv.PressText(who, j.act.press)
		}
		d.answers <- viberAnswer{u: j.u, at: time.Now(), status: dl.Status, err: err}
	}
}

// hasButton reports whether kb has a reply button labelled label.
func hasButton(kb *vibertest.Keyboard, label string) bool {
	if kb == nil {
		return false
	}
	for _, b := range kb.Buttons {
		if b.Text == label && (b.ActionType == "reply" || b.ActionType == "") {
			return true
		}
	}
	return false
}

func (d *viberDriver) idle(u *user) {
	if d.head > 1024 && d.head*2 > len(d.ready) {
		d.ready = append(d.ready[:0], d.ready[d.head:]...)
		d.head = 0
	}
	d.ready = append(d.ready, u)
}

// inject queues the next idle person's next callback.
func (d *viberDriver) inject() {
	if d.head == len(d.ready) {
		d.st.starved++
		return
	}
	u := d.ready[d.head]
	d.ready[d.head] = nil
	d.head++
	act := d.w.next(u)
	u.act, u.inFlight, u.sentAt = act, true, time.Now()
	u.got, u.texts, u.answered, u.status = false, u.texts[:0], false, 0
	u.gen++
	d.inFlight++
	d.flights = append(d.flights, flight{u: u, gen: u.gen, at: u.sentAt})
	d.st.sent++
	d.jobs <- viberJob{u: u, act: act}
}

// observe takes the answers that came, then the messages recorded: a
// reply is recorded before the bot answers its callback, so every
// answer's messages are read by then. A callback is done once answered
// and replied to; the reply's latency runs from its queuing to the bot's
// first message to the person, as the fake server timed it.
func (d *viberDriver) observe(now time.Time) {
	var answers []viberAnswer
	for more := true; more; {
		select {
		case a := <-d.answers:
			answers = append(answers, a)
		default:
			more = false
		}
	}
	for _, m := range d.srv.MessagesAfter(d.lastSeq) {
		if m.Seq != d.lastSeq+1 {
			d.st.unseen += m.Seq - d.lastSeq - 1
		}
		d.lastSeq = m.Seq
		u := d.byID[m.Receiver]
		if u == nil {
			continue
		}
		if !u.inFlight && !u.lost {
			d.st.unexpected++
			continue
		}
		if !u.got {
			u.got = true
			d.st.replies++
			d.st.lat = append(d.st.lat, m.At.Sub(u.sentAt))
			if u.lost {
				d.st.late++
			}
		}
		u.texts = append(u.texts, m.Text)
		if u.answered {
			// Answered before this first message; now it is done.
			d.finish(u)
		}
	}
	for _, a := range answers {
		u := a.u
		switch {
		case a.noButton:
			d.st.pressFail++
			d.sample(fmt.Sprintf("no button %q", u.act.press))
			d.finish(u)
			continue
		case a.err != nil || a.status != http.StatusOK:
			d.st.rejected++
			d.sample(fmt.Sprintf("callback answered %d: %v", a.status, a.err))
		}
		d.st.answerLat = append(d.st.answerLat, a.at.Sub(u.sentAt))
		u.answered, u.status = true, a.status
		if u.got || a.err != nil || a.status != http.StatusOK {
			d.finish(u)
		}
	}
	i := 0
	for ; i < len(d.flights); i++ {
		f := d.flights[i]
		if !f.u.inFlight || f.u.gen != f.gen || f.u.got {
			continue
		}
		if now.Sub(f.at) < d.timeout {
			break
		}
		f.u.inFlight, f.u.lost = false, true
		d.inFlight--
		d.lost++
		d.st.timeouts++
	}
	d.flights = d.flights[i:]
}

// finish ends a person's callback: the reply is judged, and the person
// goes on or starts the round over.
func (d *viberDriver) finish(u *user) {
	if u.lost {
		u.lost = false
		d.lost--
		u.restart()
		d.idle(u)
		return
	}
	if !u.inFlight {
		return
	}
	u.inFlight = false
	d.inFlight--
	switch {
	case u.status != http.StatusOK:
		// Counted as refused already.
		u.restart()
	case !u.got:
		// A press that found no button: counted already.
		u.restart()
	default:
		text := strings.Join(u.texts, "\n")
		if ok, lower := accepts(u, u.act, text); ok {
			u.advance(lower)
		} else {
			d.st.wrong++
			d.sample(fmt.Sprintf("want %q, got %q", u.act.expect, text))
			u.restart()
		}
	}
	d.idle(u)
}

func (d *viberDriver) sample(s string) { d.st.sample(s) }

// run queues callbacks at rate for dur (open loop; rate 0 queues none)
// and returns what happened; with until set it ends early once until holds.
func (d *viberDriver) run(ctx context.Context, rate float64, dur time.Duration, until func() bool) *tally {
	d.st = &tally{}
	openLoop(ctx, rate, dur, until, d.observe, d.inject)
	return d.st
}

// drain waits, queuing nothing, until every callback was answered and
// replied to, or limit passes; it reports whether it got there.
func (d *viberDriver) drain(ctx context.Context, limit time.Duration) (*tally, bool) {
	done := func() bool { return d.inFlight == 0 && d.lost == 0 }
	t := d.run(ctx, 0, limit, done)
	return t, done()
}
