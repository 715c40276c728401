package dialogs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/chart"
	"github.com/hromadabot/hromadabot/dialogs"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// BenchmarkHandle measures the dialogs' cost of one update, the chat
// platform left out but for drawing the pictures it has not got yet: every community of Ukraine in a SQLite file, dialog
// state in Redis (REDIS_URL, else miniredis), the score card cache as the
// bot runs it, and the load harness's mix of people. Four in five are
// residents asking for a community's card and then its ranking; the rest
// are CDTOs going through whole reports (/report N, the value, Skip, Save).
func BenchmarkHandle(b *testing.B) {
	for _, backend := range stateBackends {
		b.Run(backend.name, func(b *testing.B) {
			benchmarkHandle(b, backend.make(b).open())
		})
	}
}

func benchmarkHandle(b *testing.B, states dialogs.StateStore) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hromada.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	all, err := hromadabot.Hromadas()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.LoadHromadas(ctx, all, "cli"); err != nil {
		b.Fatal(err)
	}
	cs, err := db.Communities(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		if found, err := db.FindCommunity(ctx, c.Name); err == nil && found.ID == c.ID {
			names = append(names, c.Name)
		}
	}
	loc, err := locales.New()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := dialogs.New(dialogs.Config{Store: db, States: states, Locales: loc, Chart: chart.NewCache(64).ScoreCard})
	if err != nil {
		b.Fatal(err)
	}
	plan := db.DefaultPlan()

	const residents, cdtos = 2000, 500
	people := make([]*benchPerson, 0, residents+cdtos)
	for i := range residents {
		people = append(people, &benchPerson{id: strconv.Itoa(1_000_000 + i), index: i})
	}
	for i := range cdtos {
		p := &benchPerson{id: strconv.Itoa(2_000_000 + i), index: i, cdto: true}
		u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, p.id, "uk")
		if err != nil {
			b.Fatal(err)
		}
		code, err := db.CreateInvite(ctx, cs[(i*617)%len(cs)].ID, "cli")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.AcceptInvite(ctx, code, u.ID); err != nil {
			b.Fatal(err)
		}
		people = append(people, p)
	}
	script := &benchScript{names: names, plan: &plan, values: map[string]int{}}
	// uploaded are the pictures a channel already holds by key, as
	// Telegram's file_ids: those are never drawn.
	var uploaded sync.Map

	const parallelism = 32
	goroutines := parallelism * runtime.GOMAXPROCS(0)
	var next, updates atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine plays its own people, one update at a time.
		var mine []*benchPerson
		for i := int(next.Add(1)) - 1; i < len(people); i += goroutines {
			mine = append(mine, people[i])
		}
		for n := 0; pb.Next(); n++ {
			p := mine[n%len(mine)]
			ev, expect := script.next(p)
			ev.UpdateID = "telegram:" + strconv.FormatInt(updates.Add(1), 10)
			out, err := eng.Handle(ctx, ev)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.take(out, expect); err != nil {
				b.Fatal(err)
			}
			for _, r := range out {
				if r.Image == nil {
					continue
				}
				if _, known := uploaded.LoadOrStore(r.Image.Key, true); !known {
					if _, err := r.Image.Bytes(); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	})
}

// benchPerson is one simulated person and where their script stands.
type benchPerson struct {
	id     string
	index  int
	cdto   bool
	step   int
	cycles int
	ind    int
	menu   []bot.Button
	// lower is set when the bot asked to confirm a lower value.
	lower bool
}

type benchScript struct {
	names  []string
	plan   *hromadabot.Plan
	mu     sync.Mutex
	values map[string]int
}

// next is the person's next event and a part of the right reply to it.
func (s *benchScript) next(p *benchPerson) (bot.Event, string) {
	ev := bot.Event{Platform: hromadabot.PlatformTelegram, ChatID: p.id, UserID: p.id, LanguageCode: "uk"}
	press := func(label string) {
		for _, b := range p.menu {
			if b.Text == label {
				ev.Payload, ev.MenuID = b.Payload, "menu"
			}
		}
	}
	switch {
	case !p.cdto && p.step == 0:
		ev.Text = "/score " + s.names[(p.index*7919+p.cycles*104729)%len(s.names)]
		return ev, "Цифровий індекс"
	case !p.cdto:
		press("🏆 Рейтинг")
		return ev, "Рейтинг громад"
	case p.step == 0:
		ind := s.plan.Indicators[(p.index+p.cycles)%len(s.plan.Indicators)]
		p.ind = ind.ID
		ev.Text = "/report " + strconv.Itoa(ind.ID)
		return ev, "Поточне значення"
	case p.step == 1 && p.lower:
		press("Так, зменшити")
		return ev, "Додайте коментар"
	case p.step == 1:
		ev.Text = s.value(p)
		return ev, "Додайте коментар"
	case p.step == 2:
		press("Пропустити")
		return ev, "Перевірте звіт:"
	default:
		press("💾 Зберегти")
		return ev, "Звіт збережено"
	}
}

// value rises by 5 points a report, so that it is seldom lower than the
// current one; a lower one is confirmed.
func (s *benchScript) value(p *benchPerson) string {
	if ind, _ := s.plan.Indicator(p.ind); ind.Unit == hromadabot.UnitYesNo {
		return "так"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := p.id + ":" + strconv.Itoa(p.ind)
	s.values[key]++
	return strconv.Itoa(min(100, 5*s.values[key]))
}

// take checks the replies and moves the script on.
func (p *benchPerson) take(out []bot.Reply, expect string) error {
	var text strings.Builder
	for _, r := range out {
		text.WriteString(r.Text)
		if len(r.Buttons) > 0 {
			p.menu = p.menu[:0]
			for _, row := range r.Buttons {
				p.menu = append(p.menu, row...)
			}
		}
	}
	p.lower = false
	switch {
	case strings.Contains(text.String(), expect):
	case p.cdto && p.step == 1 && strings.Contains(text.String(), "Зменшити?"):
		// A value lower than the current one: confirm it next.
		p.lower = true
		return nil
	default:
		return fmt.Errorf("person %s step %d: reply without %q: %q", p.id, p.step, expect, text.String())
	}
	steps := 2
	if p.cdto {
		steps = 4
	}
	if p.step++; p.step == steps {
		p.step, p.cycles = 0, p.cycles+1
	}
	return nil
}
