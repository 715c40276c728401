package recordtest

import (
	"context"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
)

func testEnsureUser(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OKFirstContact", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "12345", "en-US")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == 0 || u.Role != hromadabot.RoleResident || u.Language != hromadabot.LangEN || u.CommunityID != 0 ||
			u.Subscribed || u.Blocked || !u.CreatedAt.Equal(clock.Now()) || !u.LastSeenAt.Equal(clock.Now()) {
			t.Fatalf("user = %+v", u)
		}
		e := LastAudit(t, db)
		if e.Action != "user.create" || e.Actor != "telegram:12345" || e.NewValue != "language=en role=resident community=0 subscribed=false blocked=false" {
			t.Fatalf("audit = %+v", e)
		}
	})

	t.Run("OKContactWithinAMinuteWritesNothing", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		first, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "12345", "")
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(30 * time.Second)
		again, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "12345", "")
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID || !again.LastSeenAt.Equal(first.LastSeenAt) {
			t.Fatalf("again = %+v, want the first contact's last_seen_at %v kept", again, first.LastSeenAt)
		}
		clock.Add(time.Minute)
		later, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "12345", "")
		if err != nil {
			t.Fatal(err)
		}
		if !later.LastSeenAt.Equal(clock.Now()) {
			t.Fatalf("last_seen_at = %v after a minute, want %v", later.LastSeenAt, clock.Now())
		}
	})

	t.Run("OKLaterContact", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		first, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "12345", "")
		if err != nil {
			t.Fatal(err)
		}
		if first.Language != hromadabot.LangUK {
			t.Fatalf("language = %q, want uk by default", first.Language)
		}
		audits := AuditCount(t, db)
		clock.Add(time.Hour)
		again, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "12345", "en")
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID || again.Language != hromadabot.LangUK || !again.CreatedAt.Equal(first.CreatedAt) || !again.LastSeenAt.Equal(clock.Now()) {
			t.Fatalf("again = %+v, first = %+v", again, first)
		}
		if AuditCount(t, db) != audits {
			t.Fatal("a later contact wrote an audit row")
		}
	})

	t.Run("OKConcurrentFirstContact", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		ids := make([]int64, 10)
		RunConcurrently(t, len(ids), func(i int) error {
			u, err := db.EnsureUser(ctx, hromadabot.PlatformViber, "abc==", "uk")
			if err == nil {
				ids[i] = u.ID
			}
			return err
		})
		AssertSameIDs(t, ids)
		us, _ := db.Users(ctx, hromadabot.UserFilter{})
		if len(us) != 1 {
			t.Fatalf("%d users, want 1", len(us))
		}
	})

	for _, tc := range []struct{ name, platform, id string }{
		{"ErrUnknownPlatform", "icq", "1"},
		{"ErrEmptyID", hromadabot.PlatformTelegram, ""},
		{"ErrTelegramIDNotNumber", hromadabot.PlatformTelegram, "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t, e)
			_, err := db.EnsureUser(ctx, tc.platform, tc.id, "uk")
			AssertError(t, err, hromadabot.EINVALID, "user_ref_invalid")
			if us, _ := db.Users(ctx, hromadabot.UserFilter{}); len(us) != 0 {
				t.Fatal("a bad user was stored")
			}
		})
	}
}

func testUser(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	u := MustEnsureUser(t, db, "7")

	t.Run("OKByID", func(t *testing.T) {
		got, err := db.User(ctx, u.ID)
		if err != nil || got.Ref() != "telegram:7" {
			t.Fatalf("User = %+v, %v", got, err)
		}
	})
	t.Run("OKByPlatform", func(t *testing.T) {
		got, err := db.UserByPlatform(ctx, hromadabot.PlatformTelegram, "7")
		if err != nil || got.ID != u.ID {
			t.Fatalf("UserByPlatform = %+v, %v", got, err)
		}
	})
	t.Run("ErrNotFoundByID", func(t *testing.T) {
		_, err := db.User(ctx, u.ID+1)
		AssertError(t, err, hromadabot.ENOTFOUND, "user_not_found")
	})
	t.Run("ErrNotFoundByPlatform", func(t *testing.T) {
		_, err := db.UserByPlatform(ctx, hromadabot.PlatformViber, "7")
		AssertError(t, err, hromadabot.ENOTFOUND, "user_not_found")
	})
}

func testUpdateUser(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		u := MustEnsureUser(t, db, "7")
		clock.Add(time.Minute)
		u.Role, u.CommunityID, u.Subscribed, u.Language = hromadabot.RoleCDTO, c.ID, true, hromadabot.LangEN
		u.CreatedAt = time.Time{} // not stored by UpdateUser
		if err := db.UpdateUser(ctx, u, "cli"); err != nil {
			t.Fatal(err)
		}
		if u.CreatedAt.IsZero() {
			t.Fatal("u was not refreshed from the database")
		}
		got, _ := db.User(ctx, u.ID)
		if got.Role != hromadabot.RoleCDTO || got.CommunityID != c.ID || !got.Subscribed || got.Blocked || got.Language != hromadabot.LangEN {
			t.Fatalf("stored %+v", got)
		}
		e := LastAudit(t, db)
		if e.Action != "user.update" || e.Actor != "cli" || e.EntityID != itoa(u.ID) ||
			e.OldValue != "language=uk role=resident community=0 subscribed=false" ||
			e.NewValue != "language=en role=cdto community="+itoa(c.ID)+" subscribed=true" {
			t.Fatalf("audit = %+v", e)
		}

		audits := AuditCount(t, db)
		if err := db.UpdateUser(ctx, got, "cli"); err != nil {
			t.Fatal(err)
		}
		if AuditCount(t, db) != audits {
			t.Fatal("an update that changed nothing wrote an audit row")
		}

		got.Blocked, got.Role, got.CommunityID = true, hromadabot.RoleResident, 0
		if err := db.UpdateUser(ctx, got, "telegram:7"); err != nil {
			t.Fatal(err)
		}
		if e := LastAudit(t, db); e.OldValue != "role=cdto community="+itoa(c.ID)+" blocked=false" || e.NewValue != "role=resident community=0 blocked=true" {
			t.Fatalf("audit = %+v", e)
		}
	})

	for _, tc := range []struct {
		name, code, reason string
		change             func(u *hromadabot.User)
	}{
		{"ErrUnknownUser", hromadabot.ENOTFOUND, "user_not_found", func(u *hromadabot.User) { u.ID += 100 }},
		{"ErrLanguage", hromadabot.EINVALID, "language_invalid", func(u *hromadabot.User) { u.Language = "ru" }},
		{"ErrRole", hromadabot.EINVALID, "role_invalid", func(u *hromadabot.User) { u.Role = "admin" }},
		{"ErrCDTOWithoutCommunity", hromadabot.EINVALID, "cdto_community_required", func(u *hromadabot.User) { u.Role = hromadabot.RoleCDTO }},
		{"ErrUnknownCommunity", hromadabot.ENOTFOUND, "community_not_found", func(u *hromadabot.User) { u.CommunityID = 999 }},
		{"ErrActorRequired", hromadabot.EINVALID, "actor_required", func(u *hromadabot.User) { u.Subscribed = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t, e)
			u := MustEnsureUser(t, db, "7")
			before := *u
			audits := AuditCount(t, db)
			tc.change(u)
			actor := "cli"
			if tc.reason == "actor_required" {
				actor = ""
			}
			AssertError(t, db.UpdateUser(ctx, u, actor), tc.code, tc.reason)
			got, _ := db.User(ctx, before.ID)
			if *got != before {
				t.Fatalf("a failed update changed the user: %+v, was %+v", got, before)
			}
			if AuditCount(t, db) != audits {
				t.Fatal("a failed update wrote an audit row")
			}
		})
	}
}

func testUsers(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	a := MustCreateCommunity(t, db, "Бучанська", "Київська")
	b := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	cdto := MustEnsureUser(t, db, "1")
	MustMakeCDTO(t, db, cdto, a.ID)
	sub := MustEnsureUser(t, db, "2")
	sub.CommunityID, sub.Subscribed = a.ID, true
	if err := db.UpdateUser(ctx, sub, "cli"); err != nil {
		t.Fatal(err)
	}
	blocked := MustEnsureUser(t, db, "3")
	blocked.CommunityID, blocked.Subscribed, blocked.Blocked = b.ID, true, true
	if err := db.UpdateUser(ctx, blocked, "cli"); err != nil {
		t.Fatal(err)
	}
	MustEnsureUser(t, db, "4")

	for _, tc := range []struct {
		name string
		f    hromadabot.UserFilter
		want []int64
	}{
		{"OKAll", hromadabot.UserFilter{}, []int64{cdto.ID, sub.ID, blocked.ID, cdto.ID + 3}},
		{"OKByCommunity", hromadabot.UserFilter{CommunityID: a.ID}, []int64{cdto.ID, sub.ID}},
		{"OKByRole", hromadabot.UserFilter{Role: hromadabot.RoleCDTO}, []int64{cdto.ID}},
		{"OKSubscribed", hromadabot.UserFilter{Subscribed: true}, []int64{sub.ID, blocked.ID}},
		{"OKSubscribedNotBlocked", hromadabot.UserFilter{Subscribed: true, NotBlocked: true}, []int64{sub.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			us, err := db.Users(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, u := range us {
				got = append(got, u.ID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("ids = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// testEnsureUserSeesOtherProcesses: the people the bot talks to are kept in
// memory, yet a change made to one through another connection, as the CLI
// beside the bot makes, shows from the next event; a change the event
// itself makes shows at once; recording a contact moves nothing.
func testEnsureUserSeesOtherProcesses(t *testing.T, e Engine) {
	ctx := context.Background()
	bot, clock := MustOpenDB(t, e)
	cli := MustReopen(t, e, bot, clock)
	raw := e.Raw(t, bot)
	userChanges := func() int64 {
		t.Helper()
		var n int64
		if err := raw.QueryRow(`SELECT n FROM user_changes WHERE id = 1`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ensure := func(ctx context.Context) *hromadabot.User {
		t.Helper()
		u, err := bot.EnsureUser(ctx, hromadabot.PlatformTelegram, "42", "uk")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := ensure(bot.Turn(ctx))
	before := userChanges()
	clock.Add(2 * time.Minute)
	if seen := ensure(bot.Turn(ctx)); !seen.LastSeenAt.After(u.LastSeenAt) {
		t.Fatalf("last seen %v after a contact two minutes on, want later than %v", seen.LastSeenAt, u.LastSeenAt)
	}
	if n := userChanges(); n != before {
		t.Fatalf("recording a contact moved the users counter from %d to %d", before, n)
	}

	tests := []struct {
		name   string
		change func(*hromadabot.User)
		check  func(*hromadabot.User) bool
	}{
		{"CLIUpdate", func(u *hromadabot.User) {
			c := MustCreateCommunity(t, cli, "Бучанська", "Київська")
			u.Role, u.CommunityID = hromadabot.RoleCDTO, c.ID
			if err := cli.UpdateUser(ctx, u, "cli"); err != nil {
				t.Fatal(err)
			}
		}, func(u *hromadabot.User) bool { return u.Role == hromadabot.RoleCDTO }},
		{"RawSQL", func(u *hromadabot.User) {
			if _, err := raw.Exec(`UPDATE users SET language = 'en' WHERE id = ?`, u.ID); err != nil {
				t.Fatal(err)
			}
		}, func(u *hromadabot.User) bool { return u.Language == hromadabot.LangEN }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ensure(bot.Turn(ctx))
			tt.change(u)
			if got := ensure(bot.Turn(ctx)); !tt.check(got) {
				t.Fatalf("next event got %+v, not the change made through another connection", got)
			}
		})
	}

	// The event's own change, in the same turn.
	turn := bot.Turn(ctx)
	u = ensure(turn)
	u.Subscribed = true
	if err := bot.UpdateUser(turn, u, u.Ref()); err != nil {
		t.Fatal(err)
	}
	if got := ensure(turn); !got.Subscribed {
		t.Fatal("the turn does not see the subscription it made")
	}
	// A read of the counters that another turn began after this one began
	// serves this one too: it sees everything committed before. So the
	// change below, made after the other turn's read, does not show in
	// this turn, which reads nothing more, and shows in the next one.
	began, other := bot.Turn(ctx), bot.Turn(ctx)
	ensure(other)
	if _, err := raw.Exec(`UPDATE users SET language = 'uk' WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := ensure(began); got.Language != hromadabot.LangEN {
		t.Fatalf("a turn that could take another's read of the counters read again: language %q", got.Language)
	}
	if got := ensure(bot.Turn(ctx)); got.Language != hromadabot.LangUK {
		t.Fatalf("the next event has language %q, not the change made meanwhile", got.Language)
	}
	if _, err := raw.Exec(`UPDATE users SET language = 'en' WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}

	got := ensure(bot.Turn(ctx))
	got.Language = "змінено" // a caller's copy: later events must not see it
	if again := ensure(bot.Turn(ctx)); again.Language != hromadabot.LangEN {
		t.Fatalf("after a caller changed its copy: language %q", again.Language)
	}
}
