package dialogs_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// indexLine is what the saved reply says about the index change.
func indexLine(before, after float64) string {
	d := hromadabot.FormatNumber(after-before, 1, "uk")
	if after > before {
		d = "+" + d
	}
	return "Індекс громади: <b>" + hromadabot.FormatNumber(after, 1, "uk") + "</b> (" + d + ")"
}

func TestReportPercent(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		cdto := w.makeCDTO(cdtoID, "Бучанська")
		w.seed("Бучанська", map[int]float64{2: 100})
		before := w.index("Бучанська")

		c := w.chat(t, cdtoID)
		c.send("/report")
		c.expect("✍️ Звіт громади <b>Бучанська (Київська обл.)</b>. Оберіть індикатор (сторінка 1 з 3):")
		c.expectButtons("⚪ 1. Аналіз даних громади", "✅ 2. Відкрита громада онлайн", "Далі ▶️", "✖️ Скасувати")
		out := c.press("Далі ▶️")
		if !out[0].EditMenu {
			t.Error("paging does not edit the menu in place")
		}
		c.expect("(сторінка 2 з 3)")
		c.expectButtons("⚪ 9. Відкриті Wi-Fi зони", "◀️ Назад")
		c.press("◀️ Назад")
		c.press("⚪ 1. Аналіз даних громади")
		c.expect("<b>1. Аналіз наявності та стану даних територіальної громади</b>",
			"Поточне значення: ще не звітували", "Ціль на кінець 2026 року: 66,6%",
			"Введіть нове значення у відсотках від 0 до 100")
		c.send(" 55,5 % ")
		c.expect("Додайте коментар, посилання, фото або документ")
		c.send("Провели аудит даних <b>разом</b>")
		c.expect("Перевірте звіт:", "Значення: ще не звітували → <b>55,5%</b>",
			"Коментар: Провели аудит даних &lt;b&gt;разом&lt;/b&gt;")
		ev := c.event()
		ev.Payload = c.button("💾 Зберегти").Payload
		c.handle(ev)
		after := w.index("Бучанська")
		c.expect("✅ Звіт збережено: 1. Аналіз даних громади — 55,5%.", indexLine(before, after))
		if after <= before {
			t.Errorf("index %v → %v, want a rise", before, after)
		}

		rs := w.reports("Бучанська")
		if len(rs) != 2 {
			t.Fatalf("stored %d reports, want 2", len(rs))
		}
		r := rs[0]
		if r.IndicatorID != 1 || r.Value != 55.5 || r.Comment != "Провели аудит даних <b>разом</b>" ||
			r.ReporterID != cdto.ID || r.Source != hromadabot.SourceTelegram || r.DedupKey != ev.UpdateID {
			t.Errorf("stored report = %+v, want indicator 1 = 55.5 by %d from telegram with dedup key %q", r, cdto.ID, ev.UpdateID)
		}
	})
}

func TestReportYesNoWithEvidence(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		tests := []struct {
			name      string
			indicator int
			value     func(c *chat)
			evidence  func(c *chat)
			summary   []string
			want      hromadabot.Report
		}{
			{"YesButtonAndPhoto", 11,
				func(c *chat) { c.press("Так") },
				func(c *chat) { c.sendFile("photo", "AgADBAADphoto", "", "Скріншот геопорталу") },
				[]string{"Значення: ще не звітували → <b>так</b>", "Коментар: Скріншот геопорталу", "Підтвердження: 📷 фото"},
				hromadabot.Report{IndicatorID: 11, Value: 1, Comment: "Скріншот геопорталу", Evidence: "telegram:file:AgADBAADphoto"}},
			{"TypedNoAndDocument", 12,
				func(c *chat) { c.send("ні") },
				func(c *chat) { c.sendFile("document", "BQADdoc", "наказ.pdf", "") },
				[]string{"<b>ні</b>", "Підтвердження: 📎 документ наказ.pdf"},
				hromadabot.Report{IndicatorID: 12, Value: 0, Evidence: "telegram:file:BQADdoc"}},
			{"TypedYesAndLink", 13,
				func(c *chat) { c.send("YES") },
				func(c *chat) { c.send("https://example.gov.ua/pamyatka?id=1&x=2") },
				[]string{"Підтвердження: 🔗 https://example.gov.ua/pamyatka?id=1&amp;x=2"},
				hromadabot.Report{IndicatorID: 13, Value: 1, Evidence: "https://example.gov.ua/pamyatka?id=1&x=2"}},
			{"Skip", 14,
				func(c *chat) { c.press("Ні") },
				func(c *chat) { c.press("Пропустити") },
				[]string{"<b>ні</b>"},
				hromadabot.Report{IndicatorID: 14, Value: 0}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := w.chat(t, cdtoID)
				c.send("/report " + strconv.Itoa(tt.indicator))
				c.expect("Поточне значення: ще не звітували", "Ціль на кінець 2026 року: так", "Виконано? Натисніть «Так» або «Ні»")
				c.expectButtons("Так", "Ні", "✖️ Скасувати")
				tt.value(c)
				c.expect("Додайте коментар")
				tt.evidence(c)
				c.expect(tt.summary...)
				c.press("💾 Зберегти")
				c.expect("✅ Звіт збережено")
				r := w.reports("Бучанська")[0]
				if r.IndicatorID != tt.want.IndicatorID || r.Value != tt.want.Value || r.Comment != tt.want.Comment || r.Evidence != tt.want.Evidence {
					t.Errorf("stored %+v, want %+v", r, tt.want)
				}
			})
		}
	})
}

func TestReportLowerValue(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		w.seed("Бучанська", map[int]float64{1: 60})
		c := w.chat(t, cdtoID)

		t.Run("ReEnter", func(t *testing.T) {
			c.send("/report 1")
			c.expect("Поточне значення: 60%")
			c.send("40")
			c.expect("Нове значення 40% менше за поточне 60%. Зменшити?")
			c.press("Ні, ввести інше")
			c.expect("Поточне значення: 60%", "Введіть нове значення")
			c.send("70")
			c.expect("Додайте коментар")
			c.send("/cancel")
		})
		t.Run("TypedAnswerIsChecked", func(t *testing.T) {
			c.send("/report 1")
			c.send("40")
			c.send("можливо")
			c.expect("Цей індикатор приймає лише «так» або «ні».", "Нове значення 40% менше за поточне 60%")
			c.send("так")
			c.expect("Додайте коментар")
			c.send("/cancel")
		})
		t.Run("Confirm", func(t *testing.T) {
			c.send("/report 1")
			c.send("40")
			c.press("Так, зменшити")
			c.press("Пропустити")
			c.expect("Значення: 60% → <b>40%</b>")
			c.press("💾 Зберегти")
			c.expect("— 40%.", "(−")
		})
		rs := w.reports("Бучанська")
		if len(rs) != 2 || rs[0].Value != 40 {
			t.Errorf("reports = %+v, want the seeded 60 and the confirmed 40", rs)
		}
	})
}

func TestReportInvalidInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		tests := []struct {
			name      string
			indicator int
			input     string
			want      string
		}{
			{"ErrValueNegative", 1, "-1", "Значення має бути від 0 до 100 відсотків."},
			{"ErrValueAbove100", 1, "101", "Значення має бути від 0 до 100 відсотків."},
			{"ErrValueNotNumber", 1, "abc", "Це не число. Введіть відсоток від 0 до 100"},
			{"ErrYesNoForPercent", 1, "так", "Цей індикатор вимірюється у відсотках, а не «так/ні»."},
			{"ErrNumberForYesNo", 11, "50", "Цей індикатор приймає лише «так» або «ні»."},
			{"ErrWordForYesNo", 11, "можливо", "Цей індикатор приймає лише «так» або «ні»."},
			{"ErrEmpty", 1, "", "Ви надіслали порожнє значення."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := w.chat(t, cdtoID)
				c.send("/report " + strconv.Itoa(tt.indicator))
				if tt.input == "" {
					c.sendFile("photo", "AgADx", "", "")
				} else {
					c.send(tt.input)
				}
				c.expect(tt.want, fmt.Sprintf("<b>%d. ", tt.indicator))
				c.expectButtons("✖️ Скасувати")
				// The dialog is kept: a valid value goes on.
				if tt.indicator == 11 {
					c.send("так")
				} else {
					c.send("55")
				}
				c.expect("Додайте коментар")
				c.send("/cancel")
			})
		}
		t.Run("ErrIndicatorNotInPlan", func(t *testing.T) {
			c := w.chat(t, cdtoID)
			c.send("/report 99")
			c.expect("Індикатора № 99 немає в плані: номери від 1 до 23.", "Оберіть індикатор")
			c.send("/report abc")
			c.expect("Індикатора № abc немає в плані")
			c.send("0")
			c.expect("Індикатора № 0 немає в плані", "Оберіть індикатор")
			c.send("7")
			c.expect("<b>7. ")
		})
		t.Run("ErrCommentTooLong", func(t *testing.T) {
			c := w.chat(t, cdtoID)
			c.send("/report 1")
			c.send("10")
			c.send(strings.Repeat("ж", hromadabot.MaxCommentLength+1))
			c.expect("Коментар задовгий", "Додайте коментар")
			c.send("коротко")
			c.expect("Перевірте звіт")
			c.send("/cancel")
		})
		if n := len(w.reports("Бучанська")); n != 0 {
			t.Errorf("invalid input stored %d reports", n)
		}
	})
}

func TestReportForbidden(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		t.Run("Resident", func(t *testing.T) {
			c := w.chat(t, residentID)
			c.send("/community Буча")
			c.expectNot("✍️ Звітувати")
			c.send("/report")
			c.expect("Звітувати може лише CDTO громади")
			c.send("/report 1")
			c.expect("Звітувати може лише CDTO громади")
			c.send("55")
			c.expectNot("Додайте коментар")
		})
		t.Run("CDTORemovedBeforeSave", func(t *testing.T) {
			cdto := w.makeCDTO(cdtoID, "Бучанська")
			c := w.chat(t, cdtoID)
			c.send("/report 1")
			c.send("55")
			c.press("Пропустити")
			// An admin takes the role away while the summary is on screen.
			cdto.Role = hromadabot.RoleResident
			if err := w.db.UpdateUser(context.Background(), cdto, "cli"); err != nil {
				t.Fatal(err)
			}
			c.press("💾 Зберегти")
			c.expect("Звітувати може лише CDTO громади")
		})
		t.Run("CDTOOfAnotherCommunity", func(t *testing.T) {
			w.makeCDTO(resident2ID, "Ірпінська")
			c := w.chat(t, resident2ID)
			c.send("Буча")
			c.expectNot("✍️ Звітувати")
			c.send("/report 1") // reports for Ірпінська, its own
			c.send("55")
			c.press("Пропустити")
			c.press("💾 Зберегти")
			if n := len(w.reports("Ірпінська")); n != 1 {
				t.Errorf("stored %d reports for Ірпінська, want 1", n)
			}
		})
		if n := len(w.reports("Бучанська")); n != 0 {
			t.Errorf("stored %d reports for Бучанська", n)
		}
	})
}

// TestStaleAndForgedButtons presses buttons that are not on the latest
// menu: each gets "menu out of date", stores nothing and leaves the dialog
// where it was.
func TestStaleAndForgedButtons(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		irpin := w.community("Ірпінська")
		c := w.chat(t, cdtoID)
		c.send("/report")
		oldPick := c.button("1. Аналіз даних громади").Payload
		c.press("1. Аналіз даних громади")
		c.send("55")
		c.press("Пропустити")
		save := c.button("💾 Зберегти").Payload
		parts := strings.Split(save, ":")
		forge := func(community int64) string {
			p := append([]string(nil), parts...)
			p[3] = strconv.FormatInt(community, 36)
			return strings.Join(p, ":")
		}
		tests := []struct {
			name    string
			payload string
		}{
			{"OtherCommunity", forge(irpin.ID)},
			{"NoCommunity", forge(0)},
			{"PastStep", oldPick},
			{"OtherAction", strings.Join([]string{parts[0], parts[1], "pi", parts[3], "1"}, ":")},
			{"UnknownAction", strings.Join([]string{parts[0], parts[1], "zz", parts[3], "0"}, ":")},
			{"OldSequence", strings.Join([]string{parts[0], "0", parts[2], parts[3], parts[4]}, ":")},
			{"OtherVersion", strings.Join([]string{"2", parts[1], parts[2], parts[3], parts[4]}, ":")},
			{"Garbage", "sv"},
			{"Empty fields", "1::::"},
			{"TooLong", save + ":" + strings.Repeat("9", bot.MaxPayload)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := c.pressPayload(tt.payload)
				c.expect(staleText)
				if len(out) != 1 || len(out[0].Buttons) != 0 {
					t.Errorf("stale reply = %+v, want one text without buttons", out)
				}
				if n := len(w.reports("Бучанська")) + len(w.reports("Ірпінська")); n != 0 {
					t.Fatalf("a forged button stored %d reports", n)
				}
			})
		}
		// The real menu is still live.
		c.pressPayload(save)
		c.expect("✅ Звіт збережено")
		if len(w.reports("Бучанська")) != 1 || len(w.reports("Ірпінська")) != 0 {
			t.Error("the real Save did not store exactly one report for Бучанська")
		}
		c.pressPayload(save)
		c.expect(staleText)
		if len(w.reports("Бучанська")) != 1 {
			t.Error("pressing Save again stored another report")
		}
	})
}

func TestRestartMidReport(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		c := w.chat(t, cdtoID)
		c.send("/report 2")
		w.restart()
		c.send("77,7")
		c.expect("Додайте коментар")
		w.restart()
		c.press("Пропустити")
		c.expect("Значення: ще не звітували → <b>77,7%</b>")
		w.restart()
		c.press("💾 Зберегти")
		c.expect("✅ Звіт збережено: 2. Відкрита громада онлайн — 77,7%.")
		if rs := w.reports("Бучанська"); len(rs) != 1 || rs[0].IndicatorID != 2 || rs[0].Value != 77.7 {
			t.Errorf("reports = %+v", rs)
		}
	})
}

// TestOneChatRacing sends events of one chat from several goroutines: they
// are applied one at a time, so exactly one of many presses of one Save
// button stores a report, and a burst of messages leaves a state the
// dialog goes on from.
func TestOneChatRacing(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		c := w.chat(t, cdtoID)
		c.send("/report 1")
		c.send("40")
		c.press("Пропустити")
		save := c.button("💾 Зберегти").Payload

		const n = 8
		var wg sync.WaitGroup
		replies := make([][]bot.Reply, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ev := c.event()
				ev.Payload = save
				out, err := w.eng.Handle(context.Background(), ev)
				if err != nil {
					t.Error(err)
				}
				replies[i] = out
			}()
		}
		wg.Wait()
		saved, stale := 0, 0
		for _, out := range replies {
			switch {
			case len(out) == 1 && strings.Contains(out[0].Text, "✅ Звіт збережено"):
				saved++
			case len(out) == 1 && strings.Contains(out[0].Text, staleText):
				stale++
			default:
				t.Errorf("unexpected reply %+v", out)
			}
		}
		if saved != 1 || stale != n-1 {
			t.Errorf("%d saved, %d stale; want 1 and %d", saved, stale, n-1)
		}
		if rs := w.reports("Бучанська"); len(rs) != 1 {
			t.Errorf("stored %d reports, want 1", len(rs))
		}

		t.Run("Burst", func(t *testing.T) {
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ev := c.event()
					ev.Text = []string{"/report 2", "Буча", "/menu", "/help"}[i%4]
					out, err := w.eng.Handle(context.Background(), ev)
					if err != nil || len(out) == 0 || out[0].Text == "" || strings.Contains(out[0].Text, "Щось пішло не так") {
						t.Errorf("burst event %q: %+v, %v", ev.Text, out, err)
					}
				}()
			}
			wg.Wait()
			c.report(3, "50")
		})
	})
}

func TestDuplicateUpdate(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		c := w.chat(t, cdtoID)
		c.send("/report 1")
		c.send("30")
		c.press("Пропустити")
		ev := c.event()
		ev.Payload = c.button("💾 Зберегти").Payload
		c.handle(ev)
		c.expect("✅ Звіт збережено")
		c.handle(ev) // the channel delivers the same update again
		if rs := w.reports("Бучанська"); len(rs) != 1 {
			t.Errorf("an update handled twice stored %d reports", len(rs))
		}
	})
}

func TestUndo(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		w.seed("Бучанська", map[int]float64{1: 20})
		c := w.chat(t, cdtoID)
		c.send("/undo")
		c.expect("Немає вашого звіту за останню добу")

		before := w.index("Бучанська")
		c.report(1, "50")
		after := w.index("Бучанська")
		c.send("/undo")
		c.expect("↩️ Звіт скасовано: 1. Аналіз даних громади — 50%.",
			"Індекс громади: <b>"+hromadabot.FormatNumber(before, 1, "uk")+"</b> (−"+hromadabot.FormatNumber(after-before, 1, "uk")+")")
		if rs := w.reports("Бучанська"); len(rs) != 1 || rs[0].Value != 20 {
			t.Errorf("after undo: %+v, want only the seeded report", rs)
		}
		c.send("/undo")
		c.expect("Немає вашого звіту за останню добу")

		t.Run("ErrWindowPassed", func(t *testing.T) {
			c.report(1, "60")
			w.clock.Advance(hromadabot.UndoWindow + time.Minute)
			c.send("/undo")
			c.expect("Немає вашого звіту за останню добу")
			if rs := w.reports("Бучанська"); len(rs) != 2 {
				t.Errorf("undo after the window changed the reports: %d", len(rs))
			}
		})
		t.Run("OthersReportsAreNotMine", func(t *testing.T) {
			w.chat(t, residentID).send("/undo")
			if rs := w.reports("Бучанська"); len(rs) != 2 {
				t.Errorf("a resident's /undo retracted a report")
			}
		})
	})
}

func TestMyReports(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		c := w.chat(t, cdtoID)
		c.send("/myreports")
		c.expect("Ви ще не надсилали звітів.")
		c.report(1, "10")
		c.report(11, "так")
		c.press("🏠 Меню")
		c.press("🗂 Мої звіти")
		c.expect("🗂 <b>Ваші останні звіти</b>", "23.11.2026 · 11. Метадані в геопорталі — так", "23.11.2026 · 1. Аналіз даних громади — 10%")
		if strings.Index(c.text(), "11. Метадані") > strings.Index(c.text(), "1. Аналіз") {
			t.Error("my reports are not newest first")
		}
	})
}

// TestReportFromMenus starts reports from buttons: the main menu and an
// indicator's detail.
func TestReportFromMenus(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		c := w.chat(t, cdtoID)
		c.send("/menu")
		c.expectButtons("✍️ Звітувати", "🗂 Мої звіти")
		c.press("✍️ Звітувати")
		c.expect("Оберіть індикатор")
		c.send("/indicators")
		c.press("⚪ 4. Медіакампанія")
		c.press("✍️ Звітувати")
		c.expect("<b>4. ", "Введіть нове значення")
		c.send("/score")
		c.press("✍️ Звітувати")
		c.expect("Оберіть індикатор")
	})
}
