package recordtest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage"
)

func testCreateInvite(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OKStoredHashed", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		code, err := db.CreateInvite(ctx, c.ID, "telegram:1")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$`).MatchString(code) {
			t.Fatalf("code %q", code)
		}
		raw := e.Raw(t, db)
		var hash, createdBy string
		var expires time.Time
		if err := raw.QueryRow(`SELECT code_hash, created_by, expires_at FROM invites`).Scan(&hash, &createdBy, &expires); err != nil {
			t.Fatal(err)
		}
		if hash != hromadabot.HashInviteCode(code) || createdBy != "telegram:1" || !expires.Equal(clock.Now().Add(hromadabot.InviteTTL)) {
			t.Fatalf("stored hash %q by %q expiring %v", hash, createdBy, expires)
		}
		var leaks int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM audit WHERE old_value LIKE ? OR new_value LIKE ? OR entity_id LIKE ?`,
			"%"+code+"%", "%"+code+"%", "%"+code+"%").Scan(&leaks); err != nil {
			t.Fatal(err)
		}
		if leaks != 0 {
			t.Fatal("the invite code reached the audit log")
		}
		if e := LastAudit(t, db); e.Action != "invite.create" || e.Actor != "telegram:1" || !strings.Contains(e.NewValue, "community "+itoa(c.ID)) {
			t.Fatalf("audit = %+v", e)
		}
	})

	t.Run("OKCodesDiffer", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		a, _ := db.CreateInvite(ctx, c.ID, "cli")
		b, _ := db.CreateInvite(ctx, c.ID, "cli")
		if a == b {
			t.Fatal("two invites got the same code")
		}
	})

	t.Run("ErrUnknownCommunity", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		_, err := db.CreateInvite(ctx, 5, "cli")
		AssertError(t, err, hromadabot.ENOTFOUND, "community_not_found")
	})
}

func testAcceptInvite(t *testing.T, e Engine) {
	ctx := context.Background()

	setup := func(t *testing.T) (storage.Records, *Clock, *hromadabot.Community, string, *hromadabot.User) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		code, err := db.CreateInvite(ctx, c.ID, "cli")
		if err != nil {
			t.Fatal(err)
		}
		return db, clock, c, code, MustEnsureUser(t, db, "42")
	}

	t.Run("OK", func(t *testing.T) {
		db, _, c, code, u := setup(t)
		got, err := db.AcceptInvite(ctx, code, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Name != "Бучанська" {
			t.Fatalf("community = %+v", got)
		}
		stored, _ := db.User(ctx, u.ID)
		if !stored.IsCDTOOf(c.ID) {
			t.Fatalf("user = %+v, want CDTO of %d", stored, c.ID)
		}
		es, _ := db.AuditLog(ctx, 2)
		if es[0].Action != "user.update" || es[0].Actor != "telegram:42" || es[1].Action != "invite.accept" || es[1].Actor != "telegram:42" {
			t.Fatalf("audit = %+v", es)
		}
	})

	t.Run("OKTypedLoosely", func(t *testing.T) {
		db, _, c, code, u := setup(t)
		loose := " " + strings.ToLower(strings.ReplaceAll(code, "-", " ")) + " "
		if got, err := db.AcceptInvite(ctx, loose, u.ID); err != nil || got.ID != c.ID {
			t.Fatalf("AcceptInvite(%q) = %v, %v", loose, got, err)
		}
	})

	t.Run("OKJustBeforeExpiry", func(t *testing.T) {
		db, clock, _, code, u := setup(t)
		clock.Add(hromadabot.InviteTTL - time.Millisecond)
		if _, err := db.AcceptInvite(ctx, code, u.ID); err != nil {
			t.Fatal(err)
		}
	})

	for _, tc := range []struct {
		name, reason string
		prepare      func(t *testing.T, db storage.Records, clock *Clock, code string) string
	}{
		{"ErrUnknown", "invite_unknown", func(t *testing.T, _ storage.Records, _ *Clock, _ string) string { return "AAAA-BBBB-CCCC" }},
		{"ErrEmpty", "invite_unknown", func(t *testing.T, _ storage.Records, _ *Clock, _ string) string { return "" }},
		{"ErrExpired", "invite_expired", func(t *testing.T, _ storage.Records, clock *Clock, code string) string {
			clock.Add(hromadabot.InviteTTL)
			return code
		}},
		{"ErrUsed", "invite_used", func(t *testing.T, db storage.Records, _ *Clock, code string) string {
			first := MustEnsureUser(t, db, "41")
			if _, err := db.AcceptInvite(ctx, code, first.ID); err != nil {
				t.Fatal(err)
			}
			return code
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, clock, _, code, u := setup(t)
			code = tc.prepare(t, db, clock, code)
			audits := AuditCount(t, db)
			_, err := db.AcceptInvite(ctx, code, u.ID)
			AssertError(t, err, hromadabot.EINVALID, tc.reason)
			got, _ := db.User(ctx, u.ID)
			if got.Role != hromadabot.RoleResident || got.CommunityID != 0 {
				t.Fatalf("user changed by a refused invite: %+v", got)
			}
			if AuditCount(t, db) != audits {
				t.Fatal("a refused invite wrote an audit row")
			}
		})
	}

	t.Run("ErrUnknownUserKeepsInvite", func(t *testing.T) {
		db, _, c, code, u := setup(t)
		_, err := db.AcceptInvite(ctx, code, u.ID+100)
		AssertError(t, err, hromadabot.ENOTFOUND, "user_not_found")
		if got, err := db.AcceptInvite(ctx, code, u.ID); err != nil || got.ID != c.ID {
			t.Fatalf("the invite was used up by a failed accept: %v", err)
		}
	})
}
