package dialogs_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/dialogs"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/storage/memory"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

var (
	_ dialogs.Store      = (*sqldb.DB)(nil)
	_ dialogs.StateStore = (*memory.StateStore)(nil)
	_ dialogs.StateStore = (*redis.StateStore)(nil)
)

// Users of the scripted chats.
const (
	adminRef    = "telegram:1"
	cdtoID      = "100"
	residentID  = "200"
	resident2ID = "201"
)

// fixtureNames are the real communities every test database holds: enough
// for a ranking longer than its top 10, same-named communities in several
// oblasts (Миколаївська) and a near namesake of Буча (Бучацька).
var fixtureNames = map[string]bool{
	"Бучанська": true, "Бучацька": true, "Ірпінська": true, "Вінницька": true, "Славутицька": true,
	"Яготинська": true, "Миколаївська": true, "Бориспільська": true, "Броварська": true,
	"Гостомельська": true, "Вишгородська": true, "Фастівська": true, "Обухівська": true,
	"Житомирська": true, "Львівська": true, "Полтавська": true, "Ніжинська": true, "Прилуцька": true,
}

// clock is the tests' time, shared by the engine and the database.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stateBackend opens dialog state stores over one backend; each call is a
// new store, as a restarted process would open.
type stateBackend struct {
	name string
	open func() dialogs.StateStore
}

// stateBackends are the two state stores every conversation test runs on:
// memory, and Redis (REDIS_URL when set, else an in-process miniredis).
var stateBackends = []struct {
	name string
	make func(t testing.TB) stateBackend
}{
	{"memory", func(t testing.TB) stateBackend {
		s := memory.NewStateStore(0)
		return stateBackend{name: "memory", open: func() dialogs.StateStore { return s }}
	}},
	{"redis", func(t testing.TB) stateBackend {
		prefix := "hromadabot-dialogs-test:" + rand.Text() + ":"
		var opts *goredis.Options
		if url := os.Getenv("REDIS_URL"); url != "" {
			o, err := goredis.ParseURL(url)
			if err != nil {
				t.Fatalf("REDIS_URL: %v", err)
			}
			opts = o
			t.Cleanup(func() { removeKeys(t, opts, prefix) })
		} else {
			opts = &goredis.Options{Addr: miniredis.RunT(t).Addr()}
		}
		return stateBackend{name: "redis", open: func() dialogs.StateStore {
			c := goredis.NewClient(opts)
			t.Cleanup(func() { c.Close() })
			return redis.NewStateStore(c, redis.Options{Prefix: prefix})
		}}
	}},
}

func removeKeys(t testing.TB, opts *goredis.Options, prefix string) {
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("remove test keys: %v", err)
	}
}

// forEachStore runs a conversation test on every state store.
func forEachStore(t *testing.T, test func(t *testing.T, w *world)) {
	for _, b := range stateBackends {
		t.Run(b.name, func(t *testing.T) {
			test(t, newWorld(t, b.make))
		})
	}
}

// world is one test's bot: a real SQLite file, a state store and the engine.
type world struct {
	t       *testing.T
	db      *sqldb.DB
	clock   *clock
	loc     *locales.Catalog
	backend stateBackend
	states  dialogs.StateStore
	eng     *dialogs.Engine
	chart   func(*hromadabot.Score, *hromadabot.Plan, string) (string, func() ([]byte, error))
	// admins and announcer are the engine's configuration; restart
	// applies a change.
	admins    []string
	announcer dialogs.Announcer
	siteURL   string
	updates   atomic.Int64
	c         map[string]*hromadabot.Community // by name; the first of same-named ones
}

func newWorld(t *testing.T, backend func(t testing.TB) stateBackend) *world {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hromada.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, hromadabot.Kyiv)}
	db.Now = clk.Now

	all, err := hromadabot.Hromadas()
	if err != nil {
		t.Fatal(err)
	}
	var cs []hromadabot.Community
	for _, c := range all {
		if fixtureNames[c.Name] {
			cs = append(cs, c)
		}
	}
	if _, err := db.LoadHromadas(ctx, cs, "cli"); err != nil {
		t.Fatal(err)
	}
	loaded, err := db.Communities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, db: db, clock: clk, c: map[string]*hromadabot.Community{},
		admins: []string{adminRef}, announcer: broadcast.Announcer{Store: db}}
	for i := range loaded {
		if w.c[loaded[i].Name] == nil {
			w.c[loaded[i].Name] = &loaded[i]
		}
	}
	if w.loc, err = locales.New(); err != nil {
		t.Fatal(err)
	}
	w.backend = backend(t)
	w.states = w.backend.open()
	w.restart()
	return w
}

// restart builds a new engine on the same database and state backend, as
// after a restart of the bot.
func (w *world) restart() {
	w.t.Helper()
	w.states = w.backend.open()
	eng, err := dialogs.New(dialogs.Config{
		Store:     w.db,
		States:    w.states,
		Locales:   w.loc,
		Admins:    w.admins,
		Now:       w.clock.Now,
		Chart:     w.chart,
		SiteURL:   w.siteURL,
		Announcer: w.announcer,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.eng = eng
}

// community returns the fixture community named name.
func (w *world) community(name string) *hromadabot.Community {
	c := w.c[name]
	if c == nil {
		w.t.Fatalf("no fixture community %q", name)
	}
	return c
}

// seed stores reports (indicator → value) for a community, as an import would.
func (w *world) seed(name string, values map[int]float64) {
	w.t.Helper()
	c := w.community(name)
	var rs []hromadabot.Report
	for _, id := range slicesSorted(values) {
		rs = append(rs, hromadabot.Report{CommunityID: c.ID, IndicatorID: id, Value: values[id], Source: hromadabot.SourceImport})
	}
	if err := w.db.CreateReports(context.Background(), rs, "cli"); err != nil {
		w.t.Fatal(err)
	}
}

func slicesSorted(m map[int]float64) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// makeCDTO binds a Telegram user as the CDTO of the named community, the
// way /join does.
func (w *world) makeCDTO(userID, name string) *hromadabot.User {
	w.t.Helper()
	ctx := context.Background()
	u, err := w.db.EnsureUser(ctx, hromadabot.PlatformTelegram, userID, "uk")
	if err != nil {
		w.t.Fatal(err)
	}
	code, err := w.db.CreateInvite(ctx, w.community(name).ID, adminRef)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.AcceptInvite(ctx, code, u.ID); err != nil {
		w.t.Fatal(err)
	}
	if u, err = w.db.User(ctx, u.ID); err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) user(userID string) *hromadabot.User {
	w.t.Helper()
	u, err := w.db.UserByPlatform(context.Background(), hromadabot.PlatformTelegram, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// reports returns the stored (not retracted) reports of a community.
func (w *world) reports(name string) []hromadabot.Report {
	w.t.Helper()
	rs, err := w.db.Reports(context.Background(), hromadabot.ReportFilter{CommunityID: w.community(name).ID})
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

// index returns a community's digital index now.
func (w *world) index(name string) float64 {
	w.t.Helper()
	s, err := w.db.Score(context.Background(), w.community(name).ID, 2026)
	if err != nil {
		w.t.Fatal(err)
	}
	return s.Index
}

// chat is one person's private chat with the bot.
type chat struct {
	t      *testing.T
	w      *world
	userID string
	lang   string
	// last holds the replies to the latest event.
	last []bot.Reply
	// menu is the latest reply that had buttons: the menu on screen.
	menu *bot.Reply
}

func (w *world) chat(t *testing.T, userID string) *chat {
	return &chat{t: t, w: w, userID: userID, lang: "uk"}
}

func (c *chat) event() bot.Event {
	return bot.Event{
		Platform:     hromadabot.PlatformTelegram,
		UpdateID:     fmt.Sprintf("telegram:%d", c.w.updates.Add(1)),
		ChatID:       c.userID,
		UserID:       c.userID,
		LanguageCode: c.lang,
		At:           c.w.clock.Now(),
	}
}

// handle sends one event and checks what every reply must satisfy.
func (c *chat) handle(ev bot.Event) []bot.Reply {
	c.t.Helper()
	out, err := c.w.eng.Handle(context.Background(), ev)
	if err != nil {
		c.t.Fatalf("Handle(%q %q): %v", ev.Text, ev.Payload, err)
	}
	if len(out) == 0 {
		c.t.Fatalf("Handle(%q %q): no reply", ev.Text, ev.Payload)
	}
	checkReplies(c.t, out)
	c.last = out
	for i := range out {
		if len(out[i].Buttons) > 0 {
			c.menu = &out[i]
		}
	}
	return out
}

// checkReplies asserts the rules of every reply: text present, button
// payloads compact, HTML limited to the Telegram subset.
func checkReplies(t *testing.T, out []bot.Reply) {
	t.Helper()
	for _, r := range out {
		if strings.TrimSpace(r.Text) == "" {
			t.Errorf("reply with empty text: %+v", r)
		}
		for _, tag := range htmlTagRE.FindAllStringSubmatch(r.Text, -1) {
			if !allowedTags[tag[1]] {
				t.Errorf("reply uses tag <%s>: %q", tag[1], r.Text)
			}
		}
		for _, row := range r.Buttons {
			for _, b := range row {
				if b.Text == "" || len(b.Payload) == 0 || len(b.Payload) > bot.MaxPayload {
					t.Errorf("button %+v: want a label and a payload of 1..%d bytes", b, bot.MaxPayload)
				}
				if strings.Contains(b.Text, "&lt;") || strings.Contains(b.Text, "&#39;") {
					t.Errorf("button label %q is HTML-escaped; labels are plain text", b.Text)
				}
			}
		}
	}
}

var htmlTagRE = regexp.MustCompile(`</?([a-zA-Z]+)[^>]*>`)

var allowedTags = map[string]bool{"b": true, "i": true, "a": true, "code": true}

func (c *chat) send(text string) []bot.Reply {
	c.t.Helper()
	ev := c.event()
	ev.Text = text
	return c.handle(ev)
}

// sendFile sends a photo or document with an optional caption.
func (c *chat) sendFile(kind, fileID, name, caption string) []bot.Reply {
	c.t.Helper()
	ev := c.event()
	ev.Text = caption
	ev.Attachment = &bot.Attachment{Kind: kind, FileID: fileID, Name: name}
	return c.handle(ev)
}

// button finds a button of the menu on screen by its exact label, or else
// by a label that contains label.
func (c *chat) button(label string) bot.Button {
	c.t.Helper()
	if c.menu == nil {
		c.t.Fatalf("no menu on screen to press %q", label)
	}
	var found []bot.Button
	for _, row := range c.menu.Buttons {
		for _, b := range row {
			if b.Text == label {
				return b
			}
			if strings.Contains(b.Text, label) {
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("want one button %q, found %d among %v", label, len(found), c.labels())
	}
	return found[0]
}

func (c *chat) press(label string) []bot.Reply {
	c.t.Helper()
	return c.pressPayload(c.button(label).Payload)
}

func (c *chat) pressPayload(p string) []bot.Reply {
	c.t.Helper()
	ev := c.event()
	ev.Payload = p
	ev.MenuID = "menu-1"
	return c.handle(ev)
}

// report goes through a whole report without evidence: /report N, the
// value, Skip and Save.
func (c *chat) report(indicator int, value string) {
	c.t.Helper()
	c.send("/report " + strconv.Itoa(indicator))
	c.send(value)
	c.press("Пропустити")
	c.press("💾 Зберегти")
	c.expect("✅ Звіт збережено")
}

// labels lists the button labels of the menu on screen.
func (c *chat) labels() []string {
	if c.menu == nil {
		return nil
	}
	var out []string
	for _, row := range c.menu.Buttons {
		for _, b := range row {
			out = append(out, b.Text)
		}
	}
	return out
}

// text is the text of the latest replies.
func (c *chat) text() string {
	var parts []string
	for _, r := range c.last {
		parts = append(parts, r.Text)
	}
	return strings.Join(parts, "\n---\n")
}

// expect asserts that the latest replies contain every part.
func (c *chat) expect(parts ...string) {
	c.t.Helper()
	got := c.text()
	for _, p := range parts {
		if !strings.Contains(got, p) {
			c.t.Errorf("reply does not contain %q:\n%s", p, got)
		}
	}
}

// expectNot asserts that the latest replies contain none of parts.
func (c *chat) expectNot(parts ...string) {
	c.t.Helper()
	got := c.text()
	for _, p := range parts {
		if strings.Contains(got, p) {
			c.t.Errorf("reply contains %q:\n%s", p, got)
		}
	}
}

// expectButtons asserts that the latest replies carry buttons with these
// exact labels.
func (c *chat) expectButtons(labels ...string) {
	c.t.Helper()
	var have []string
	for _, r := range c.last {
		for _, row := range r.Buttons {
			for _, b := range row {
				have = append(have, b.Text)
			}
		}
	}
	for _, l := range labels {
		if !slices.Contains(have, l) {
			c.t.Errorf("no button %q among %q", l, have)
		}
	}
}

const staleText = "Це меню застаріло"
