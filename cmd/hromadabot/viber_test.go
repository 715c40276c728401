package main_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/bot/vibertest"
	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
)

// These tests run the real `hromadabot run` with the Viber channel against
// the fake Viber API, which delivers signed callbacks to the bot's webhook
// and fetches the pictures it serves, as Viber does.

// fakeViber starts the fake Viber API and returns it with the environment
// of a bot that serves only Viber, its webhook on a port of this machine.
func fakeViber(t *testing.T) (*vibertest.Server, map[string]string) {
	t.Helper()
	srv := vibertest.New(vibertest.Options{})
	t.Cleanup(srv.Close)
	env := botEnv(t, nil)
	addViber(t, srv, env)
	return srv, env
}

// addViber points env's bot at the fake Viber API: the webhook must be
// known before the bot listens, so the port is chosen first.
func addViber(t *testing.T, srv *vibertest.Server, env map[string]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["HTTP_ADDR"] = addr
	env["VIBER_TOKEN"] = srv.Token()
	env["VIBER_API_URL"] = srv.URL()
	env["VIBER_WEBHOOK_URL"] = "http://" + addr + "/viber/callback"
}

// vconvo is one person's Viber chat with the bot.
type vconvo struct {
	t   *testing.T
	ctx context.Context
	srv *vibertest.Server
	u   vibertest.User
	// seen is the Seq of the last message already looked at.
	seen int
	// last is the latest callback the person made.
	last vibertest.Delivery
}

// newVConvo is a person who has not opened the chat yet: their first
// message subscribes them, as in Viber.
func newVConvo(t *testing.T, srv *vibertest.Server, id string) *vconvo {
	t.Helper()
	u := vibertest.User{ID: id, Name: "Людина " + id, Language: "uk"}
	return &vconvo{t: t, ctx: testContext(t), srv: srv, u: u}
}

func (c *vconvo) mark() {
	if ms := c.srv.Messages(); len(ms) > 0 {
		c.seen = ms[len(ms)-1].Seq
	}
}

// deliver makes a callback and checks that the bot took it.
func (c *vconvo) deliver(d vibertest.Delivery, err error) vibertest.Delivery {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
	if d.Status != http.StatusOK {
		c.t.Fatalf("the bot answered a callback %d: %s", d.Status, d.Body)
	}
	c.last = d
	return d
}

func (c *vconvo) send(text string) vibertest.Delivery {
	c.t.Helper()
	c.mark()
	return c.deliver(c.srv.Text(c.u, text))
}

func (c *vconvo) press(label string) vibertest.Delivery {
	c.t.Helper()
	c.mark()
	return c.deliver(c.srv.PressText(c.u, label))
}

// expect waits for a new text message to the person containing every part.
func (c *vconvo) expect(parts ...string) vibertest.Message {
	c.t.Helper()
	m, err := c.srv.WaitFor(c.ctx, func(m vibertest.Message) bool {
		if m.Receiver != c.u.ID || m.Seq <= c.seen || m.Type != "text" {
			return false
		}
		for _, p := range parts {
			if !strings.Contains(m.Text, p) {
				return false
			}
		}
		return true
	})
	if err != nil {
		var texts []string
		for _, m := range c.srv.MessagesTo(c.u.ID) {
			texts = append(texts, m.Text)
		}
		c.t.Fatalf("no message with %q: %v\nchat:\n%s", parts, err, strings.Join(texts, "\n---\n"))
	}
	if strings.ContainsAny(m.Text, "<>") && strings.Contains(m.Text, "</") {
		c.t.Errorf("a message to Viber carries HTML: %q", m.Text)
	}
	c.seen = m.Seq
	return m
}

// button is the ActionBody of the labelled button on the person's keyboard.
func (c *vconvo) button(label string) string {
	c.t.Helper()
	kb := c.srv.LastKeyboard(c.u.ID)
	if kb == nil {
		c.t.Fatal("no keyboard")
	}
	for _, b := range kb.Buttons {
		if b.Text == label {
			return b.ActionBody
		}
	}
	c.t.Fatalf("no button %q", label)
	return ""
}

func startViberBot(t *testing.T, srv *vibertest.Server, env map[string]string) *runningBot {
	t.Helper()
	b := startBot(t, env)
	ctx := testContext(t)
	for {
		if url, _ := srv.Webhook(); url != "" {
			return b
		}
		select {
		case <-b.done:
			t.Fatalf("the bot stopped: %s", b.stderr)
		case <-ctx.Done():
			t.Fatal("the bot did not set its Viber webhook")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestViberResident: opening the chat is answered with the welcome in the
// callback's answer; /score answers with the card's picture, fetched by
// Viber from the URL the bot serves, and its text without HTML.
func TestViberResident(t *testing.T) {
	srv, env := fakeViber(t)
	b := startViberBot(t, srv, env)
	c := newVConvo(t, srv, "res1dent+AAAA==")

	c.deliver(srv.ConversationStarted(c.u, ""))
	welcome, err := srv.WaitFor(c.ctx, func(m vibertest.Message) bool { return m.Welcome && m.Receiver == c.u.ID })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(welcome.Text, "Вітаю!") || welcome.Keyboard == nil || welcome.Sender.Name != main.DefaultViberSender {
		t.Fatalf("welcome %+v", welcome)
	}
	c.press("🇺🇦 Українська")
	c.expect("Мова: українська")

	c.send("/score Буча")
	card := c.expect("Бучанська (Київська обл.)", "Цифровий індекс")
	pics := slices.DeleteFunc(srv.MessagesTo(c.u.ID), func(m vibertest.Message) bool { return m.Type != "picture" || m.Seq > card.Seq })
	if len(pics) != 1 || !strings.HasPrefix(string(pics[0].MediaBytes), "\x89PNG") || pics[0].MediaType != "image/png" {
		t.Fatalf("the card's picture: %+v", pics)
	}
	// The served URL works for anyone holding it, and only as it was made.
	resp, err := http.Get(pics[0].Media)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(pics[0].MediaBytes) {
		t.Fatalf("GET the picture: %d, %d bytes", resp.StatusCode, len(body))
	}
	forged := pics[0].Media[:len(pics[0].Media)-5] + "A.png"
	if resp, err := http.Get(forged); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a forged picture URL: %v %v", resp.StatusCode, err)
	}
	log := b.stop(t)
	checkLog(t, log, env, srv.Token(), "/score Буча")
}

// TestViberCDTOReport: a Viber user becomes a CDTO with an invite code and
// reports through the keyboard, with a decimal comma after a refused
// value; the Save callback delivered twice stores one report; /undo takes
// it back; a forged button of another community is refused.
func TestViberCDTOReport(t *testing.T) {
	srv, env := fakeViber(t)
	b := startViberBot(t, srv, env)
	c := newVConvo(t, srv, "cdt0+BBBB==")
	c.send("/start")
	c.expect("Вітаю!")
	db := openDB(t, env)
	bucha, err := db.FindCommunity(c.ctx, "Буча")
	if err != nil {
		t.Fatal(err)
	}
	code, err := db.CreateInvite(c.ctx, bucha.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	c.send("/join " + code)
	c.expect("Тепер ви — CDTO громади Бучанська")

	c.send("/report")
	c.expect("Звіт громади Бучанська", "Оберіть індикатор")
	c.press("⚪ 1. Аналіз даних громади")
	c.expect("Введіть нове значення")
	c.send("150")
	c.expect("від 0 до 100")
	c.send("55,5")
	c.expect("Додайте коментар")
	c.press("Пропустити")
	c.expect("Перевірте звіт:", "55,5")

	// A Save button for another community, as a forger would make it.
	save := c.button("💾 Зберегти")
	parts := strings.Split(strings.TrimPrefix(save, viber.PayloadPrefix), ":")
	parts[3] = strconv.FormatInt(bucha.ID+1, 36)
	c.send(viber.PayloadPrefix + strings.Join(parts, ":"))
	c.expect("Це меню застаріло")

	saved := c.press("💾 Зберегти")
	c.expect("✅ Звіт збережено: 1. Аналіз даних громади — 55,5%")
	if d, err := srv.Redeliver(saved); err != nil || d.Status != http.StatusOK {
		t.Fatalf("redelivered Save: %v %v", d.Status, err)
	}
	rs, err := db.Reports(c.ctx, hromadabot.ReportFilter{CommunityID: bucha.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Value != 55.5 || rs[0].Source != hromadabot.PlatformViber || rs[0].DedupKey != viber.UpdateID(strconv.FormatInt(saved.Token, 10)) {
		t.Fatalf("stored reports %+v", rs)
	}
	if n := len(slices.DeleteFunc(srv.MessagesTo(c.u.ID), func(m vibertest.Message) bool { return !strings.Contains(m.Text, "Звіт збережено") })); n != 1 {
		t.Errorf("the Save was answered %d times", n)
	}

	c.send("/undo")
	c.expect("↩️ Звіт скасовано: 1. Аналіз даних громади — 55,5%")
	rs, err = db.Reports(c.ctx, hromadabot.ReportFilter{CommunityID: bucha.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 0 {
		t.Fatalf("after /undo the report still counts: %+v", rs)
	}
	log := b.stop(t)
	checkLog(t, log, env, srv.Token(), code)
}

// TestViberCallbacksRefused: a callback with a wrong signature or none is
// refused and handled not at all.
func TestViberCallbacksRefused(t *testing.T) {
	srv, env := fakeViber(t)
	startViberBot(t, srv, env)
	c := newVConvo(t, srv, "f0rger+CCCC==")
	raw := []byte(`{"event":"message","timestamp":1700000000000,"message_token":5500000000000000001,` +
		`"sender":{"id":"f0rger+CCCC==","language":"uk"},"message":{"type":"text","text":"/score Буча"}}`)
	for _, tt := range []struct {
		name, sig string
		status    int
	}{
		{"ErrNoSignature", "", http.StatusUnauthorized},
		{"ErrWrongSignature", vibertest.Sign("another-token-0000000000", raw), http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := srv.DeliverSigned(raw, tt.sig)
			if err != nil || d.Status != tt.status {
				t.Fatalf("answered %d (%v), want %d", d.Status, err, tt.status)
			}
		})
	}
	if ms := srv.MessagesTo(c.u.ID); len(ms) != 0 {
		t.Fatalf("a refused callback was answered: %+v", ms)
	}
}

// TestViberRetriesAndUnsubscribed: "too many requests" is waited out and
// the reply still arrives; a person who unsubscribed is skipped by the
// next broadcast, which reaches the others.
func TestViberRetriesAndUnsubscribed(t *testing.T) {
	srv, env := fakeViber(t)
	b := startViberBot(t, srv, env)
	stays := newVConvo(t, srv, "stays+DDDD==")
	leaves := newVConvo(t, srv, "leaves+EEEE==")
	for _, c := range []*vconvo{stays, leaves} {
		c.send("/subscribe Буча")
		c.expect("Ви підписалися")
	}
	srv.FailNext(1, 12, "Too many requests")
	stays.send("/help")
	stays.expect("/score")
	var statuses []int
	for _, call := range srv.Calls("send_message") {
		statuses = append(statuses, call.Status)
	}
	if !slices.Contains(statuses, 12) || statuses[len(statuses)-1] != 0 {
		t.Fatalf("send_message statuses %v: want a refused call, then the reply sent", statuses)
	}

	if d, err := srv.Unsubscribed(leaves.u.ID); err != nil || d.Status != http.StatusOK {
		t.Fatalf("unsubscribed: %v %v", d.Status, err)
	}
	db := openDB(t, env)
	gone, err := db.UserByPlatform(stays.ctx, hromadabot.PlatformViber, leaves.u.ID)
	if err != nil || !gone.Blocked {
		t.Fatalf("the person who left: %+v, %v", gone, err)
	}
	stays.mark()
	_, stderr, code := main.RunMain(stays.ctx, []string{"broadcast", "send", "--audience", "all", "--text", "Оголошення для всіх", "--now"}, nil,
		func(k string) string { return env[k] })
	if code != 0 {
		t.Fatal(stderr)
	}
	stays.expect("Оголошення для всіх")
	for _, m := range srv.MessagesTo(leaves.u.ID) {
		if strings.Contains(m.Text, "Оголошення") {
			t.Fatal("the broadcast reached the person who unsubscribed")
		}
	}
	b.stop(t)
}

// TestRunBothChannels: one process serves Telegram and Viber at once, and
// a broadcast reaches each recipient on their own platform, counted per
// platform.
func TestRunBothChannels(t *testing.T) {
	tg, env := fakeTelegram(t, telegramtest.Options{})
	vb := vibertest.New(vibertest.Options{})
	t.Cleanup(vb.Close)
	addViber(t, vb, env)
	b := startViberBot(t, vb, env)

	tc := newConvo(t, tg, 5560001)
	vc := newVConvo(t, vb, "both+FFFF==")
	tc.send("/subscribe Буча")
	tc.expect("Ви підписалися")
	vc.send("/subscribe Ірпінь")
	vc.expect("Ви підписалися")

	tc.mark()
	vc.mark()
	out, stderr, code := main.RunMain(vc.ctx, []string{"broadcast", "send", "--audience", "all", "--text", "Для Telegram і Viber", "--now"}, nil,
		func(k string) string { return env[k] })
	if code != 0 {
		t.Fatal(stderr)
	}
	tc.expect("Для Telegram і Viber")
	vc.expect("Для Telegram і Viber")
	id := strings.TrimSpace(out[strings.Index(out, "--job ")+len("--job "):])
	// The outcomes are recorded once the batch is sent.
	for {
		status, stderr, code := main.RunMain(vc.ctx, []string{"broadcast", "status", "--job", id}, nil, func(k string) string { return env[k] })
		if code != 0 {
			t.Fatal(stderr)
		}
		if strings.Contains(status, "telegram: sent 1,") && strings.Contains(status, "viber: sent 1,") {
			break
		}
		select {
		case <-vc.ctx.Done():
			t.Fatalf("status never counted one message per platform:\n%s", status)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b.stop(t)
}
