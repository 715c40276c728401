package main_test

import (
	"context"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// The channel conformance suite: one script of a resident who becomes a
// CDTO and reports, played on Telegram, Viber and the console, must give
// the same replies on each, as a person reads them: the plain text, the
// buttons offered and whether a picture came. What a channel does with them
// (edits a menu in place, a keyboard, numbered buttons) is its own.

// step is one thing the person does: types Text or presses the button
// labelled Press. "{code}" in Text stands for the invite code.
type step struct{ Text, Press string }

var conformanceScript = []step{
	{Text: "/start"},
	{Press: "🇺🇦 Українська"},
	{Text: "Буча"},
	{Text: "/score"},
	{Text: "/join {code}"},
	{Text: "/report 1"},
	{Text: "150"},
	{Text: "55,5"},
	{Press: "Пропустити"},
	{Press: "💾 Зберегти"},
	{Text: "/undo"},
}

// seen is what the person saw after one step.
type seen struct {
	Text    string
	Buttons []string
	Picture bool
}

var spaces = regexp.MustCompile(`\s+`)

func (s *seen) add(text string, buttons []string, picture bool) {
	if t := strings.TrimSpace(spaces.ReplaceAllString(text, " ")); t != "" {
		s.Text = strings.TrimSpace(s.Text + " " + t)
	}
	s.Buttons = append(s.Buttons, buttons...)
	s.Picture = s.Picture || picture
}

// player plays the script on one channel.
type player interface {
	do(t *testing.T, st step) seen
}

// freshDB is a database with every community loaded and an invite code of
// Бучанська, the same for every channel.
func freshDB(t *testing.T, path string) string {
	t.Helper()
	copyFile(t, template, path)
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.FindCommunity(context.Background(), "Буча")
	if err != nil {
		t.Fatal(err)
	}
	code, err := db.CreateInvite(context.Background(), c.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func withCode(text, code string) string { return strings.ReplaceAll(text, "{code}", code) }

// telegramPlayer plays on the fake Bot API by webhook, so that a step is
// over once its update is answered.
type telegramPlayer struct {
	ctx  context.Context
	srv  *telegramtest.Server
	c    *convo
	code string
	b    *runningBot
	env  map[string]string
}

func newTelegramPlayer(t *testing.T) *telegramPlayer {
	srv, env := fakeTelegram(t, telegramtest.Options{AllowHTTPWebhook: true, WebhookRetry: 20 * time.Millisecond})
	code := freshDB(t, env["DATABASE_PATH"])
	addr := "127.0.0.1:" + freePort(t)
	env["HTTP_ADDR"] = addr
	env["TELEGRAM_WEBHOOK_URL"] = "http://" + addr + "/telegram/webhook"
	env["TELEGRAM_WEBHOOK_SECRET"] = webhookSecret
	b := startBot(t, env)
	return &telegramPlayer{ctx: testContext(t), srv: srv, c: newConvo(t, srv, 5570001), code: code, b: b, env: env}
}

func (p *telegramPlayer) do(t *testing.T, st step) seen {
	t.Helper()
	before := map[int]int{}
	for _, m := range p.srv.Chat(p.c.u.ID) {
		before[m.ID] = m.Edits
	}
	if st.Press != "" {
		p.c.press(st.Press)
	} else {
		p.c.send(withCode(st.Text, p.code))
	}
	if err := p.srv.WaitDrained(p.ctx); err != nil {
		t.Fatalf("telegram: %v\n%s", err, p.b.stderr)
	}
	// The webhook is answered once the update is in the shared stream.
	waitHandled(t, p.ctx, p.env, p.srv)
	var s seen
	for _, m := range p.srv.Chat(p.c.u.ID) {
		if edits, old := before[m.ID]; !m.FromBot || old && m.Edits <= edits {
			continue
		}
		var labels []string
		for _, row := range m.Keyboard {
			for _, b := range row {
				labels = append(labels, b.Text)
			}
		}
		s.add(bot.PlainText(m.HTML), labels, len(m.Photo) > 0)
	}
	return s
}

// viberPlayer plays on the fake Viber API. A callback is answered once
// its update is in the shared stream: the player waits until it is
// handled.
type viberPlayer struct {
	c    *vconvo
	code string
	env  map[string]string
}

func newViberPlayer(t *testing.T) *viberPlayer {
	srv, env := fakeViber(t)
	code := freshDB(t, env["DATABASE_PATH"])
	startViberBot(t, srv, env)
	return &viberPlayer{c: newVConvo(t, srv, "c0nform+AAAA=="), code: code, env: env}
}

func (p *viberPlayer) do(t *testing.T, st step) seen {
	t.Helper()
	p.c.mark()
	from := p.c.seen
	if st.Press != "" {
		p.c.press(st.Press)
	} else {
		p.c.send(withCode(st.Text, p.code))
	}
	waitHandled(t, p.c.ctx, p.env, nil)
	var s seen
	for _, m := range p.c.srv.MessagesAfter(from) {
		if m.Receiver != p.c.u.ID {
			continue
		}
		var labels []string
		if m.Keyboard != nil {
			for _, b := range m.Keyboard.Buttons {
				labels = append(labels, b.Text)
			}
		}
		s.add(m.Text, labels, m.Type == "picture")
	}
	return s
}

// consolePlayer plays `hromadabot console` through its standard input and
// output: the console echoes each line, then prints its replies in one write.
type consolePlayer struct {
	in     *io.PipeWriter
	writes chan string
	menu   map[string]int
	code   string
}

// chanWriter hands every write to a channel.
type chanWriter chan string

func (w chanWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func newConsolePlayer(t *testing.T) *consolePlayer {
	db := filepath.Join(t.TempDir(), "hromada.db")
	code := freshDB(t, db)
	pr, pw := io.Pipe()
	p := &consolePlayer{in: pw, writes: make(chan string, 64), code: code}
	done := make(chan struct{})
	go func() {
		defer close(done)
		main.RunMainStreams(context.Background(), []string{"console", "--db", db}, pr, chanWriter(p.writes), io.Discard,
			func(string) string { return "" })
	}()
	t.Cleanup(func() {
		pw.Close()
		<-done
	})
	// The console's greeting, if any, comes before the first echo.
	return p
}

var consoleButton = regexp.MustCompile(`\[(\d+)\] `)

func (p *consolePlayer) do(t *testing.T, st step) seen {
	t.Helper()
	line := withCode(st.Text, p.code)
	if st.Press != "" {
		n, ok := p.menu[st.Press]
		if !ok {
			t.Fatalf("console: no button %q in %v", st.Press, p.menu)
		}
		line = strconv.Itoa(n)
	}
	if _, err := io.WriteString(p.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	echo := "> " + line + "\n"
	for {
		select {
		case w := <-p.writes:
			if w != echo {
				continue // what the console printed before the script began
			}
		case <-ctx.Done():
			t.Fatalf("console: no echo of %q", line)
		}
		break
	}
	var out string
	select {
	case out = <-p.writes:
	case <-ctx.Done():
		t.Fatalf("console: no answer to %q", line)
	}
	var s seen
	var text []string
	menu := map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "[зображення"):
			s.Picture = true
		case strings.HasPrefix(l, "  ["):
			idx := consoleButton.FindAllStringSubmatchIndex(l, -1)
			for i, m := range idx {
				end := len(l)
				if i+1 < len(idx) {
					end = idx[i+1][0]
				}
				label := strings.TrimSpace(l[m[1]:end])
				n, _ := strconv.Atoi(l[m[2]:m[3]])
				menu[label] = n
				s.Buttons = append(s.Buttons, label)
			}
		default:
			text = append(text, l)
		}
	}
	if len(menu) > 0 {
		p.menu = menu
	}
	s.add(strings.Join(text, "\n"), nil, false)
	return s
}

func TestChannelConformance(t *testing.T) {
	players := map[string]player{
		"telegram": newTelegramPlayer(t),
		"viber":    newViberPlayer(t),
		"console":  newConsolePlayer(t),
	}
	for i, st := range conformanceScript {
		got := map[string]seen{}
		for name, p := range players {
			got[name] = p.do(t, st)
		}
		want := got["telegram"]
		if want.Text == "" {
			t.Fatalf("step %d %+v: Telegram showed nothing", i+1, st)
		}
		for _, name := range []string{"viber", "console"} {
			g := got[name]
			if g.Text != want.Text {
				t.Errorf("step %d %+v: %s says\n%q\nTelegram says\n%q", i+1, st, name, g.Text, want.Text)
			}
			if !slices.Equal(g.Buttons, want.Buttons) {
				t.Errorf("step %d %+v: %s offers %q, Telegram %q", i+1, st, name, g.Buttons, want.Buttons)
			}
			if g.Picture != want.Picture {
				t.Errorf("step %d %+v: %s picture %v, Telegram %v", i+1, st, name, g.Picture, want.Picture)
			}
		}
	}
}
