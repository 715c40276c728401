package dialogs_test

import (
	"context"
	"html"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/dialogs"
)

var _ dialogs.Announcer = broadcast.Announcer{}

// announceWorld adds the people an announcement goes to: the CDTOs of
// Бучанська and Ірпінська, a resident subscribed to Бучанська's digest and
// one who is not.
func announceWorld(t *testing.T, w *world) {
	t.Helper()
	w.makeCDTO(cdtoID, "Бучанська")
	w.makeCDTO("101", "Ірпінська")
	w.chat(t, residentID).send("/subscribe Буча")
	w.chat(t, resident2ID).send("/score Буча")
}

// jobs returns the stored broadcasts, newest first.
func (w *world) jobs() []hromadabot.BroadcastProgress {
	w.t.Helper()
	bs, err := w.db.Broadcasts(context.Background(), 100)
	if err != nil {
		w.t.Fatal(err)
	}
	return bs
}

// recipients returns the platform ids and the texts a job goes to.
func (w *world) recipients(jobID int64) (ids, texts []string) {
	w.t.Helper()
	rs, err := w.db.PendingRecipients(context.Background(), jobID, 0, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range rs {
		ids = append(ids, r.PlatformID)
		texts = append(texts, r.Text)
	}
	slices.Sort(ids)
	return ids, texts
}

func TestBroadcast(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		announceWorld(t, w)
		const text = "Нарада CDTO у четвер о 10:00 — <b>онлайн</b> & без запису"
		tests := []struct {
			name       string
			button     string
			audience   string
			recipients string
			want       []string
		}{
			{"OKCDTO", "👔 CDTO", "усім CDTO", "2 отримувачі", []string{cdtoID, "101"}},
			{"OKResidents", "🏘 Мешканці", "мешканцям, підписаним на дайджест", "1 отримувач", []string{residentID}},
			{"OKAll", "📢 Усі", "усім CDTO і підписникам дайджесту", "3 отримувачі", []string{cdtoID, "101", residentID}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := len(w.jobs())
				a := w.chat(t, "1")
				a.send("/broadcast")
				a.expect("Кому надіслати оголошення?")
				a.expectButtons("👔 CDTO", "🏘 Мешканці", "📢 Усі", "✖️ Скасувати")
				a.press(tt.button)
				a.expect("Кому: "+tt.audience+".", "Надішліть текст оголошення")
				out := a.send(text)
				if len(out) != 2 || out[0].Text != html.EscapeString(text) || len(out[0].Buttons) != 0 {
					t.Fatalf("preview = %+v, want the escaped text alone, then the question", out)
				}
				a.expect("Кому: " + tt.audience + " — " + tt.recipients + ".")
				a.expectButtons("📨 Надіслати", "✖️ Скасувати")
				send := a.button("📨 Надіслати").Payload
				a.press("📨 Надіслати")
				a.expect("✅ Розсилку № ", "збережено: "+tt.recipients+".")

				jobs := w.jobs()
				if len(jobs) != before+1 {
					t.Fatalf("stored %d jobs, want 1", len(jobs)-before)
				}
				job := jobs[0]
				if job.Kind != hromadabot.BroadcastAnnouncement || job.CreatedBy != adminRef || job.Total != len(tt.want) || job.OverrideQuiet {
					t.Errorf("job = %+v", job.Broadcast)
				}
				a.expect("№ " + strconv.FormatInt(job.ID, 10) + " ")
				ids, texts := w.recipients(job.ID)
				if !slices.Equal(ids, slices.Sorted(slices.Values(tt.want))) {
					t.Errorf("recipients %v, want %v", ids, tt.want)
				}
				for _, got := range texts {
					if got != html.EscapeString(text) {
						t.Errorf("recipient's text %q, want %q", got, html.EscapeString(text))
					}
				}

				a.pressPayload(send)
				a.expect(staleText)
				if n := len(w.jobs()); n != before+1 {
					t.Errorf("pressing Send again stored %d more jobs", n-before-1)
				}
				a.send("Ірпінь") // the flow is over: text is a search again
				a.expect("Цифровий індекс 2026")
			})
		}
	})
}

func TestBroadcastCancel(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		announceWorld(t, w)
		steps := []struct {
			name string
			to   func(a *chat)
		}{
			{"Audience", func(a *chat) { a.send("/broadcast") }},
			{"Text", func(a *chat) { a.send("/broadcast"); a.press("📢 Усі") }},
			{"Preview", func(a *chat) { a.send("/broadcast"); a.press("📢 Усі"); a.send("Оголошення") }},
		}
		for _, st := range steps {
			t.Run(st.name+"/Command", func(t *testing.T) {
				a := w.chat(t, "1")
				st.to(a)
				a.send("/cancel")
				a.expect("Скасовано.")
				a.send("Оголошення після скасування")
				a.expectNot("Кому:")
			})
			t.Run(st.name+"/Button", func(t *testing.T) {
				a := w.chat(t, "1")
				st.to(a)
				a.press("✖️ Скасувати")
				a.expect("Скасовано.")
			})
		}
		t.Run("OldSendIsStale", func(t *testing.T) {
			a := w.chat(t, "1")
			a.send("/broadcast")
			a.press("👔 CDTO")
			a.send("Оголошення")
			send := a.button("📨 Надіслати").Payload
			a.send("/cancel")
			a.pressPayload(send)
			a.expect(staleText)
		})
		if jobs := w.jobs(); len(jobs) != 0 {
			t.Errorf("cancelled flows stored %d jobs", len(jobs))
		}
	})
}

func TestBroadcastInvalid(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		announceWorld(t, w)
		t.Run("ErrNotAdmin", func(t *testing.T) {
			for _, id := range []string{residentID, cdtoID} {
				c := w.chat(t, id)
				c.send("/broadcast")
				c.expect("Ця команда — лише для адміністраторів.")
				c.expectNot("Кому надіслати")
			}
		})
		a := w.chat(t, "1")
		a.send("/broadcast")
		a.press("🏘 Мешканці")
		tests := []struct {
			name string
			send func()
			want string
		}{
			{"ErrTextEmpty", func() { a.send(" \n ") }, "Напишіть текст оголошення."},
			{"ErrTextTooLong", func() { a.send(strings.Repeat("я", broadcast.MaxAnnouncement+1)) }, "Оголошення задовге: не більше 4000 символів."},
			{"ErrFile", func() { a.sendFile("photo", "AgADphoto", "", "Підпис") }, "Розсилка надсилає лише текст"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.send()
				a.expect(tt.want, "Кому: мешканцям, підписаним на дайджест.", "Надішліть текст оголошення")
				a.expectButtons("✖️ Скасувати")
				a.expectNot("📨")
			})
		}
		t.Run("ErrForgedAudience", func(t *testing.T) {
			b := w.chat(t, "1")
			b.send("/broadcast")
			real := b.button("📢 Усі").Payload
			forged := real[:strings.LastIndex(real, ":")+1] + "3"
			b.pressPayload(forged)
			b.expect(staleText)
			b.pressPayload(real)
			b.expect("Кому: усім CDTO і підписникам дайджесту.")
			b.send("/cancel")
		})
		t.Run("TypingAtAudienceAsksAgain", func(t *testing.T) {
			b := w.chat(t, "1")
			b.send("/broadcast")
			b.send("усім")
			b.expect("Кому надіслати оголошення?")
			b.expectButtons("👔 CDTO", "🏘 Мешканці", "📢 Усі")
		})
		t.Run("LongestTextAndNewTextAtPreview", func(t *testing.T) {
			a.send("/broadcast")
			a.press("🏘 Мешканці")
			longest := strings.Repeat("я", broadcast.MaxAnnouncement)
			a.send(longest)
			a.expect("Кому: мешканцям, підписаним на дайджест — 1 отримувач.")
			a.send("Виправлений текст")
			if a.last[0].Text != "Виправлений текст" {
				t.Errorf("preview after a new text = %q", a.last[0].Text)
			}
			a.press("📨 Надіслати")
			a.expect("✅ Розсилку № ")
			jobs := w.jobs()
			if len(jobs) != 1 {
				t.Fatalf("stored %d jobs, want 1", len(jobs))
			}
			if _, texts := w.recipients(jobs[0].ID); !slices.Equal(texts, []string{"Виправлений текст"}) {
				t.Errorf("job texts %q, want the corrected text", texts)
			}
		})
	})
}

func TestBroadcastRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		announceWorld(t, w)
		t.Run("ContinuesAfterRestart", func(t *testing.T) {
			a := w.chat(t, "1")
			a.send("/broadcast")
			a.press("👔 CDTO")
			w.restart()
			a.send("Після перезапуску")
			a.expect("Кому: усім CDTO — 2 отримувачі.")
			w.restart()
			a.press("📨 Надіслати")
			a.expect("збережено: 2 отримувачі.")
			if n := len(w.jobs()); n != 1 {
				t.Errorf("stored %d jobs, want 1", n)
			}
		})
		t.Run("IncompleteStateStartsOver", func(t *testing.T) {
			a := w.chat(t, "1")
			a.send("/broadcast")
			a.press("👔 CDTO")
			// A preview step without its text, as a damaged or foreign state.
			stored := `{"v":1,"step":"preview","seq":5,"ann":{"nonce":"abc","audience":"cdto"}}`
			err := w.states.Update(context.Background(), hromadabot.PlatformTelegram+":1", func([]byte) ([]byte, error) { return []byte(stored), nil })
			if err != nil {
				t.Fatal(err)
			}
			a.pressPayload("1:5:se:0:0")
			a.expect("розмову почато спочатку")
			if n := len(w.jobs()); n != 1 {
				t.Errorf("an incomplete state stored a job: %d jobs", n)
			}
		})
		t.Run("ErrNoLongerAdmin", func(t *testing.T) {
			a := w.chat(t, "1")
			a.send("/broadcast")
			a.press("👔 CDTO")
			a.send("Оголошення")
			w.admins = nil
			w.restart()
			a.press("📨 Надіслати")
			a.expect("Ця команда — лише для адміністраторів.")
			if n := len(w.jobs()); n != 1 {
				t.Errorf("a former admin stored a job: %d jobs", n)
			}
		})
		t.Run("ErrNotConfigured", func(t *testing.T) {
			w.admins, w.announcer = []string{adminRef}, nil
			w.restart()
			a := w.chat(t, "1")
			a.send("/broadcast")
			a.expect("Розсилки в цьому боті не налаштовано.")
			a.expectNot("Кому надіслати")
			r := w.chat(t, residentID)
			r.send("/broadcast")
			r.expect("Ця команда — лише для адміністраторів.")
		})
	})
}
