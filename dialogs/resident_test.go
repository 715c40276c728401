package dialogs_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
)

func TestStart(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		t.Run("UkrainianByDefault", func(t *testing.T) {
			c := w.chat(t, residentID)
			c.lang = "de"
			c.send("/start")
			c.expect("Вітаю!", "Оберіть мову:")
			c.expectButtons("🇺🇦 Українська", "🇬🇧 English")
			c.press("🇺🇦 Українська")
			c.expect("Мова: українська.", "Напишіть назву вашої громади")
			c.send("Буча")
			c.expect("Ваша громада: <b>Бучанська (Київська обл.)</b>.")
			c.expectButtons("📊 Моя громада", "🏆 Рейтинг", "📋 Індикатори", "🔔 Підписатися", "🏘 Змінити громаду")
			u := w.user(residentID)
			if u.CommunityID != w.community("Бучанська").ID || u.Language != "uk" {
				t.Errorf("user = %+v, want Бучанська in uk", u)
			}
		})
		t.Run("EnglishFromLanguageCode", func(t *testing.T) {
			c := w.chat(t, resident2ID)
			c.lang = "en-GB"
			c.send("/start")
			c.expect("Hello!", "Choose a language:")
			c.press("🇬🇧 English")
			c.expect("Language: English.", "Type the name of your community")
			c.send("Миколаївська")
			c.expect("Several communities match. Choose yours:")
			c.press("Миколаївська (Одеська обл.)")
			c.expect("Your community: <b>Миколаївська (Одеська обл.)</b>.")
			c.expectButtons("📊 My community")
			if u := w.user(resident2ID); u.Language != "en" {
				t.Errorf("language = %q, want en", u.Language)
			}
		})
	})
}

func TestHelpAndCancelInEveryStep(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		w.seed("Бучанська", map[int]float64{1: 60})
		// Each case drives the CDTO's chat to a step; /help must leave the
		// step as it is, /cancel must end it.
		steps := []struct {
			name string
			to   func(c *chat)
			// next continues the dialog in that step and what it must say.
			next, want string
		}{
			{"Menu", func(c *chat) { c.send("/menu") }, "Ірпінь", "Ірпінська (Київська обл.)"},
			{"Language", func(c *chat) { c.send("/language") }, "english", "Language: English."},
			{"Pick", func(c *chat) { c.send("/report") }, "2", "Відкрита громада онлайн"},
			{"Value", func(c *chat) { c.send("/report 2") }, "40", "Додайте коментар"},
			{"Lower", func(c *chat) { c.send("/report 1"); c.send("30") }, "так", "Додайте коментар"},
			{"Evidence", func(c *chat) { c.send("/report 2"); c.send("40") }, "Коментар до звіту", "Перевірте звіт"},
			{"Summary", func(c *chat) { c.send("/report 2"); c.send("40"); c.press("Пропустити") }, "що завгодно", "Перевірте звіт"},
		}
		for _, st := range steps {
			t.Run(st.name+"/Help", func(t *testing.T) {
				c := w.chat(t, cdtoID)
				st.to(c)
				c.send("/help")
				c.expect("/score", "/report", "/undo")
				c.expectNot(staleText)
				c.send(st.next)
				c.expect(st.want)
				c.send("/language")
				c.press("🇺🇦 Українська")
			})
			t.Run(st.name+"/Cancel", func(t *testing.T) {
				c := w.chat(t, cdtoID)
				st.to(c)
				c.send("/cancel")
				c.expect("Скасовано.", "Ваша громада: <b>Бучанська (Київська обл.)</b>")
				c.send("Ірпінь") // outside a flow, text is a search
				c.expect("Цифровий індекс 2026", "Ірпінська (Київська обл.)")
			})
		}
		if n := len(w.reports("Бучанська")); n != 1 {
			t.Errorf("stored %d reports, want only the seeded one", n)
		}
		t.Run("HelpShowsAdminCommandsToAdmins", func(t *testing.T) {
			c := w.chat(t, "1")
			c.send("/help")
			c.expect("/invite", "/stats", "/join")
			r := w.chat(t, residentID)
			r.send("/help")
			r.expectNot("/invite", "/undo")
		})
	})
}

func TestScoreCard(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		// Ірпінська: 1 done, 0 on track, 1 behind, 21 not started.
		w.seed("Ірпінська", map[int]float64{11: 1, 1: 30})
		// Бучанська: 2 done, 5 on track, 11 behind, 5 not started.
		buch := map[int]float64{11: 1, 12: 1}
		for _, id := range []int{1, 2, 3, 4, 5} {
			buch[id] = 90
		}
		for _, id := range []int{6, 7, 8, 9, 10, 18, 19, 20, 21, 22, 23} {
			buch[id] = 10
		}
		w.seed("Бучанська", buch)
		plan := hromadabot.DefaultPlan()
		want := func(values map[int]float64) hromadabot.Score {
			return hromadabot.ComputeScore(&plan, values, 2026)
		}

		tests := []struct {
			name string
			lang string
			send string
			want []string
		}{
			{"PluralsOneAndTwentyOne", "uk", "/score Ірпінь", []string{
				"<b>Ірпінська (Київська обл.)</b>",
				"Цифровий індекс 2026: <b>" + hromadabot.FormatNumber(want(map[int]float64{11: 1, 1: 30}).Index, 1, "uk") + "</b> зі 100",
				"Місце в рейтингу: 2 з ",
				"Виконання плану 2026 року: " + hromadabot.FormatNumber(want(map[int]float64{11: 1, 1: 30}).PlanFulfillment, 1, "uk") + "%",
				"✅ Виконано: 1 індикатор\n",
				"🟢 За планом: 0 індикаторів\n",
				"🟠 Відстає: 1 індикатор\n",
				"⚪ Не розпочато: 21 індикатор",
			}},
			{"PluralsFewAndMany", "uk", "/score Буча", []string{
				"<b>Бучанська (Київська обл.)</b>",
				"Цифровий індекс 2026: <b>" + hromadabot.FormatNumber(want(buch).Index, 1, "uk") + "</b>",
				"Місце в рейтингу: 1 з ",
				"✅ Виконано: 2 індикатори\n",
				"🟢 За планом: 5 індикаторів\n",
				"🟠 Відстає: 11 індикаторів\n",
				"⚪ Не розпочато: 5 індикаторів",
			}},
			{"English", "en", "/score Bucha", []string{
				"Digital index 2026: <b>" + hromadabot.FormatNumber(want(buch).Index, 1, "en") + "</b> of 100",
				"Rank: 1 of ",
				"✅ Done: 2 indicators\n",
				"🟢 On track: 5 indicators\n",
				"🟠 Behind: 11 indicators\n",
			}},
			{"PlainTextIsASearch", "uk", "ірпінь", []string{"<b>Ірпінська (Київська обл.)</b>", "1 індикатор"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// A new person each time: the language is set at first contact.
				c := w.chat(t, strconv.Itoa(300+i))
				c.lang = tt.lang
				c.send(tt.send)
				c.expect(tt.want...)
			})
		}

		t.Run("LinksToTheSite", func(t *testing.T) {
			bucha := w.community("Бучанська")
			w.siteURL = "https://index.example.org/"
			defer func() { w.siteURL = ""; w.restart() }()
			w.restart()
			for i, tc := range []struct{ lang, want string }{
				{"uk", "Докладніше й усі індикатори — на сайті: https://index.example.org/hromada/" + bucha.Code},
				{"en", "on the site: https://index.example.org/en/hromada/" + bucha.Code},
			} {
				c := w.chat(t, strconv.Itoa(400+i))
				c.lang = tc.lang
				c.send("/score Буча")
				c.expect(tc.want)
			}
		})

		t.Run("OwnCommunity", func(t *testing.T) {
			c := w.chat(t, resident2ID)
			c.send("/score")
			c.expect("Спершу оберіть свою громаду.", "Напишіть назву вашої громади")
			c.send("Ірпінь")
			c.press("📊 Моя громада")
			c.expect("<b>Ірпінська (Київська обл.)</b>", "21 індикатор")
			c.expectButtons("📋 Індикатори", "🏆 Рейтинг", "🔔 Підписатися", "🏠 Меню")
		})
		t.Run("Chart", func(t *testing.T) {
			var gotLang string
			drawn := 0
			w.chart = func(s *hromadabot.Score, p *hromadabot.Plan, lang string) (string, func() ([]byte, error)) {
				gotLang = lang
				if len(p.Indicators) != 23 || s.Year != 2026 {
					t.Errorf("chart got plan of %d, year %d", len(p.Indicators), s.Year)
				}
				return "card-1", func() ([]byte, error) { drawn++; return []byte("\x89PNG fake"), nil }
			}
			defer func() { w.chart = nil; w.restart() }()
			w.restart()
			c := w.chat(t, residentID)
			out := c.send("/score Буча")
			img := out[0].Image
			if img == nil || img.Key != "card-1" || gotLang != "uk" {
				t.Fatalf("score card image = %+v (lang %q), want the chart's key", img, gotLang)
			}
			if drawn != 0 {
				t.Errorf("the card was drawn %d times before a channel asked for it", drawn)
			}
			if png, err := img.Bytes(); err != nil || string(png) != "\x89PNG fake" {
				t.Errorf("score card image draws %q, %v; want the chart's PNG", png, err)
			}
		})
	})
}

func TestSearch(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		tests := []struct {
			name    string
			query   string
			want    []string
			buttons []string
		}{
			{"OneMatchShowsTheCard", "Буча", []string{"<b>Бучанська (Київська обл.)</b>", "Цифровий індекс"}, nil},
			{"TransliteratedName", "Irpin", []string{"<b>Ірпінська (Київська обл.)</b>"}, nil},
			{"SeveralMatchesOfferButtons", "Миколаївська", []string{"Знайшлося кілька громад. Яку показати?"},
				[]string{"Миколаївська (Одеська обл.)", "Миколаївська (Львівська обл.)", "Миколаївська (Миколаївська обл.)"}},
			{"NotFound", "Атлантида", []string{"Не знайшов громади «Атлантида»"}, nil},
			{"QueryEscaped", "<script>&", []string{"«&lt;script&gt;&amp;»"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := w.chat(t, residentID)
				c.send(tt.query)
				c.expect(tt.want...)
				c.expectButtons(tt.buttons...)
				c.expectNot("<script>")
			})
		}
		t.Run("PressOffered", func(t *testing.T) {
			c := w.chat(t, residentID)
			c.send("Миколаївська")
			c.press("Миколаївська (Львівська обл.)")
			c.expect("<b>Миколаївська (Львівська обл.)</b>", "Цифровий індекс")
		})
		t.Run("SameLabelsToldApartByRaion", func(t *testing.T) {
			c := w.chat(t, residentID)
			c.send("Миколаївська")
			c.expectButtons("Миколаївська (Дніпропетровська обл., Дніпровський р-н)", "Миколаївська (Дніпропетровська обл., Синельниківський р-н)")
		})
	})
}

func TestRanking(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		// Eleven communities ahead of Славутицька, which has no reports.
		names := []string{"Бучанська", "Ірпінська", "Вінницька", "Яготинська", "Бориспільська", "Броварська",
			"Гостомельська", "Вишгородська", "Фастівська", "Житомирська", "Львівська"}
		for i, n := range names {
			w.seed(n, map[int]float64{1: float64(100 - i*5)})
		}
		c := w.chat(t, residentID)
		c.send("Славутич")
		c.press("🏆 Рейтинг")
		c.expect("🏆 <b>Рейтинг громад за цифровим індексом, 2026</b>", "1. Бучанська (Київська обл.) — 4,3", "10. Житомирська (Житомирська обл.)")
		c.expectNot("11. Львівська")
		c.send("/community Славутич")
		c.send("/ranking")
		c.expect("…\n<b>12. Славутицька (Київська обл.) — 0</b>", "Усього в рейтингу: ")
		if n := len(w.reports("Бучанська")); n != 1 {
			t.Errorf("reading the ranking stored reports: %d", n)
		}
	})
}

func TestIndicators(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		for _, v := range []float64{5, 10, 15, 20, 25, 30} {
			w.seed("Бучанська", map[int]float64{1: v})
			w.clock.Advance(24 * time.Hour)
		}
		w.seed("Бучанська", map[int]float64{11: 1, 9: 100})
		c := w.chat(t, residentID)
		c.send("/community Буча")
		c.send("/indicators")
		c.expect("📋 <b>Індикатори громади Бучанська (Київська обл.), 2026</b>",
			"🟠 1. Аналіз даних громади — 30%", "✅ 9. Відкриті Wi-Fi зони — 100%",
			"✅ 11. Метадані в геопорталі — так", "⚪ 23. Сервер у ЦНАП — ще не звітували",
			"✅ виконано · 🟢 за планом · 🟠 відстає · ⚪ не розпочато")
		c.expectButtons("🟠 1. Аналіз даних громади", "Далі ▶️")

		out := c.press("Далі ▶️")
		if !out[0].EditMenu {
			t.Error("turning a page does not edit the menu in place")
		}
		c.expectButtons("✅ 9. Відкриті Wi-Fi зони", "◀️ Назад", "Далі ▶️")
		c.press("◀️ Назад")
		c.press("🟠 1. Аналіз даних громади")
		c.expect("<b>1. Аналіз наявності та стану даних територіальної громади</b>",
			"Стан: 🟠 Відстає", "Поточне значення: 30%", "Ціль на кінець 2026 року: 66,6%",
			"Останні звіти:", "28.11.2026 — 30%", "24.11.2026 — 10%")
		c.expectNot("23.11.2026 — 5%")
		c.expectButtons("⬅️ До списку")
		c.expectNot("✍️")

		c.press("⬅️ До списку")
		c.press("Далі ▶️")
		c.press("11. Метадані")
		c.expect("Поточне значення: так", "Ціль на кінець 2026 року: так")

		c.send("/indicators Миколаївська")
		c.press("Миколаївська (Одеська обл.)")
		c.expect("📋 <b>Індикатори громади Миколаївська (Одеська обл.), 2026</b>", "⚪ 1. Аналіз даних громади — ще не звітували")
	})
}

func TestSubscribe(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		c := w.chat(t, residentID)
		c.send("/subscribe Ірпінь")
		c.expect("🔔 Ви підписалися на щотижневий дайджест громади <b>Ірпінська (Київська обл.)</b>.")
		c.expectButtons("🔕 Відписатися")
		if u := w.user(residentID); !u.Subscribed || u.CommunityID != w.community("Ірпінська").ID {
			t.Fatalf("after /subscribe: %+v", u)
		}
		c.press("🔕 Відписатися")
		c.expect("🔕 Ви відписалися від щотижневого дайджесту.")
		if w.user(residentID).Subscribed {
			t.Fatal("still subscribed after unsubscribing")
		}
		c.send("/unsubscribe")
		c.expect("Ви не підписані на дайджест.")
		c.press("🔔 Підписатися")
		c.expect("дайджест громади <b>Ірпінська (Київська обл.)</b>")
		if !w.user(residentID).Subscribed {
			t.Fatal("the subscribe button did not subscribe")
		}
		t.Run("FromTheCardOfAnotherCommunity", func(t *testing.T) {
			c.send("Буча")
			c.press("🔔 Підписатися")
			if u := w.user(residentID); u.CommunityID != w.community("Бучанська").ID || !u.Subscribed {
				t.Errorf("after subscribing from Буча's card: %+v", u)
			}
		})
		t.Run("SeveralMatches", func(t *testing.T) {
			c.send("/subscribe Миколаївська")
			c.press("Миколаївська (Миколаївська обл.)")
			c.expect("дайджест громади <b>Миколаївська (Миколаївська обл.)</b>")
		})
	})
}

func TestChangeCommunityAndLanguage(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		c := w.chat(t, residentID)
		c.send("/community Буча")
		c.expect("Ваша громада: <b>Бучанська (Київська обл.)</b>.")
		c.press("🏘 Змінити громаду")
		c.expect("Напишіть назву вашої громади")
		c.send("Атлантида")
		c.expect("Не знайшов громади «Атлантида»")
		c.send("Ірпінь")
		c.expect("Ваша громада: <b>Ірпінська (Київська обл.)</b>.")
		c.press("🌐 Мова / Language")
		c.press("🇬🇧 English")
		c.expect("Language: English.", "Your community: <b>Ірпінська (Київська обл.)</b>.")
		c.send("/score")
		c.expect("Digital index 2026", "23 indicators")
		c.send("/language")
		c.send("українська")
		c.expect("Мова: українська.")
		if u := w.user(residentID); u.Language != "uk" || u.CommunityID != w.community("Ірпінська").ID {
			t.Errorf("user = %+v", u)
		}
		t.Run("CDTOCannotChangeCommunity", func(t *testing.T) {
			w.makeCDTO(cdtoID, "Бучанська")
			d := w.chat(t, cdtoID)
			d.send("/community Ірпінь")
			d.expect("Ви — CDTO громади <b>Бучанська (Київська обл.)</b>")
			d.send("/subscribe Ірпінь")
			d.expect("Ви — CDTO громади")
			if u := w.user(cdtoID); u.CommunityID != w.community("Бучанська").ID || u.Role != hromadabot.RoleCDTO {
				t.Errorf("CDTO changed: %+v", u)
			}
		})
	})
}

func TestEscaping(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		evil := &hromadabot.Community{Name: "Громада <script>&", Oblast: "Тестова", Center: "Зламівка"}
		if err := w.db.CreateCommunity(context.Background(), evil, "cli"); err != nil {
			t.Fatal(err)
		}
		c := w.chat(t, residentID)
		c.send("Зламівка")
		c.expect("<b>Громада &lt;script&gt;&amp; (Тестова обл.)</b>")
		c.expectNot("<script>")
		c.send("/subscribe Зламівка")
		c.expect("&lt;script&gt;&amp;")
		c.send("/menu")
		c.expect("Ваша громада: <b>Громада &lt;script&gt;&amp; (Тестова обл.)</b>")
	})
}

func TestUnknownInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		c := w.chat(t, residentID)
		c.send("/nosuchcommand")
		c.expect("Не знаю такої команди")
		c.sendFile("photo", "AgADphoto", "", "")
		c.expect("Напишіть назву громади, команду")
		c.send("/score@hromada_bot Буча")
		c.expect("<b>Бучанська (Київська обл.)</b>")
	})
}

func TestUnknownStateVersion(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		c := w.chat(t, residentID)
		c.send("Буча")
		old := c.button("🏆 Рейтинг").Payload
		chatKey := hromadabot.PlatformTelegram + ":" + residentID
		for _, stored := range []string{`{"v":99,"step":"menu","seq":5}`, `not json`, `{"v":1,"step":"value","seq":5}`} {
			err := w.states.Update(context.Background(), chatKey, func([]byte) ([]byte, error) { return []byte(stored), nil })
			if err != nil {
				t.Fatal(err)
			}
			c.pressPayload(old)
			c.expect("розмову почато спочатку", "Громаду ще не обрано")
			c.expectNot(staleText)
			c.send("/score Ірпінь")
			c.expect("<b>Ірпінська (Київська обл.)</b>")
		}
	})
}

// TestPayloads checks the payload rules on a menu: every payload is
// versioned and a different one per button.
func TestPayloads(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.makeCDTO(cdtoID, "Бучанська")
		c := w.chat(t, cdtoID)
		out := c.send("/menu")
		seen := map[string]bool{}
		for _, row := range out[0].Buttons {
			for _, b := range row {
				if !strings.HasPrefix(b.Payload, "1:") || seen[b.Payload] {
					t.Errorf("payload %q: want a distinct payload of version 1", b.Payload)
				}
				seen[b.Payload] = true
			}
		}
		if len(seen) < 6 {
			t.Errorf("menu has %d buttons", len(seen))
		}
	})
}

// TestUnsupported: a sticker or a location is answered with what the bot
// reads, the reply keeps the live menu, and the menu's buttons still work.
func TestUnsupported(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		c := w.chat(t, residentID)
		c.send("/start")
		c.expectButtons("🇺🇦 Українська", "🇬🇧 English")
		for _, what := range []string{"sticker", "location"} {
			ev := c.event()
			ev.Unsupported = what
			out := c.handle(ev)
			c.expect("Я розумію текст, кнопки, фото й документи")
			if len(out) != 1 || !out[0].KeepMenu {
				t.Fatalf("%s: replies %+v, want one that keeps the menu", what, out)
			}
		}
		c.press("🇺🇦 Українська")
		c.expect("Мова: українська.")
	})
}
