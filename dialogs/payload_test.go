package dialogs_test

import (
	"context"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/broadcast"
)

// TestCommandPayloads presses the buttons of broadcast messages: they
// carry a command, not a menu's payload, and work as the typed command
// whatever the dialog's state, with the command's own checks.
func TestCommandPayloads(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		chatKey := func(id string) string { return hromadabot.PlatformTelegram + ":" + id }

		t.Run("ReminderStartsReport", func(t *testing.T) {
			c := w.chat(t, cdtoID)
			c.send("/menu")
			// The reminder comes days later, after the dialog state expired.
			if err := w.states.Delete(context.Background(), chatKey(cdtoID)); err != nil {
				t.Fatal(err)
			}
			c.pressPayload(broadcast.PayloadReport)
			c.expect("✍️ Звіт громади <b>Бучанська (Київська обл.)</b>. Оберіть індикатор")
			c.expectNot(staleText)
			c.send("2")
			c.send("40")
			c.press("Пропустити")
			c.press("💾 Зберегти")
			c.expect("✅ Звіт збережено: 2.")
			if rs := w.reports("Бучанська"); len(rs) != 1 || rs[0].IndicatorID != 2 || rs[0].Value != 40 {
				t.Errorf("reports after the reminder's button: %+v", rs)
			}
		})
		t.Run("ReminderMidFlowStartsOver", func(t *testing.T) {
			c := w.chat(t, cdtoID)
			c.send("/report 3")
			c.pressPayload(broadcast.PayloadReport)
			c.expect("Оберіть індикатор")
			c.expectNot(staleText)
		})
		t.Run("ErrResidentReport", func(t *testing.T) {
			r := w.chat(t, residentID)
			r.send("/subscribe Буча")
			out := r.pressPayload(broadcast.PayloadReport)
			r.expect("Звітувати може лише CDTO громади.")
			r.expectNot(staleText, "Оберіть індикатор")
			if len(out) != 1 || len(out[0].Buttons) != 0 {
				t.Errorf("reply = %+v, want the refusal alone", out)
			}
		})
		t.Run("UnsubscribeButton", func(t *testing.T) {
			r := w.chat(t, residentID)
			r.send("/subscribe Буча")
			other := w.chat(t, resident2ID)
			other.send("/subscribe Буча")
			r.pressPayload(broadcast.PayloadUnsubscribe)
			r.expect("🔕 Ви відписалися від щотижневого дайджесту.")
			if u := w.user(residentID); u.Subscribed {
				t.Error("the button did not unsubscribe the person who pressed it")
			}
			if u := w.user(resident2ID); !u.Subscribed {
				t.Error("the button unsubscribed someone else")
			}
			r.pressPayload(broadcast.PayloadUnsubscribe)
			r.expect("Ви не підписані на дайджест.")
		})
		t.Run("ScoreAndMenu", func(t *testing.T) {
			r := w.chat(t, residentID)
			r.pressPayload("/score")
			r.expect("<b>Бучанська (Київська обл.)</b>", "Цифровий індекс 2026")
			r.pressPayload("/menu")
			r.expect("Ваша громада: <b>Бучанська (Київська обл.)</b>")
		})
		t.Run("ErrForged", func(t *testing.T) {
			a := w.chat(t, "1")
			a.send("/menu")
			live := a.button("🏆 Рейтинг").Payload
			audit, err := w.db.AuditLog(context.Background(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"/invite Буча", "/invite", "/stats", "/broadcast", "/report 5", "/report@hromada_bot", "/REPORT", " /report", "/unsubscribe ", "report"} {
				out := a.pressPayload(p)
				a.expect(staleText)
				a.expectNot("<code>", "Звітів:", "Кому надіслати")
				if len(out) != 1 || len(out[0].Buttons) != 0 {
					t.Errorf("payload %q: reply %+v, want the stale note alone", p, out)
				}
			}
			after, err := w.db.AuditLog(context.Background(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(audit) {
				t.Errorf("forged payloads changed records: audit grew by %d", len(after)-len(audit))
			}
			a.pressPayload(live)
			a.expect("🏆")
			a.expectNot(staleText)
		})
	})
}
