package main_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	"github.com/hromadabot/hromadabot/broadcast"
	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// These tests start the real `hromadabot run` in-process against the fake
// Bot API server, on a real SQLite file and Redis (REDIS_URL when set,
// miniredis otherwise), and talk to it as people do.

const webhookSecret = "e2e-Secret_token"

// botEnv is the environment of one bot: a fresh database and dialog state,
// and Telegram on srv unless srv is nil.
func botEnv(t *testing.T, srv *telegramtest.Server) map[string]string {
	t.Helper()
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://" + miniredis.RunT(t).Addr()
	}
	env := map[string]string{
		"DATABASE_PATH": filepath.Join(t.TempDir(), "hromada.db"),
		"REDIS_URL":     redisURL,
		"REDIS_PREFIX":  "hromadabot-e2e:" + rand.Text() + ":",
		"DIALOG_TTL":    "10m",
		"HTTP_ADDR":     "127.0.0.1:0",
		"LOG_LEVEL":     "debug",
	}
	if srv != nil {
		env["TELEGRAM_TOKEN"], env["TELEGRAM_API_URL"] = srv.Token(), srv.URL()
	}
	return env
}

// fakeTelegram starts the fake Bot API and returns it with the environment
// of a bot using it.
func fakeTelegram(t *testing.T, opts telegramtest.Options) (*telegramtest.Server, map[string]string) {
	t.Helper()
	srv := telegramtest.New(opts)
	t.Cleanup(srv.Close)
	return srv, botEnv(t, srv)
}

// runningBot is one `hromadabot run` process, in-process.
type runningBot struct {
	cancel context.CancelFunc
	done   chan struct{}
	stderr string
	code   int
}

func startBot(t *testing.T, env map[string]string) *runningBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &runningBot{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		_, b.stderr, b.code = main.RunMain(ctx, []string{"run"}, nil, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// stop cancels the bot as SIGTERM would and returns its log.
func (b *runningBot) stop(t *testing.T) string {
	t.Helper()
	b.cancel()
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	if b.code != 0 {
		t.Fatalf("run exited %d:\n%s", b.code, b.stderr)
	}
	return b.stderr
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// convo is one person's chat with the bot.
type convo struct {
	t   *testing.T
	ctx context.Context
	srv *telegramtest.Server
	u   telegramtest.User
	// seen are the message versions (id → edits) already looked at.
	seen map[int]int
}

func newConvo(t *testing.T, srv *telegramtest.Server, id int64) *convo {
	return &convo{t: t, ctx: testContext(t), srv: srv, seen: map[int]int{},
		u: telegramtest.User{ID: id, FirstName: "Людина " + strconv.FormatInt(id, 10), LanguageCode: "uk"}}
}

func (c *convo) mark() {
	for _, m := range c.srv.Chat(c.u.ID) {
		c.seen[m.ID] = m.Edits
	}
}

// newBotMessages are the texts of the bot's messages new or edited since
// the last mark.
func (c *convo) newBotMessages() []string {
	var texts []string
	for _, m := range c.srv.Chat(c.u.ID) {
		if edits, old := c.seen[m.ID]; m.FromBot && (!old || m.Edits > edits) {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// waitHandled waits until every update the bot of env took is handled:
// Telegram's fake (srv, unless nil) has every update confirmed, which the
// poller does once the update is in the shared stream, and the channels'
// streams in Redis are empty, each entry handled and acknowledged,
// replies sent.
func waitHandled(t *testing.T, ctx context.Context, env map[string]string, srv *telegramtest.Server) {
	t.Helper()
	opts, err := goredis.ParseURL(env["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	for {
		keys, err := client.Keys(ctx, env["REDIS_PREFIX"]+"updates:*").Result()
		if err != nil {
			t.Fatalf("wait until handled: %v", err)
		}
		left := int64(0)
		for _, k := range keys {
			n, err := client.XLen(ctx, k).Result()
			if err != nil {
				t.Fatalf("wait until handled: %v", err)
			}
			left += n
		}
		if left == 0 && (srv == nil || len(srv.Pending()) == 0) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("wait until handled: %d updates left in the streams", left)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *convo) send(text string) int {
	c.mark()
	return c.srv.UserText(c.u, text)
}

func (c *convo) press(label string) int {
	c.t.Helper()
	c.mark()
	id, err := c.srv.UserClick(c.u, label)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

// expect waits for a new or edited bot message containing every part.
func (c *convo) expect(parts ...string) telegramtest.Message {
	c.t.Helper()
	var found telegramtest.Message
	_, err := c.srv.WaitChat(c.ctx, c.u.ID, func(msgs []telegramtest.Message) bool {
		for _, m := range msgs {
			if edits, old := c.seen[m.ID]; !m.FromBot || (old && m.Edits <= edits) {
				continue
			}
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(m.Text, p)
			}
			if ok {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		var texts []string
		for _, m := range telegramtest.BotMessages(c.srv.Chat(c.u.ID)) {
			texts = append(texts, m.Text)
		}
		c.t.Fatalf("no bot message with %q: %v\nchat:\n%s", parts, err, strings.Join(texts, "\n---\n"))
	}
	c.seen[found.ID] = found.Edits
	return found
}

// openDB opens the bot's database alongside the running bot.
func openDB(t *testing.T, env map[string]string) *sqldb.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), env["DATABASE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkLog fails when the bot's log holds a secret or a message text.
func checkLog(t *testing.T, log string, env map[string]string, texts ...string) {
	t.Helper()
	_, secret, _ := strings.Cut(env["TELEGRAM_TOKEN"], ":")
	for _, s := range append([]string{secret, webhookSecret}, texts...) {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("the log reveals %q", s)
		}
	}
}

func TestRunNeedsToken(t *testing.T) {
	_, stderr, code := main.RunMain(context.Background(), []string{"run"}, nil, func(k string) string {
		if k == "DATABASE_PATH" {
			return filepath.Join(t.TempDir(), "hromada.db")
		}
		return ""
	})
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "TELEGRAM_TOKEN") || !strings.Contains(stderr, "hromadabot demo") {
		t.Fatalf("exit %d, stderr %q: want one line naming TELEGRAM_TOKEN and the demo", code, stderr)
	}
}

// TestRunResident: /start is answered, and /score answers with the index
// and a photo.
func TestRunResident(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	b := startBot(t, env)

	c := newConvo(t, srv, 5550001)
	c.send("/start")
	c.expect("Вітаю!", "Оберіть мову")
	c.send("/score Буча")
	card := c.expect("Бучанська (Київська обл.)", "Цифровий індекс")
	if len(card.Photo) == 0 || !strings.HasPrefix(string(card.Photo), "\x89PNG") {
		t.Fatalf("the score card has no PNG chart (%d bytes)", len(card.Photo))
	}
	if err := srv.WaitDrained(c.ctx); err != nil {
		t.Fatal(err)
	}
	log := b.stop(t)
	if cmds := srv.Commands(""); len(cmds) == 0 || srv.Commands("en") == nil {
		t.Errorf("command menus uk=%v en=%v", cmds, srv.Commands("en"))
	}
	checkLog(t, log, env, "/score Буча")
}

// TestRunSharesSendLimits: with Redis, the replies and the broadcasts take
// their rate limits from it, under REDIS_PREFIX, so that every process of
// the bot keeps them together. It reads the keys from a miniredis of its
// own, where they do not expire while the test looks.
func TestRunSharesSendLimits(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	mr := miniredis.RunT(t)
	env["REDIS_URL"] = "redis://" + mr.Addr()
	b := startBot(t, env)

	c := newConvo(t, srv, 5560001)
	c.send("/start")
	c.expect("Вітаю!")
	db := openDB(t, env)
	u, err := db.UserByPlatform(c.ctx, hromadabot.PlatformTelegram, "5560001")
	if err != nil {
		t.Fatal(err)
	}
	u.Subscribed = true
	if err := db.UpdateUser(c.ctx, u, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := broadcast.Announce(c.ctx, db, broadcast.Announcement{Audience: broadcast.AudienceResidents, Text: "Новини громади", Now: true, Actor: "cli"}); err != nil {
		t.Fatal(err)
	}
	c.expect("Новини громади")
	b.stop(t)

	// redis_rate puts "rate:" before the bot's prefix.
	prefix := "rate:" + env["REDIS_PREFIX"]
	for _, key := range []string{"send:telegram", "chat:telegram:5560001", "broadcast:default"} {
		if !mr.Exists(prefix + key) {
			t.Errorf("no limit %s in Redis; keys: %v", key, mr.Keys())
		}
	}
}

// becomeCDTO makes the person the CDTO of Бучанська through an invite code
// created in storage, and returns the community's id.
func becomeCDTO(t *testing.T, c *convo, env map[string]string) (*sqldb.DB, int64) {
	t.Helper()
	c.send("/start")
	c.expect("Вітаю!")
	// The bot is up, with its migrations applied: share the database.
	db := openDB(t, env)
	community, err := db.FindCommunity(c.ctx, "Буча")
	if err != nil {
		t.Fatal(err)
	}
	code, err := db.CreateInvite(c.ctx, community.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	c.send("/join " + code)
	c.expect("Тепер ви — CDTO громади Бучанська")
	return db, community.ID
}

// reportUpToSummary walks the CDTO's report on indicator 1 up to the
// summary with its Save button.
func reportUpToSummary(c *convo) {
	c.send("/report")
	c.expect("Звіт громади Бучанська", "Оберіть індикатор")
	c.press("⚪ 1. Аналіз даних громади")
	c.expect("Введіть нове значення")
	c.send("55")
	c.expect("Додайте коментар")
	c.press("Пропустити")
	c.expect("Перевірте звіт:")
}

// saveUnconfirmed presses Save at the report's summary so that the bot
// handles it but can never confirm it: once every update so far is
// confirmed and the bot waits in a long poll, getUpdates stops reaching the
// server. It returns the press's update id.
func saveUnconfirmed(c *convo) int {
	c.t.Helper()
	if err := c.srv.WaitDrained(c.ctx); err != nil {
		c.t.Fatal(err)
	}
	if err := c.srv.WaitPolling(c.ctx); err != nil {
		c.t.Fatal(err)
	}
	c.srv.Inject("getUpdates", 1<<20, telegramtest.Disconnect())
	save := c.press("💾 Зберегти")
	c.expect("✅ Звіт збережено")
	return save
}

// TestRunCDTOReport: a CDTO joins with an invite code and reports; the
// report is stored once, deduplicated on the update of the Save press.
func TestRunCDTOReport(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	b := startBot(t, env)
	c := newConvo(t, srv, 5550002)
	db, community := becomeCDTO(t, c, env)
	reportUpToSummary(c)
	save := c.press("💾 Зберегти")
	c.expect("✅ Звіт збережено: 1. Аналіз даних громади — 55%")

	rs, err := db.Reports(c.ctx, hromadabot.ReportFilter{CommunityID: community})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].IndicatorID != 1 || rs[0].Value != 55 || rs[0].Source != "telegram" || rs[0].DedupKey != "telegram:"+strconv.Itoa(save) {
		t.Fatalf("stored reports %+v", rs)
	}
	if err := srv.WaitDrained(c.ctx); err != nil {
		t.Fatal(err)
	}
	log := b.stop(t)
	if ids := srv.Unanswered(); len(ids) != 0 {
		t.Errorf("button presses left unanswered: %v", ids)
	}
	checkLog(t, log, env)
}

// TestRunRestartMidDialog stops the bot in the middle of a report and starts
// it again on the same database and Redis: the dialog goes on.
func TestRunRestartMidDialog(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	b := startBot(t, env)
	c := newConvo(t, srv, 5550003)
	becomeCDTO(t, c, env)
	c.send("/report 1")
	c.expect("Введіть нове значення")
	b.stop(t)

	startBot(t, env)
	c.send("55")
	c.expect("Додайте коментар")
	c.press("Пропустити")
	c.expect("Перевірте звіт:", "55%")
}

// TestRunCrashBeforeConfirmation: the Save press is handled (the report
// stored) but its offset never reaches Telegram, as when the process is
// killed right after; the next start gets the update again. The report is
// stored once and the redelivered press is answered.
func TestRunCrashBeforeConfirmation(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	b := startBot(t, env)
	c := newConvo(t, srv, 5550004)
	db, community := becomeCDTO(t, c, env)
	reportUpToSummary(c)
	save := saveUnconfirmed(c)
	b.stop(t)
	if p := srv.Pending(); len(p) != 1 || p[0] != save {
		t.Fatalf("pending %v, want the handled but unconfirmed %d", p, save)
	}

	srv.Clear("getUpdates")
	c.mark()
	b2 := startBot(t, env)
	if err := srv.WaitDrained(c.ctx); err != nil {
		t.Fatal(err)
	}
	// The first process handled the press, replies and all: the shared
	// stream knows its key and takes the redelivery no more.
	waitHandled(t, c.ctx, env, srv)
	if again := c.newBotMessages(); len(again) != 0 {
		t.Errorf("the redelivered press was answered again: %q", again)
	}
	rs, err := db.Reports(c.ctx, hromadabot.ReportFilter{CommunityID: community})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].DedupKey != "telegram:"+strconv.Itoa(save) {
		t.Fatalf("stored %d reports %+v, want exactly one", len(rs), rs)
	}
	b2.stop(t)
	if ids := srv.Unanswered(); len(ids) != 0 {
		t.Errorf("button presses left unanswered: %v", ids)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestRunWebhook runs the bot in webhook mode: Telegram's deliveries with
// the secret are answered; a request with a wrong secret gets 401 and is
// not handled.
func TestRunWebhook(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{AllowHTTPWebhook: true, WebhookRetry: 20 * time.Millisecond})
	addr := "127.0.0.1:" + freePort(t)
	hook := "http://" + addr + "/telegram/webhook"
	env["HTTP_ADDR"] = addr
	env["TELEGRAM_WEBHOOK_URL"] = hook
	env["TELEGRAM_WEBHOOK_SECRET"] = webhookSecret
	b := startBot(t, env)

	c := newConvo(t, srv, 5550005)
	c.send("/start")
	c.expect("Вітаю!")
	if w := srv.Webhook(); w.URL != hook || w.Secret != webhookSecret {
		t.Fatalf("webhook %q with secret set %v", w.URL, w.Secret == webhookSecret)
	}

	forged := telegramtest.User{ID: 5550099, FirstName: "Mallory"}
	srv.AddUser(forged)
	body := `{"update_id":999999,"message":{"message_id":1,"date":1441645532,"from":{"id":5550099,"is_bot":false,"first_name":"Mallory"},"chat":{"id":5550099,"type":"private"},"text":"/start"}}`
	for _, secret := range []string{"", "wrong", webhookSecret[:len(webhookSecret)-1]} {
		req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("secret %q: status %d, want 401", secret, resp.StatusCode)
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	log := b.stop(t)
	if m := srv.Chat(forged.ID); len(telegramtest.BotMessages(m)) != 0 {
		t.Fatalf("a forged update was handled: %+v", m)
	}
	checkLog(t, log, env)
}

// TestRunBlockedUser: a reply refused with 403 marks the person blocked and
// unsubscribed.
func TestRunBlockedUser(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	b := startBot(t, env)
	c := newConvo(t, srv, 5550006)
	c.send("/start")
	c.expect("Вітаю!")
	db := openDB(t, env)
	srv.Block(c.u.ID)
	c.send("/score Буча")
	if err := srv.WaitDrained(c.ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing reaches the person to wait for: wait until the update left
	// the shared stream, handled.
	waitHandled(t, c.ctx, env, srv)
	b.stop(t)
	u, err := db.UserByPlatform(c.ctx, "telegram", strconv.FormatInt(c.u.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if !u.Blocked || u.Subscribed {
		t.Fatalf("user blocked=%v subscribed=%v, want blocked and unsubscribed", u.Blocked, u.Subscribed)
	}
}

func TestRunStartErrors(t *testing.T) {
	srv := telegramtest.New(telegramtest.Options{})
	defer srv.Close()
	tests := []struct {
		name string
		edit func(env map[string]string)
		want string
	}{
		{"ErrTokenRefused", func(env map[string]string) { env["TELEGRAM_TOKEN"] = "1:Wrong-secret_42" }, "TELEGRAM_TOKEN: Telegram refused the token"},
		{"ErrAPIUnreachable", func(env map[string]string) { env["TELEGRAM_API_URL"] = "http://127.0.0.1:" + freePort(t) }, "TELEGRAM_API_URL: cannot use the Bot API"},
		{"ErrRedisUnreachable", func(env map[string]string) { env["REDIS_URL"] = "redis://127.0.0.1:" + freePort(t) }, "REDIS_URL:"},
		{"ErrPortInUse", func(env map[string]string) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			env["HTTP_ADDR"] = ln.Addr().String()
		}, "HTTP_ADDR:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := botEnv(t, srv)
			tt.edit(env)
			_, stderr, code := main.RunMain(testContext(t), []string{"run"}, nil, func(k string) string { return env[k] })
			last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
			if code != 1 || !strings.HasPrefix(last, "hromadabot: "+tt.want) {
				t.Fatalf("exit %d, last line %q, want %q", code, last, tt.want)
			}
			checkLog(t, stderr, env)
		})
	}
}
