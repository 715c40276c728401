package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// template is a database with all communities loaded, and withReports one
// that also has three reports of two communities (see reported); each is
// made once and copied into every test that needs it, which keeps the suite fast.
var template, withReports string

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	dir, err := os.MkdirTemp("", "hromadabot-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	template = filepath.Join(dir, "template.db")
	_, stderr, code := main.RunMain(context.Background(), []string{"community", "load", "--db", template}, nil, func(string) string { return "" })
	if code != 0 {
		fmt.Fprintln(os.Stderr, "community load:", stderr)
		os.Exit(1)
	}
	withReports = filepath.Join(dir, "reports.db")
	for _, args := range [][]string{
		{"community", "load"},
		{"report", "--community", "Буча", "--indicator", "1", "--value", "50", "--comment", "Аудит даних, етап 1", "--evidence", "https://example.org/audit"},
		{"report", "--community", "Буча", "--indicator", "11", "--value", "так"},
		{"report", "--community", "Ірпінь", "--indicator", "5", "--value", "20,5"},
	} {
		_, stderr, code := main.RunMain(context.Background(), append(args, "--db", withReports), nil, func(string) string { return "" })
		if code != 0 {
			fmt.Fprintln(os.Stderr, strings.Join(args, " "), stderr)
			os.Exit(1)
		}
	}
	code = m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the real command line in-process against its own SQLite file.
type cli struct {
	t   *testing.T
	dir string
	db  string
	env map[string]string
}

// newCLI returns a command line whose DATABASE_PATH is a fresh copy of the
// template: every community loaded, nothing reported.
func newCLI(t *testing.T) *cli {
	t.Helper()
	c := newEmptyCLI(t)
	copyFile(t, template, c.db)
	return c
}

// newEmptyCLI returns a command line whose database does not exist yet.
func newEmptyCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "hromada.db")
	return &cli{t: t, dir: dir, db: db, env: map[string]string{"DATABASE_PATH": db}}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(from + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *cli) getenv(name string) string { return c.env[name] }

// run runs the command line and returns what it printed and its exit code.
func (c *cli) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	return main.RunMain(context.Background(), args, strings.NewReader(""), c.getenv)
}

// mustRun runs the command line and fails the test unless it succeeds.
func (c *cli) mustRun(args ...string) string {
	c.t.Helper()
	stdout, stderr, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("hromadabot %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// path returns a file name in the test's directory.
func (c *cli) path(name string) string { return filepath.Join(c.dir, name) }

// write creates a file in the test's directory and returns its path.
func (c *cli) write(name, content string) string {
	c.t.Helper()
	p := c.path(name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// open opens the test's database for assertions; it is closed at cleanup.
func (c *cli) open() *sqldb.DB {
	c.t.Helper()
	db, err := sqlite.Open(context.Background(), c.db)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	return db
}

// dump writes every row of every table of the database as text, so that a
// test can tell that a failed command changed nothing at all.
func (c *cli) dump() string {
	c.t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+c.db+"?mode=ro")
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	var tables []string
	rows, err := conn.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		c.t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			c.t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		fmt.Fprintf(&b, "== %s\n", table)
		rows, err := conn.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			c.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				c.t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

// unchanged runs fn and fails the test if the database differs afterwards.
func (c *cli) unchanged(fn func()) {
	c.t.Helper()
	before := c.dump()
	fn()
	if after := c.dump(); after != before {
		c.t.Errorf("the database changed:\n%s", firstDifference(before, after))
	}
}

func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d: %q became %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines became %d", len(la), len(lb))
}

// communityID resolves a reference the way the commands do.
func (c *cli) communityID(ref string) int64 {
	c.t.Helper()
	com, err := c.open().FindCommunity(context.Background(), ref)
	if err != nil {
		c.t.Fatalf("find %q: %v", ref, err)
	}
	return com.ID
}

// latest returns the community's current values.
func (c *cli) latest(ref string) map[int]float64 {
	c.t.Helper()
	v, err := c.open().LatestValues(context.Background(), c.communityID(ref))
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

func TestHelp(t *testing.T) {
	commands := []string{"run", "demo", "console", "community add", "community list", "community load",
		"invite", "report", "score", "ranking", "export", "import", "help"}

	t.Run("OK", func(t *testing.T) {
		c := newEmptyCLI(t)
		out := c.mustRun("help")
		for _, name := range commands {
			if !strings.Contains(out, "  "+name+" ") {
				t.Errorf("help does not list %q:\n%s", name, out)
			}
		}
	})
	for _, name := range commands {
		t.Run("Command/"+strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			c := newEmptyCLI(t)
			out := c.mustRun(append([]string{"help"}, strings.Fields(name)...)...)
			if !strings.Contains(out, "Usage: hromadabot "+name) {
				t.Errorf("help %s:\n%s", name, out)
			}
		})
	}
	t.Run("FlagsListed", func(t *testing.T) {
		c := newEmptyCLI(t)
		out := c.mustRun("help", "report")
		for _, flag := range []string{"--community", "--indicator", "--value", "--comment", "--evidence", "--db"} {
			if !strings.Contains(out, flag) {
				t.Errorf("help report does not list %s:\n%s", flag, out)
			}
		}
	})
	t.Run("DashH", func(t *testing.T) {
		c := newEmptyCLI(t)
		if out := c.mustRun("score", "-h"); !strings.Contains(out, "--year") {
			t.Errorf("score -h:\n%s", out)
		}
	})

	errCases := []struct {
		name string
		args []string
		want string
	}{
		{"ErrUnknownCommand", []string{"frobnicate"}, `hromadabot: unknown command "frobnicate"`},
		{"ErrUnknownHelpTopic", []string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{"ErrMissingSubcommand", []string{"community"}, "community needs a subcommand: add, list, load"},
		{"ErrUnknownSubcommand", []string{"community", "delete"}, `unknown command "community delete" (community takes add, list, load)`},
		{"ErrUnknownFlag", []string{"score", "--frob"}, "flag provided but not defined"},
		{"ErrNoCommand", nil, "Usage: hromadabot COMMAND"},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			c := newEmptyCLI(t)
			_, stderr, code := c.run(tt.args...)
			if _, err := os.Stat(c.db); !os.IsNotExist(err) {
				t.Errorf("the database was created (%v)", err)
			}
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// TestErrorsAreOneLine checks the shape every failure shares: one line on
// stderr, starting with the program's name.
func TestErrorsAreOneLine(t *testing.T) {
	c := newCLI(t)
	_, stderr, code := c.run("report", "--community", "Миколаївська", "--indicator", "1", "--value", "5")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(stderr, "hromadabot: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line starting with the program's name: %q", stderr)
	}
}
