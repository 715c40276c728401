package recordtest

import (
	"context"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
)

func testCreateCommunity(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		c := &hromadabot.Community{Name: " Бучанська ", Oblast: "Київська", Code: "UA32080070000050759", Population: 58286}
		if err := db.CreateCommunity(ctx, c, "cli"); err != nil {
			t.Fatal(err)
		}
		if c.ID == 0 || !c.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("ID = %d, CreatedAt = %v; want an id and %v", c.ID, c.CreatedAt, clock.Now())
		}
		got, err := db.Community(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Бучанська" || got.Code != c.Code || got.Population != 58286 || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("stored %+v, want %+v", got, c)
		}
		e := LastAudit(t, db)
		if e.Action != "community.create" || e.Actor != "cli" || e.EntityID != itoa(c.ID) || !strings.Contains(e.NewValue, "Бучанська (Київська обл.)") {
			t.Fatalf("audit = %+v", e)
		}
	})

	t.Run("OKSameNameOtherOblast", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		MustCreateCommunity(t, db, "Миколаївська", "Одеська")
		MustCreateCommunity(t, db, "Миколаївська", "Сумська")
		if n, _ := db.CountCommunities(ctx); n != 2 {
			t.Fatalf("count = %d, want 2", n)
		}
	})

	for _, tc := range []struct {
		name, reason, code string
		c                  hromadabot.Community
	}{
		{"ErrNameRequired", "community_name_required", hromadabot.EINVALID, hromadabot.Community{Name: "  ", Oblast: "Київська"}},
		{"ErrNameOnlyNoise", "community_name_invalid", hromadabot.EINVALID, hromadabot.Community{Name: "міська громада"}},
		{"ErrNameTooLong", "community_name_too_long", hromadabot.EINVALID, hromadabot.Community{Name: strings.Repeat("я", 101)}},
		{"ErrSameNameOblast", "community_exists", hromadabot.ECONFLICT, hromadabot.Community{Name: "Бучанська", Oblast: "Київська"}},
		{"ErrSameNameOtherCaseAndWords", "community_exists", hromadabot.ECONFLICT, hromadabot.Community{Name: "бучанська міська громада", Oblast: "київська"}},
		{"ErrSameKATOTTG", "community_exists", hromadabot.ECONFLICT, hromadabot.Community{Name: "Інша", Oblast: "Львівська", Code: "UA32080070000050759"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t, e)
			first := &hromadabot.Community{Name: "Бучанська", Oblast: "Київська", Code: "UA32080070000050759"}
			if err := db.CreateCommunity(ctx, first, "cli"); err != nil {
				t.Fatal(err)
			}
			audits := AuditCount(t, db)
			c := tc.c
			AssertError(t, db.CreateCommunity(ctx, &c, "cli"), tc.code, tc.reason)
			if n, _ := db.CountCommunities(ctx); n != 1 {
				t.Fatalf("count = %d after a failed create, want 1", n)
			}
			if AuditCount(t, db) != audits {
				t.Fatal("a failed create wrote an audit row")
			}
		})
	}
}

func testLoadHromadas(t *testing.T, e Engine) {
	ctx := context.Background()
	all, err := hromadabot.Hromadas()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OKIdempotent", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		added, err := db.LoadHromadas(ctx, all, "cli")
		if err != nil || added != len(all) {
			t.Fatalf("first load added %d, %v; want %d", added, err, len(all))
		}
		if e := LastAudit(t, db); e.Action != "community.load" || !strings.Contains(e.NewValue, "1469 added") {
			t.Fatalf("audit = %+v", e)
		}
		audits := AuditCount(t, db)
		added, err = db.LoadHromadas(ctx, all, "cli")
		if err != nil || added != 0 {
			t.Fatalf("second load added %d, %v; want 0", added, err)
		}
		if n, _ := db.CountCommunities(ctx); n != len(all) {
			t.Fatalf("count = %d, want %d", n, len(all))
		}
		if AuditCount(t, db) != audits {
			t.Fatal("a load that changed nothing wrote an audit row")
		}
	})

	t.Run("OKUpdatesChanged", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		cs := append([]hromadabot.Community(nil), all[:10]...)
		if _, err := db.LoadHromadas(ctx, cs, "cli"); err != nil {
			t.Fatal(err)
		}
		cs[3].Population = 12345
		added, err := db.LoadHromadas(ctx, cs, "cli")
		if err != nil || added != 0 {
			t.Fatalf("added %d, %v", added, err)
		}
		got, err := db.FindCommunity(ctx, cs[3].Code)
		if err != nil || got.Population != 12345 {
			t.Fatalf("population = %v, %v; want 12345", got, err)
		}
		if e := LastAudit(t, db); !strings.Contains(e.NewValue, "1 updated") {
			t.Fatalf("audit = %+v", e)
		}
	})

	t.Run("OKAdoptsHandAdded", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		hand := MustCreateCommunity(t, db, "Бучанська", "Київська")
		var bucha []hromadabot.Community
		for _, c := range all {
			if c.Name == "Бучанська" {
				bucha = append(bucha, c)
			}
		}
		added, err := db.LoadHromadas(ctx, bucha, "cli")
		if err != nil || added != 0 {
			t.Fatalf("added %d, %v; want the hand-added community to take the code", added, err)
		}
		got, err := db.Community(ctx, hand.ID)
		if err != nil || got.Code != "UA32080070000050759" || got.Center != "Буча" {
			t.Fatalf("hand-added community = %+v, %v", got, err)
		}
	})

	t.Run("ErrRowWithoutCode", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		cs := append([]hromadabot.Community(nil), all[:5]...)
		cs[2].Code = ""
		_, err := db.LoadHromadas(ctx, cs, "cli")
		AssertError(t, err, hromadabot.EINVALID, "community_code_required")
		if !strings.HasPrefix(err.Error(), "row 3: ") {
			t.Fatalf("error %q does not name row 3", err)
		}
		if n, _ := db.CountCommunities(ctx); n != 0 {
			t.Fatalf("count = %d after a failed load, want 0", n)
		}
	})

	t.Run("ErrRowWithoutName", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		cs := append([]hromadabot.Community(nil), all[:5]...)
		cs[4].Name = ""
		_, err := db.LoadHromadas(ctx, cs, "cli")
		AssertError(t, err, hromadabot.EINVALID, "community_name_required")
		if !strings.HasPrefix(err.Error(), "row 5: ") {
			t.Fatalf("error %q does not name row 5", err)
		}
		if n, _ := db.CountCommunities(ctx); n != 0 {
			t.Fatalf("count = %d after a failed load, want 0", n)
		}
	})
}

func testCommunity(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	c := MustCreateCommunity(t, db, "Бучанська", "Київська")

	t.Run("OK", func(t *testing.T) {
		got, err := db.Community(ctx, c.ID)
		if err != nil || got.Name != "Бучанська" {
			t.Fatalf("Community = %+v, %v", got, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := db.Community(ctx, c.ID+100)
		AssertError(t, err, hromadabot.ENOTFOUND, "community_not_found")
	})
}

func testCommunities(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	// Code-point order would put І and Ґ elsewhere.
	for _, n := range [][2]string{
		{"Яблунівська", "Чернігівська"}, {"Іршавська", "Закарпатська"}, {"Ґалаґанівська", "Чернігівська"},
		{"Гадяцька", "Полтавська"}, {"Яблунівська", "Івано-Франківська"}, {"Єланецька", "Миколаївська"},
	} {
		MustCreateCommunity(t, db, n[0], n[1])
	}
	cs, err := db.Communities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.Label())
	}
	want := []string{
		"Гадяцька (Полтавська обл.)", "Ґалаґанівська (Чернігівська обл.)", "Єланецька (Миколаївська обл.)",
		"Іршавська (Закарпатська обл.)", "Яблунівська (Івано-Франківська обл.)", "Яблунівська (Чернігівська обл.)",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("order:\n got %v\nwant %v", got, want)
	}
	if n, err := db.CountCommunities(ctx); err != nil || n != len(want) {
		t.Fatalf("CountCommunities = %d, %v", n, err)
	}
}

func testSearchCommunities(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	MustLoadHromadas(t, db)

	for _, tc := range []struct {
		name, query, first, oblast string
	}{
		{"OKCyrillicCentre", "Буча", "Бучанська", "Київська"},
		{"OKLatin", "Bucha", "Бучанська", "Київська"},
		{"OKLowerCase", "бучанська", "Бучанська", "Київська"},
		{"OKUpperCase", "БУЧАНСЬКА", "Бучанська", "Київська"},
		{"OKNoiseWords", "Бучанська міська територіальна громада", "Бучанська", "Київська"},
		{"OKApostropheTypewriter", "Кам'янська", "Кам’янська", "Дніпропетровська"},
		{"OKApostropheRight", "Кам’янська", "Кам’янська", "Дніпропетровська"},
		{"OKApostropheModifier", "Камʼянська", "Кам’янська", "Дніпропетровська"},
		{"OKApostropheMissing", "Камянська", "Кам’янська", "Дніпропетровська"},
		{"OKApostropheLatin", "Kamianska", "Кам’янська", "Дніпропетровська"},
		{"OKSelyshchna", "П'ятихатська селищна", "П’ятихатська", "Дніпропетровська"},
		{"OKNameAndOblast", "Миколаївська Одеська", "Миколаївська", "Одеська"},
		{"OKNameAndOblastLatin", "mykolaivska odeska", "Миколаївська", "Одеська"},
		{"OKPopulationBreaksTies", "Миколаївська", "Миколаївська", "Миколаївська"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := db.SearchCommunities(ctx, tc.query, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				t.Fatalf("%q found nothing", tc.query)
			}
			if cs[0].Name != tc.first || cs[0].Oblast != tc.oblast {
				t.Fatalf("%q: first = %s, want %s (%s обл.)", tc.query, cs[0].Label(), tc.first, tc.oblast)
			}
		})
	}

	t.Run("OKSeveralOblasts", func(t *testing.T) {
		cs, err := db.SearchCommunities(ctx, "Миколаївська", 0)
		if err != nil {
			t.Fatal(err)
		}
		oblasts := map[string]bool{}
		for _, c := range cs {
			if c.Name == "Миколаївська" {
				oblasts[c.Oblast] = true
			}
		}
		if len(oblasts) < 5 {
			t.Fatalf("Миколаївська found in %d oblasts, want several: %v", len(oblasts), oblasts)
		}
		// Exact names come before communities that only lie in Миколаївська oblast.
		seenOther := false
		for _, c := range cs {
			if c.Name != "Миколаївська" {
				seenOther = true
			} else if seenOther {
				t.Fatalf("%s ranked after a weaker match", c.Label())
			}
		}
	})

	t.Run("OKNarrowedByOblast", func(t *testing.T) {
		cs, err := db.SearchCommunities(ctx, "Миколаївська Одеська", 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range cs {
			if c.Name == "Миколаївська" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Миколаївська Одеська found %d communities named Миколаївська, want 1", n)
		}
	})

	t.Run("OKLimit", func(t *testing.T) {
		cs, err := db.SearchCommunities(ctx, "Миколаївська", 3)
		if err != nil || len(cs) != 3 {
			t.Fatalf("got %d, %v; want 3", len(cs), err)
		}
	})

	t.Run("OKNothingToSearch", func(t *testing.T) {
		for _, q := range []string{"", "   ", "громада", "%", "_"} {
			cs, err := db.SearchCommunities(ctx, q, 10)
			if err != nil || len(cs) != 0 {
				t.Fatalf("%q: got %d, %v; want none", q, len(cs), err)
			}
		}
	})

	t.Run("OKNoMatch", func(t *testing.T) {
		cs, err := db.SearchCommunities(ctx, "Атлантида", 10)
		if err != nil || len(cs) != 0 {
			t.Fatalf("got %v, %v; want none", cs, err)
		}
	})
}

// testSearchSeesOtherProcesses: search answers from memory, yet a
// community added, renamed or deleted through another connection to the
// database, as the CLI beside the bot does, is found (or not) at once.
func testSearchSeesOtherProcesses(t *testing.T, e Engine) {
	ctx := context.Background()
	bot, clock := MustOpenDB(t, e)
	cli := MustReopen(t, e, bot, clock)
	found := func(q string) int {
		t.Helper()
		cs, err := bot.SearchCommunities(ctx, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	if n := found("Буча"); n != 0 {
		t.Fatalf("empty database: %d found", n)
	}
	c := MustCreateCommunity(t, cli, "Бучанська", "Київська")
	if n := found("Буча"); n != 1 {
		t.Fatalf("after another process added it: %d found, want 1", n)
	}
	raw := e.Raw(t, bot)
	if _, err := raw.Exec(`UPDATE communities SET name = 'Ірпінська', search_key = 'irpinska' WHERE id = ?`, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := found("Буча"); n != 0 {
		t.Fatalf("after a rename: %d found under the old name", n)
	}
	if n := found("Ірпінь"); n != 1 {
		t.Fatalf("after a rename: %d found under the new name, want 1", n)
	}
	got, err := bot.FindCommunity(ctx, "Ірпінська")
	if err != nil || got.ID != c.ID {
		t.Fatalf("FindCommunity = %+v, %v", got, err)
	}
	got.Name = "змінено" // a caller's copy: later searches must not see it
	if again, err := bot.FindCommunity(ctx, "Ірпінська"); err != nil || again.Name != "Ірпінська" {
		t.Fatalf("FindCommunity after a caller changed its copy = %+v, %v", again, err)
	}
	if _, err := raw.Exec(`DELETE FROM communities WHERE id = ?`, c.ID); err != nil {
		t.Fatal(err)
	}
	if n := found("Ірпінь"); n != 0 {
		t.Fatalf("after a delete: %d found", n)
	}
}

// testPlanSeesOtherProcesses: plans are kept in memory too, yet own targets
// set through another connection count at once.
func testPlanSeesOtherProcesses(t *testing.T, e Engine) {
	ctx := context.Background()
	bot, clock := MustOpenDB(t, e)
	cli := MustReopen(t, e, bot, clock)
	c := MustCreateCommunity(t, cli, "Бучанська", "Київська")
	MustCreateReport(t, cli, c.ID, 1, 50, 0)
	before, err := bot.Score(ctx, c.ID, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{1: {2025: 50}}, "cli"); err != nil {
		t.Fatal(err)
	}
	plan, err := bot.Plan(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ind, _ := plan.Indicator(1); ind.Targets[2025] != 50 {
		t.Fatalf("plan after another process set a target: %v, want 2025=50", ind.Targets)
	}
	after, err := bot.Score(ctx, c.ID, 2025)
	if err != nil {
		t.Fatal(err)
	}
	if after.PlanFulfillment == before.PlanFulfillment {
		t.Fatalf("plan fulfilment stayed %v after the target changed", after.PlanFulfillment)
	}
	changed := plan.Clone() // the plan is shared: a caller changes a clone
	changed.Indicators[0].Targets[2025] = 1
	again, _ := bot.Plan(ctx, c.ID)
	if ind, _ := again.Indicator(1); ind.Targets[2025] != 50 {
		t.Fatalf("a change to a clone reached the kept plan: %v", ind.Targets)
	}
	if _, err := bot.Plan(ctx, c.ID+1000); hromadabot.ErrorCode(err) != hromadabot.ENOTFOUND {
		t.Fatalf("plan of an unknown community: %v, want ENOTFOUND", err)
	}
}

func testFindCommunity(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	MustLoadHromadas(t, db)
	bucha, err := db.FindCommunity(ctx, "UA32080070000050759")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, ref string }{
		{"OKByID", itoa(bucha.ID)},
		{"OKByKATOTTG", "UA32080070000050759"},
		{"OKByKATOTTGLowerCase", "ua32080070000050759"},
		{"OKByCentre", "Буча"},
		{"OKByName", "Бучанська громада"},
		{"OKByLatin", "  bucha "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := db.FindCommunity(ctx, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != bucha.ID {
				t.Fatalf("%q found %s, want %s", tc.ref, c.Label(), bucha.Label())
			}
		})
	}

	t.Run("OKNarrowedByOblast", func(t *testing.T) {
		c, err := db.FindCommunity(ctx, "Миколаївська Одеська")
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Миколаївська" || c.Oblast != "Одеська" {
			t.Fatalf("found %s", c.Label())
		}
	})

	t.Run("ErrAmbiguous", func(t *testing.T) {
		_, err := db.FindCommunity(ctx, "Миколаївська")
		AssertError(t, err, hromadabot.EINVALID, "community_ambiguous")
		msg := err.Error()
		if strings.Count(msg, "Миколаївська (") != 5 || !strings.Contains(msg, "обл.)") || !strings.Contains(msg, "more") {
			t.Fatalf("message %q should list five labels with oblast and say there are more", msg)
		}
	})

	for _, tc := range []struct{ name, ref, code, reason string }{
		{"ErrUnknownName", "Атлантида", hromadabot.ENOTFOUND, "community_not_found"},
		{"ErrUnknownID", "999999", hromadabot.ENOTFOUND, "community_not_found"},
		{"ErrUnknownKATOTTG", "UA00000000000000000", hromadabot.ENOTFOUND, "community_not_found"},
		{"ErrEmpty", "  ", hromadabot.EINVALID, "community_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.FindCommunity(ctx, tc.ref)
			AssertError(t, err, tc.code, tc.reason)
		})
	}
}
