package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	"github.com/hromadabot/hromadabot/bot/vibertest"
)

// The paths -channel measures.
const (
	channelTelegram        = "telegram"
	channelViber           = "viber"
	channelTelegramWebhook = "telegram-webhook"
	channelBoth            = "both"
	channelSite            = "site"
)

var channels = []string{channelTelegram, channelViber, channelTelegramWebhook, channelBoth, channelSite}

// Names of the webhook paths, in the tables.
const (
	pathTelegram = "Telegram webhook"
	pathViber    = "Viber"
)

const (
	// webhookSecret is the secret_token of the bot's Telegram webhook.
	webhookSecret = "loadtest-webhook-secret"
	// stepDrainLimit bounds the wait between two steps for the last one's
	// callbacks to be answered, so that a step starts on an idle bot.
	stepDrainLimit = time.Minute
	// webhookConns is how many idle connections the fakes keep to the
	// bot: more than the callbacks in flight, so that none is closed and
	// dialled again under load.
	webhookConns = 256
)

// pathsOf says which webhook paths a -channel value measures.
func pathsOf(channel string) (telegram, viber bool) {
	switch channel {
	case channelViber:
		return false, true
	case channelTelegramWebhook:
		return true, false
	case channelBoth:
		return true, true
	}
	return false, false
}

// stepAt returns the step offered rate, nil if none was.
func stepAt(steps []*step, rate float64) *step {
	if i := slices.IndexFunc(steps, func(s *step) bool { return s.offered == rate }); i >= 0 {
		return steps[i]
	}
	return nil
}

// comparison is the Viber path against the Telegram webhook's.
type comparison struct {
	// ratio is the most Viber answered in a step over the most the
	// Telegram webhook answered.
	ratio           float64
	viber, telegram float64
	// bothKeptUp is set when both kept up with every step offered: the
	// ratio then is of the load offered, not of their ceilings.
	bothKeptUp bool
}

func compare(telegram, viber []*step, offered int) comparison {
	c := comparison{telegram: capacity(telegram), viber: capacity(viber)}
	c.ratio = c.viber / max(c.telegram, 1)
	all := func(steps []*step) bool {
		return len(steps) == offered && !slices.ContainsFunc(steps, func(s *step) bool { return !s.sustained() })
	}
	c.bothKeptUp = all(telegram) && all(viber)
	return c
}

// measureChannels measures the bot on its webhooks: Viber's, Telegram's,
// or both, on one bot taking turns at every step, each path's step on an
// otherwise idle bot. The bot's Redis keys are deleted afterwards.
func measureChannels(ctx context.Context, o options, out io.Writer, dir string, redis *goredis.Client) error {
	withTelegram, withViber := pathsOf(o.channel)
	bin := o.bot
	if bin == "" {
		fmt.Fprintln(out, "Building cmd/hromadabot...")
		var err error
		if bin, err = buildBot(ctx, dir); err != nil {
			return err
		}
	}
	nCDTO := int(float64(o.users)*o.cdtoShare + 0.5)
	paths := 0
	if withTelegram {
		paths++
	}
	if withViber {
		paths++
	}
	dbPath := filepath.Join(dir, "hromada.db")
	fmt.Fprintf(out, "Preparing %s: all communities, %d invite codes...\n", dbPath, paths*nCDTO)
	names, invites, err := prepareDB(ctx, dbPath, paths*nCDTO)
	if err != nil {
		return fmt.Errorf("prepare database: %w", err)
	}
	w := &world{plan: hromadabot.DefaultPlan(), values: map[[2]int64]int{}, names: names}
	prefix := "hromadabot-loadtest:" + rand.Text()[:12] + ":"
	err = runChannels(ctx, o, out, bin, dir, dbPath, prefix, redis, w, invites, withTelegram, withViber)
	if n, cerr := cleanRedis(context.WithoutCancel(ctx), redis, prefix); cerr != nil {
		fmt.Fprintf(out, "Redis clean-up under %q failed after %d keys: %v\n", prefix, n, cerr)
	} else {
		fmt.Fprintf(out, "Deleted the %d Redis keys under %q.\n\n", n, prefix)
	}
	return err
}

// people makes the o.users people of one path, CDTOs among them taking
// their invites in turn; mk sets each one's id.
func people(o options, invites []invite, mk func(u *user)) ([]*user, int) {
	users := make([]*user, o.users)
	n := 0
	for i := range users {
		u := &user{tg: telegramtest.User{FirstName: "Мешканець", LanguageCode: "uk"}, index: i}
		if int(float64(i+1)*o.cdtoShare) > int(float64(i)*o.cdtoShare) {
			u.kind, u.stage, u.code, u.community = cdto, stageJoin, invites[n].code, invites[n].community
			u.tg.FirstName = "CDTO"
			n++
		}
		mk(u)
		users[i] = u
	}
	return users, n
}

func runChannels(ctx context.Context, o options, out io.Writer, bin, dir, dbPath, prefix string, redis *goredis.Client,
	w *world, invites []invite, withTelegram, withViber bool) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	env := []string{
		"DATABASE_PATH=" + dbPath,
		"REDIS_URL=" + o.redisURL,
		"REDIS_PREFIX=" + prefix,
		"HTTP_ADDR=" + addr,
		"LOG_LEVEL=warn",
		"SEND_RATE=off",
		"REMINDER_CRON=0 3 1 1 *",
		"DIGEST_CRON=0 3 1 1 *",
	}
	var tg *telegramtest.Server
	if withTelegram {
		// The fake Bot API posts to the webhook with Go's default transport,
		// which keeps two idle connections to a host: under load nearly
		// every update would dial anew. The harness keeps as many as the
		// Viber fake does.
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t.MaxIdleConnsPerHost = webhookConns
		}
		tg = telegramtest.New(telegramtest.Options{Token: token, RecordLimit: recordLimit, HistoryLimit: historyLimit, AllowHTTPWebhook: true})
		defer tg.Close()
		env = append(env, "TELEGRAM_TOKEN="+token, "TELEGRAM_API_URL="+tg.URL(),
			"TELEGRAM_WEBHOOK_URL=http://"+addr+"/telegram", "TELEGRAM_WEBHOOK_SECRET="+webhookSecret)
	}
	var vb *vibertest.Server
	if withViber {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = webhookConns
		client := &http.Client{Transport: t, Timeout: max(6*o.timeout, time.Minute)}
		defer client.CloseIdleConnections()
		vb = vibertest.New(vibertest.Options{HistoryLimit: viberHistory, HTTPClient: client})
		defer vb.Close()
		env = append(env, "VIBER_TOKEN="+vb.Token(), "VIBER_API_URL="+vb.URL(), "VIBER_WEBHOOK_URL=http://"+addr+"/viber")
	}
	bot, err := start("bot", bin, []string{"run"}, env, filepath.Join(dir, "bot.log"))
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			bot.stop(30 * time.Second)
		}
	}()
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	bot.metrics = "http://" + addr + "/metrics"
	if err := bot.waitReady(readyCtx, "http://"+addr+"/readyz"); err != nil {
		return err
	}
	if err := waitWebhooks(readyCtx, tg, vb); err != nil {
		return fmt.Errorf("%w\n%s", err, bot.tail(20))
	}

	var td *driver
	var vd *viberDriver
	rest := invites
	if withTelegram {
		users, n := people(o, rest, func(u *user) { u.tg.ID = userBase + int64(u.index) })
		rest = rest[n:]
		td = newDriver(tg, w, o.timeout)
		td.add(users)
		fmt.Fprintf(out, "%s: %d people, %d of them CDTOs, their updates posted to the bot's webhook, %d at once at most (max_connections).\n",
			pathTelegram, len(users), n, tg.Webhook().MaxConnections)
	}
	if withViber {
		users, n := people(o, rest, func(u *user) {
			u.vid = viberID(u.index)
			vb.AddUser(vibertest.User{ID: u.vid, Name: u.tg.FirstName, Language: "uk"})
		})
		vd = newViberDriver(vb, w, o.timeout, users, o.viberConns)
		defer vd.close()
		fmt.Fprintf(out, "%s: %d people, %d of them CDTOs, their signed callbacks posted to the bot's webhook, %d at once at most (-viber-conns).\n",
			pathViber, len(users), n, o.viberConns)
	}
	fmt.Fprintf(out, "hromadabot run (pid %d); steps of %v, each path's on its own; timeout %v.\n", bot.proc.pid, o.stepDur, o.timeout)
	label := ""
	if withTelegram && withViber {
		label = fmt.Sprintf("%-*s", len(pathTelegram), pathViber)
	}
	pad := func(name string) string {
		if label == "" {
			return ""
		}
		return fmt.Sprintf("%-*s", len(label), name)
	}
	printStepHeader(out, label)

	var tSteps, vSteps []*step
	tDone, vDone := !withTelegram, !withViber
	for _, rate := range o.steps {
		if tDone && vDone {
			break
		}
		if ended, err := bot.exited(); ended {
			return fmt.Errorf("the bot exited (%v):\n%s", err, bot.tail(20))
		}
		if !tDone {
			s := measureStep(ctx, bot, redis, rate, func() *tally { return td.run(ctx, rate, o.stepDur, nil) })
			printStepLine(out, pad(pathTelegram), s)
			tSteps = append(tSteps, s)
			tDone = !s.sustained()
			if _, ok := td.drain(ctx, stepDrainLimit); !ok {
				fmt.Fprintf(out, "    %s: the step's backlog was not worked off within %v\n", pathTelegram, stepDrainLimit)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !vDone {
			s := measureStep(ctx, bot, redis, rate, func() *tally { return vd.run(ctx, rate, o.stepDur, nil) })
			printStepLine(out, pad(pathViber), s)
			vSteps = append(vSteps, s)
			vDone = !s.sustained()
			if _, ok := vd.drain(ctx, stepDrainLimit); !ok {
				fmt.Fprintf(out, "    %s: the step's callbacks were not all answered within %v\n", pathViber, stepDrainLimit)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	stopped = true
	if err := bot.stop(30 * time.Second); err != nil {
		return fmt.Errorf("bot: %w\n%s", err, bot.tail(20))
	}
	if n := countErrors(bot.log); n > 0 {
		fmt.Fprintf(out, "The bot logged %d errors; the last lines:\n%s\n", n, bot.tail(5))
	}
	fmt.Fprintln(out)
	printChannelSummary(out, o, tSteps, vSteps, withTelegram, withViber)
	return nil
}

// waitWebhooks waits until the bot has set its webhook at each fake.
func waitWebhooks(ctx context.Context, tg *telegramtest.Server, vb *vibertest.Server) error {
	for {
		tgSet := tg == nil || tg.Webhook().URL != ""
		vbSet := vb == nil
		if vb != nil {
			url, _ := vb.Webhook()
			vbSet = url != ""
		}
		if tgSet && vbSet {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("the bot set no webhook (Telegram set %v, Viber set %v)", tgSet, vbSet), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// printChannelSummary prints a table per path, then the Viber path against
// the Telegram webhook: the ratio of their most answered, and each one's
// p99 at 1,000 a second.
func printChannelSummary(out io.Writer, o options, tSteps, vSteps []*step, withTelegram, withViber bool) {
	fmt.Fprintln(out, "Summary (a step is kept up when at least 95% of its load is answered, none times out and under 1% of the answers are wrong)")
	table := func(name string, steps []*step) {
		fmt.Fprintf(out, "%s:\n", name)
		printStepHeader(out, "")
		for _, s := range steps {
			printStepLine(out, "", s)
		}
		if h := highest(steps); h != nil {
			fmt.Fprintf(out, "  highest step kept up %.0f/s (answered %.0f/s, p99 %s); most answered in a step %.0f/s\n", h.offered, h.answered, ms(h.p99), capacity(steps))
		} else {
			fmt.Fprintf(out, "  kept up with no step; most answered in a step %.0f/s\n", capacity(steps))
		}
	}
	if withTelegram {
		table(pathTelegram, tSteps)
	}
	if withViber {
		table(pathViber+" (latency to the bot's first message to the person, as the fake recorded it)", vSteps)
	}
	var ts []target
	if withTelegram && withViber {
		c := compare(tSteps, vSteps, len(o.steps))
		figure := fmt.Sprintf("%.2f (most answered in a step: Viber %.0f/s, Telegram webhook %.0f/s)", c.ratio, c.viber, c.telegram)
		if c.bothKeptUp {
			figure += "; both kept up with every step, so this is of the load offered, not of their ceilings"
		}
		fmt.Fprintf(out, "Viber / Telegram webhook: %s\n", figure)
		ts = append(ts, target{"the Viber path answers ≥ 0.9 of what the Telegram webhook path answers", c.ratio >= 0.9, figure})
	}
	p99 := func(name string, steps []*step) {
		s := stepAt(steps, 1000)
		what := fmt.Sprintf("%s: reply latency p99 ≤ 50 ms at 1,000/s", name)
		switch {
		case s != nil:
			ts = append(ts, target{what, s.sustained() && s.p99 <= 50*time.Millisecond,
				fmt.Sprintf("p99 %s (p50 %s), answered %.0f/s", ms(s.p99), ms(s.p50), s.answered)})
		case slices.Contains(o.steps, 1000):
			ts = append(ts, target{what, false, fmt.Sprintf("not reached: saturated at %.0f/s answered", capacity(steps))})
		}
	}
	if withViber {
		p99(pathViber, vSteps)
	}
	if withTelegram {
		p99(pathTelegram, tSteps)
	}
	printTargets(out, ts)
}
