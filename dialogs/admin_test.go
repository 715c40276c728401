package dialogs_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/dialogs"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/storage/memory"
)

var inviteCodeRE = regexp.MustCompile(`<code>([A-Z0-9-]{14})</code>`)

// invite has the admin create an invite code in the chat and returns it.
func invite(t *testing.T, w *world, community string) string {
	t.Helper()
	a := w.chat(t, "1")
	a.send("/invite " + community)
	m := inviteCodeRE.FindStringSubmatch(a.text())
	if m == nil {
		t.Fatalf("no invite code in %q", a.text())
	}
	return m[1]
}

func TestJoin(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		t.Run("OK", func(t *testing.T) {
			code := invite(t, w, "Ірпінь")
			c := w.chat(t, residentID)
			c.send("/join " + code)
			c.expect("Вітаю! Тепер ви — CDTO громади <b>Ірпінська (Київська обл.)</b>.")
			c.expectButtons("✍️ Звітувати")
			if u := w.user(residentID); !u.IsCDTOOf(w.community("Ірпінська").ID) {
				t.Errorf("user after /join: %+v", u)
			}
		})
		tests := []struct {
			name string
			code func() string
			want string
		}{
			{"ErrNoCode", func() string { return "" }, "Надішліть код запрошення так: /join КОД"},
			{"ErrUnknown", func() string { return "AAAA-BBBB-CCCC" }, "Такого коду запрошення немає."},
			{"ErrUsed", func() string {
				code := invite(t, w, "Буча")
				w.chat(t, "202").send("/join " + code)
				return code
			}, "Цей код запрошення вже використано."},
			{"ErrExpired", func() string {
				code := invite(t, w, "Вінниця")
				w.clock.Advance(hromadabot.InviteTTL + time.Hour)
				return code
			}, "Термін дії коду запрошення минув."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code := tt.code()
				c := w.chat(t, resident2ID)
				c.send("/join " + code)
				c.expect(tt.want)
				if u := w.user(resident2ID); u.Role != hromadabot.RoleResident || u.CommunityID != 0 {
					t.Errorf("a failed /join changed the user: %+v", u)
				}
			})
		}
	})
}

func TestAdmin(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		t.Run("ErrNotAdmin", func(t *testing.T) {
			c := w.chat(t, residentID)
			for _, cmd := range []string{"/invite Буча", "/communities", "/stats"} {
				c.send(cmd)
				c.expect("Ця команда — лише для адміністраторів.")
				c.expectNot("<code>")
			}
		})
		a := w.chat(t, "1")
		t.Run("Invite", func(t *testing.T) {
			a.send("/invite Буча")
			a.expect("Код запрошення CDTO громади <b>Бучанська (Київська обл.)</b>:", "діє 7 днів", "<code>/join ")
			a.send("/invite")
			a.expect("Вкажіть громаду: /invite НАЗВА")
			a.send("/invite Миколаївська")
			a.expect("Знайшлося кілька громад", "— Миколаївська (Одеська обл.)")
			a.send("/invite " + strconv.FormatInt(w.community("Ірпінська").ID, 10))
			a.expect("громади <b>Ірпінська (Київська обл.)</b>")
			a.send("/invite Атлантида")
			a.expect("Не знайшов громади «Атлантида»")
		})
		t.Run("Communities", func(t *testing.T) {
			w.seed("Ірпінська", map[int]float64{1: 100})
			a.send("/communities")
			a.expect("Громад у базі: 26. Найвищий індекс 2026:", "1. Ірпінська (Київська обл.) — 4,3")
			a.send("/communities Мико")
			a.expect("Знайдені громади (id — назва):", "— Миколаївська (Львівська обл.)")
		})
		t.Run("Stats", func(t *testing.T) {
			w.makeCDTO(cdtoID, "Бучанська")
			w.makeCDTO("101", "Ірпінська")
			d := w.chat(t, "101")
			d.report(2, "50")
			a.send("/stats")
			a.expect("📈 <b>За останні 7 днів</b>", "Звітів: 2", "Громад, що звітували: 1",
				"CDTO без звітів понад 7 днів: 1", "telegram:100 — Бучанська, останній звіт: ще не було")
		})
	})
}

func TestNew(t *testing.T) {
	loc, err := locales.New()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, stateBackends[0].make)
	tests := []struct {
		name string
		cfg  dialogs.Config
	}{
		{"ErrNoStore", dialogs.Config{States: memory.NewStateStore(0), Locales: loc}},
		{"ErrNoStates", dialogs.Config{Store: w.db, Locales: loc}},
		{"ErrNoLocales", dialogs.Config{Store: w.db, States: memory.NewStateStore(0)}},
		{"ErrBadAdmin", dialogs.Config{Store: w.db, States: memory.NewStateStore(0), Locales: loc, Admins: []string{"12345"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dialogs.New(tt.cfg); err == nil {
				t.Error("New accepted an incomplete config")
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		e, err := dialogs.New(dialogs.Config{Store: w.db, States: memory.NewStateStore(0), Locales: loc})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Handle(context.Background(), bot.Event{Platform: "telegram", ChatID: "9", UserID: "9", Text: "/start"})
		if err != nil || len(out) != 1 {
			t.Fatalf("Handle = %+v, %v", out, err)
		}
	})
}
