package recordtest

import (
	"context"
	"reflect"
	"testing"

	"github.com/hromadabot/hromadabot"
)

func testPlan(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	c := MustCreateCommunity(t, db, "Бучанська", "Київська")

	t.Run("OKDefault", func(t *testing.T) {
		p, err := db.Plan(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := hromadabot.DefaultPlan(); !reflect.DeepEqual(*p, want) {
			t.Fatal("a community without own targets does not get the default plan")
		}
		changed := p.Clone()
		changed.Indicators[0].Targets[2025] = 1
		p2, _ := db.Plan(ctx, c.ID)
		if !reflect.DeepEqual(*p2, hromadabot.DefaultPlan()) {
			t.Fatal("changing a clone of the returned plan changed the stored one")
		}
	})

	t.Run("ErrUnknownCommunity", func(t *testing.T) {
		_, err := db.Plan(ctx, c.ID+1)
		AssertError(t, err, hromadabot.ENOTFOUND, "community_not_found")
	})
}

func testSetCommunityTargets(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		other := MustCreateCommunity(t, db, "Ірпінська", "Київська")
		own := map[int]hromadabot.Targets{
			1:  {2025: 50, 2026: 50},
			11: {2026: 1},
		}
		if err := db.SetCommunityTargets(ctx, c.ID, own, "cli"); err != nil {
			t.Fatal(err)
		}
		p, err := db.Plan(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		def := hromadabot.DefaultPlan()
		for _, ind := range p.Indicators {
			want := def.Indicators[ind.ID-1].Targets
			if o, ok := own[ind.ID]; ok {
				want = o
			}
			if !reflect.DeepEqual(ind.Targets, want) {
				t.Fatalf("indicator %d targets = %v, want %v", ind.ID, ind.Targets, want)
			}
			if ind.Title != def.Indicators[ind.ID-1].Title {
				t.Fatalf("indicator %d lost its title", ind.ID)
			}
		}
		if po, _ := db.Plan(ctx, other.ID); !reflect.DeepEqual(*po, def) {
			t.Fatal("another community's plan changed")
		}
		es, _ := db.AuditLog(ctx, 2)
		if len(es) != 2 || es[0].Action != "plan.set_targets" || es[0].EntityID != itoa(c.ID)+"/11" ||
			es[0].OldValue != "2025=1 2026=1 2027=1" || es[0].NewValue != "2026=1" ||
			es[1].EntityID != itoa(c.ID)+"/1" || es[1].OldValue != "2025=33.3 2026=33.3 2027=33.4" || es[1].NewValue != "2025=50 2026=50" {
			t.Fatalf("audit = %+v", es)
		}
	})

	t.Run("OKEmptyResetsToDefault", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		if err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{1: {2025: 100}}, "cli"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{1: {}}, "cli"); err != nil {
			t.Fatal(err)
		}
		p, _ := db.Plan(ctx, c.ID)
		if !reflect.DeepEqual(*p, hromadabot.DefaultPlan()) {
			t.Fatal("empty targets did not return the indicator to the default")
		}
	})

	t.Run("OKUnchangedNotAudited", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		audits := AuditCount(t, db)
		def := hromadabot.DefaultPlan()
		if err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{1: def.Indicators[0].Targets}, "cli"); err != nil {
			t.Fatal(err)
		}
		if AuditCount(t, db) != audits {
			t.Fatal("setting the targets a community already has wrote an audit row")
		}
	})

	for _, tc := range []struct {
		name, code, reason string
		own                map[int]hromadabot.Targets
	}{
		{"ErrUnknownIndicator", hromadabot.ENOTFOUND, "indicator_not_found", map[int]hromadabot.Targets{1: {2025: 50}, 24: {2025: 50}}},
		{"ErrShareOutOfRange", hromadabot.EINVALID, "target_invalid", map[int]hromadabot.Targets{1: {2025: 150}}},
		{"ErrShareNegative", hromadabot.EINVALID, "target_invalid", map[int]hromadabot.Targets{1: {2025: -1}}},
		{"ErrSharesOver100", hromadabot.EINVALID, "target_invalid", map[int]hromadabot.Targets{1: {2025: 50}, 2: {2025: 60, 2026: 50}}},
		{"ErrYesNoTarget", hromadabot.EINVALID, "target_invalid", map[int]hromadabot.Targets{11: {2025: 0.5}}},
		{"ErrYearOutOfRange", hromadabot.EINVALID, "target_invalid", map[int]hromadabot.Targets{1: {1999: 50}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t, e)
			c := MustCreateCommunity(t, db, "Бучанська", "Київська")
			audits := AuditCount(t, db)
			AssertError(t, db.SetCommunityTargets(ctx, c.ID, tc.own, "cli"), tc.code, tc.reason)
			p, _ := db.Plan(ctx, c.ID)
			if !reflect.DeepEqual(*p, hromadabot.DefaultPlan()) {
				t.Fatal("a failed SetCommunityTargets changed the plan")
			}
			if AuditCount(t, db) != audits {
				t.Fatal("a failed SetCommunityTargets wrote an audit row")
			}
		})
	}

	t.Run("ErrUnknownCommunity", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		err := db.SetCommunityTargets(ctx, 42, map[int]hromadabot.Targets{1: {2025: 50}}, "cli")
		AssertError(t, err, hromadabot.ENOTFOUND, "community_not_found")
	})

	t.Run("ErrActorRequired", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{1: {2025: 50}}, "")
		AssertError(t, err, hromadabot.EINVALID, "actor_required")
		p, _ := db.Plan(ctx, c.ID)
		if !reflect.DeepEqual(*p, hromadabot.DefaultPlan()) {
			t.Fatal("a change without an actor was stored")
		}
	})
}
