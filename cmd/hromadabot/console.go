package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/console"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/chart"
	"github.com/hromadabot/hromadabot/dialogs"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/storage"
	"github.com/hromadabot/hromadabot/storage/memory"
)

// demoUser is who the demo's console user is: the CDTO of demoCommunity,
// and an admin, so that every flow can be tried at once.
const (
	demoUser      = "demo"
	demoCommunity = "Бучанська"
	demoActor     = hromadabot.PlatformConsole + ":" + demoUser
)

// demoReports are plausible reports of a few real communities (name →
// indicator → value), so that the ranking and the score cards have
// something to show. Бучанська leaves indicators open for the CDTO to report.
var demoReports = []struct {
	name, oblast string
	values       map[int]float64
}{
	{"Бучанська", "Київська", map[int]float64{1: 70, 2: 55.5, 3: 40, 4: 25, 6: 45, 8: 60, 10: 35, 11: 1, 12: 1, 17: 1, 21: 100, 22: 30}},
	{"Вінницька", "Вінницька", map[int]float64{1: 100, 2: 85, 3: 100, 4: 70, 5: 90, 6: 80, 7: 65, 8: 75, 9: 100, 10: 60, 11: 1, 12: 1, 13: 1, 14: 1, 16: 1, 19: 55, 20: 66.7, 21: 100, 23: 90.7}},
	{"Ірпінська", "Київська", map[int]float64{1: 50, 2: 40, 5: 37, 8: 33.3, 9: 42.9, 11: 1, 18: 88.6, 21: 50, 22: 20}},
	{"Славутицька", "Київська", map[int]float64{1: 33.3, 2: 20, 10: 15, 13: 1, 21: 45}},
	{"Яготинська", "Київська", map[int]float64{1: 10, 4: 5, 21: 25}},
	{"Львівська", "Львівська", map[int]float64{1: 90, 2: 100, 3: 77.8, 4: 68.75, 5: 100, 7: 81, 9: 100, 11: 1, 12: 1, 14: 1, 15: 1, 17: 1, 21: 100, 22: 95.6}},
}

// cmdDemo makes a demo database and opens a console chat on it as the
// demo CDTO.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo")
	keep := fs.String("db", "", "keep the demo database at `PATH` (a new file), or in an empty postgres:// database, instead of a temporary one")
	httpAddr := fs.String("http", "127.0.0.1:8080", "serve the public web site at `ADDR` (another free port when it is taken; \"off\" for none)")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	path := *keep
	if path == "" {
		dir, err := os.MkdirTemp("", "hromadabot-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "demo.db")
	} else if engine, _, _ := storage.Parse(path); engine == storage.EngineSQLite {
		if _, err := os.Stat(path); err == nil {
			return onFlag("--db", fmt.Errorf("%s exists; the demo makes a new database (use 'hromadabot console --db %s' to go on with it)", path, path))
		}
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.CountCommunities(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	} else if n > 0 {
		return onFlag("--db", fmt.Errorf("the database at %s holds %d communities; the demo makes a new database (use 'hromadabot console --db' to go on with it)", redactURL(path), n))
	}
	c, err := seedDemo(ctx, db)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	siteURL := "—"
	if *httpAddr != "off" {
		stop, addr, err := serveDemoSite(ctx, db, *httpAddr)
		if err != nil {
			return onFlag("--http", err)
		}
		defer stop()
		siteURL = "http://" + addr + "/"
	}
	fmt.Fprintf(e.stdout, demoIntro, c.Label(), siteURL)
	return chat(ctx, e, db, hromadabot.PlatformConsole, demoUser, []string{demoActor})
}

// serveDemoSite serves the public web site over the demo's database at
// addr, or at another free port of its host when addr is taken, and
// returns the address it took.
func serveDemoSite(ctx context.Context, db storage.Records, addr string) (stop func(), bound string, err error) {
	loc, err := locales.New()
	if err != nil {
		return nil, "", err
	}
	s, err := openSite(db, loc, "", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(addr)
		if splitErr != nil {
			return nil, "", err
		}
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return nil, "", err
		}
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, ln.Addr().String(), nil
}

const demoIntro = `hromadabot — демо в терміналі.
Тимчасова база: усі 1469 громад України і звіти кількох із них.
Ви — CDTO громади %s і адміністратор бота.
Публічний сайт індексу: %s

Спробуйте:
  /score Буча   — картка громади: індекс, місце, виконання плану
  /report       — звіт CDTO про поступ за індикатором
  /ranking      — рейтинг громад
  /broadcast    — оголошення для CDTO чи мешканців (лише зберігається: демо нічого не надсилає)
  /help         — усі команди
Кнопки пронумеровано: надішліть номер, щоб натиснути. Число як текст — з апострофом: '1.
Вихід — Ctrl+D.

`

// seedDemo loads every community, the demo reports and the demo CDTO, and
// returns the CDTO's community.
func seedDemo(ctx context.Context, db storage.Records) (*hromadabot.Community, error) {
	all, err := hromadabot.Hromadas()
	if err != nil {
		return nil, err
	}
	if _, err := db.LoadHromadas(ctx, all, demoActor); err != nil {
		return nil, fmt.Errorf("load communities: %w", err)
	}
	now := time.Now()
	var reports []hromadabot.Report
	var cdtoOf *hromadabot.Community
	for i, d := range demoReports {
		c, err := db.FindCommunity(ctx, d.name+" "+d.oblast)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", d.name, err)
		}
		if d.name == demoCommunity {
			cdtoOf = c
		}
		for id, v := range d.values {
			// Spread over the past weeks, so that an indicator's detail
			// has dates to show.
			at := now.Add(-time.Duration((id*7+i*3)%60+1) * 24 * time.Hour)
			reports = append(reports, hromadabot.Report{CommunityID: c.ID, IndicatorID: id, Value: v, Source: hromadabot.SourceImport, CreatedAt: at})
		}
	}
	if err := db.CreateReports(ctx, reports, demoActor); err != nil {
		return nil, fmt.Errorf("demo reports: %w", err)
	}
	u, err := db.EnsureUser(ctx, hromadabot.PlatformConsole, demoUser, hromadabot.LangUK)
	if err != nil {
		return nil, fmt.Errorf("demo user: %w", err)
	}
	code, err := db.CreateInvite(ctx, cdtoOf.ID, demoActor)
	if err != nil {
		return nil, fmt.Errorf("demo invite: %w", err)
	}
	if _, err := db.AcceptInvite(ctx, code, u.ID); err != nil {
		return nil, fmt.Errorf("demo CDTO: %w", err)
	}
	return cdtoOf, nil
}

// cmdConsole opens a console chat on a database as a given user.
func cmdConsole(ctx context.Context, e *env, args []string) error {
	fs := newFlags("console")
	path := dbFlag(fs, e)
	as := fs.String("as", hromadabot.PlatformConsole+":local", "chat as the user `PLATFORM:ID`, e.g. telegram:12345")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	platform, id, err := hromadabot.ParseUserRef(*as)
	if err != nil {
		return onFlag("--as", err)
	}
	var admins []string
	if v := strings.TrimSpace(e.getenv("ADMIN_IDS")); v != "" {
		if admins, err = parseAdminIDs(v); err != nil {
			return fmt.Errorf("ADMIN_IDS: %w", err)
		}
	}
	db, err := openDB(ctx, *path)
	if err != nil {
		return err
	}
	defer db.Close()
	return chat(ctx, e, db, platform, id, admins)
}

// chat runs the dialogs on db with in-memory dialog state, in a console
// as the given user. An admin's /broadcast stores its job in db, where the
// bot running on the same database sends it; the console sends nothing.
func chat(ctx context.Context, e *env, db storage.Records, platform, userID string, admins []string) error {
	loc, err := locales.New()
	if err != nil {
		return err
	}
	eng, err := dialogs.New(dialogs.Config{
		Store:   db,
		States:  memory.NewStateStore(0),
		Locales: loc,
		Admins:  admins,
		// The card's picture, as the other channels send it; the console
		// says it is there.
		Chart:     chart.NewCache(8).ScoreCard,
		Announcer: broadcast.Announcer{Store: db},
		Log:       slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	return console.New(eng, e.stdin, e.stdout, console.Options{
		Platform:    platform,
		UserID:      userID,
		Interactive: isTerminal(e.stdin),
	}).Run(ctx)
}

// isTerminal reports whether r is a terminal, where a person types; any
// other input is a script, read one message per line.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
