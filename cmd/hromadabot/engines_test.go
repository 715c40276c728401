package main_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot/storage/postgres/pgtest"
)

// TestCommandsOnEitherEngine runs one administrator's session, every
// command that touches the records, on SQLite and on PostgreSQL, and
// compares what they print and write: the same to the digit, but for
// what is made anew on every run (invite codes, the time of an export).
func TestCommandsOnEitherEngine(t *testing.T) {
	pgURL := pgtest.Schema(t)
	dir := t.TempDir()
	session := func(db string) []string {
		c := &cli{t: t, dir: dir, env: map[string]string{"DATABASE_URL": db}}
		reports := c.write("reports.csv", "громада;індикатор;значення;коментар\nБуча;2;40%;петиції\nІрпінь;11;так;\nВінниця;21;100;\n")
		plan := c.write("plan.csv", "indicator;2025;2026;2027\n1;20;60;90\n")
		var out []string
		for _, args := range [][]string{
			{"community", "load"},
			{"community", "load"},
			{"community", "add", "--name", "Тестова", "--oblast", "Київська", "--center", "Тест"},
			{"community", "list", "--oblast", "Київська", "--json"},
			{"invite", "--community", "Буча"},
			{"report", "--community", "Буча", "--indicator", "1", "--value", "50", "--comment", "Аудит даних", "--evidence", "https://example.org/a"},
			{"report", "--community", "Ірпінь", "--indicator", "5", "--value", "20,5"},
			{"report", "--community", "Буча", "--indicator", "11", "--value", "так"},
			{"report", "--community", "Буча", "--indicator", "1", "--value", "101"},
			{"report", "--community", "Тестова", "--indicator", "3", "--value", "1/3"},
			{"import", reports},
			{"import", plan, "--community", "Буча"},
			{"score", "--community", "Буча", "--year", "2026"},
			{"score", "--community", "Ірпінь", "--year", "2025", "--json"},
			{"ranking", "--year", "2026", "--limit", "5"},
			{"ranking", "--year", "2027", "--json", "--limit", "3"},
			{"export", "--table", "scores", "--year", "2026"},
			{"export", "--format", "json", "--table", "latest_values"},
			{"broadcast", "send", "--audience", "cdto", "--text", "Звіт до п'ятниці"},
			{"broadcast", "status"},
		} {
			stdout, stderr, code := c.run(args...)
			out = append(out, strings.Join(args[:min(2, len(args))], " ")+": "+mask(stdout+stderr)+"; exit "+string(rune('0'+code)))
		}
		return out
	}
	sqlite := session("sqlite:" + filepath.Join(dir, "hromada.db"))
	postgres := session(pgURL)
	// The session does what it says: a value out of range refused, the
	// rest stored and scored.
	if !strings.HasSuffix(sqlite[8], "exit 1") || !strings.Contains(sqlite[12], "Бучанська") || !strings.HasSuffix(sqlite[12], "exit 0") {
		t.Fatalf("the session did not run as written:\n%s", strings.Join(sqlite, "\n"))
	}
	for i := range sqlite {
		if sqlite[i] != postgres[i] {
			t.Errorf("step %d differs:\n  SQLite:     %s\n  PostgreSQL: %s", i+1, sqlite[i], postgres[i])
		}
	}
}

// anew is what a run makes anew: an invite code, an announcement's key,
// the time of an export or of a broadcast.
var anew = regexp.MustCompile(`[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}|announce:[A-Z0-9]+|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?`)

func mask(s string) string { return anew.ReplaceAllString(s, "…") }

// TestDBCopy moves a deployment from SQLite to PostgreSQL and back with
// the command line: the ranking reads the same everywhere, and a copy
// that could lose or mix records is refused.
func TestDBCopy(t *testing.T) {
	c := newCLI(t)
	c.mustRun("report", "--community", "Буча", "--indicator", "1", "--value", "50")
	c.mustRun("report", "--community", "Ірпінь", "--indicator", "11", "--value", "так")
	want := c.mustRun("ranking", "--year", "2026", "--limit", "5")

	t.Run("OKRoundTrip", func(t *testing.T) {
		pg := pgtest.Schema(t)
		back := c.path("back.db")
		out := c.mustRun("db", "copy", "--to", pg)
		if !strings.Contains(out, "counts and checksums agree") || !strings.Contains(out, "communities           1469") {
			t.Fatalf("copy output:\n%s", out)
		}
		c.mustRun("db", "copy", "--from", pg, "--to", back)
		for _, db := range []string{pg, back} {
			if got := c.mustRun("ranking", "--year", "2026", "--limit", "5", "--db", db); got != want {
				t.Errorf("ranking on %s:\n%s\nwant as on the original:\n%s", db, got, want)
			}
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrTargetIsSource", []string{"db", "copy", "--to", c.db}, "--to: is the database to copy from"},
		{"ErrTargetHoldsRecords", []string{"db", "copy", "--to", template}, "--to: the target database is not empty: table communities has 1469 rows"},
		{"ErrSourceMissing", []string{"db", "copy", "--from", c.path("missing.db"), "--to", c.path("new.db")}, "--from: " + c.path("missing.db") + ": no such database file"},
		{"ErrTargetRequired", []string{"db", "copy"}, "--to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.unchanged(func() {
				_, stderr, code := c.run(tc.args...)
				if code == 0 || !strings.Contains(stderr, tc.want) {
					t.Errorf("exit %d, stderr %q; want an error with %q", code, stderr, tc.want)
				}
			})
		})
	}
}
