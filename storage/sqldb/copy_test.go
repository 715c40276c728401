package sqldb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/postgres"
	"github.com/hromadabot/hromadabot/storage/postgres/pgtest"
	"github.com/hromadabot/hromadabot/storage/recordtest"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// openSQLite opens a fresh SQLite database in the test's temporary
// directory, closed when the test ends, and returns it with its file.
func openSQLite(t *testing.T) (*sqldb.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hromada.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db, path
}

// openPostgres opens a store in a fresh PostgreSQL schema, closed when the
// test ends, and returns it with its URL; without POSTGRES_URL the test is
// skipped.
func openPostgres(t *testing.T) (*sqldb.DB, string) {
	t.Helper()
	u := pgtest.Schema(t)
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db, u
}

// fill stores some of every record in db: the national registry and one
// community added by hand (no KATOTTG code), own targets, a CDTO and
// residents, reports from a chat (one retracted) and from an import, a
// used and an unused invite, a broadcast under way and a file. It returns
// the community with the CDTO's reports.
func fill(t *testing.T, db *sqldb.DB) *hromadabot.Community {
	t.Helper()
	ctx := context.Background()
	// Milliseconds on the clock: the copy must keep them.
	clock := recordtest.NewClock(time.Date(2026, 3, 2, 9, 15, 30, 123e6, time.UTC))
	db.SetClock(clock.Now)

	recordtest.MustLoadHromadas(t, db)
	cs, err := db.Communities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &cs[len(cs)/2]
	own := recordtest.MustCreateCommunity(t, db, "Тестова", "Київська")
	if err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{
		1: {2025: 20, 2026: 50, 2027: 30}, 9: {2026: 100},
	}, "cli"); err != nil {
		t.Fatal(err)
	}

	cdto := recordtest.MustEnsureUser(t, db, "100")
	recordtest.MustMakeCDTO(t, db, cdto, c.ID)
	resident := recordtest.MustEnsureUser(t, db, "200")
	resident.CommunityID, resident.Subscribed, resident.Language = own.ID, true, hromadabot.LangEN
	if err := db.UpdateUser(ctx, resident, "telegram:200"); err != nil {
		t.Fatal(err)
	}

	for _, r := range []struct {
		indicator int
		value     float64
	}{{1, 12.5}, {2, 33.3}, {11, 1}, {4, 31.25}, {1, 40}} {
		clock.Add(time.Hour + 7*time.Millisecond)
		recordtest.MustCreateReport(t, db, c.ID, r.indicator, r.value, cdto.ID)
	}
	clock.Add(time.Minute)
	if _, err := db.RetractLastReport(ctx, cdto.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateReports(ctx, []hromadabot.Report{
		{CommunityID: own.ID, IndicatorID: 3, Value: 0.1, Comment: "з таблиці", Evidence: "https://example.org/a", Source: hromadabot.SourceImport,
			CreatedAt: time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC)},
		{CommunityID: own.ID, IndicatorID: 12, Value: 0, Source: hromadabot.SourceImport},
	}, "cli"); err != nil {
		t.Fatal(err)
	}

	code, err := db.CreateInvite(ctx, own.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if _, err := db.AcceptInvite(ctx, code, recordtest.MustEnsureUser(t, db, "300").ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateInvite(ctx, c.ID, "cli"); err != nil {
		t.Fatal(err)
	}

	b := recordtest.MustCreateBroadcast(t, db, "digest:2026-W10", recordtest.MustRecipients(t, db, 3))
	if ok, err := db.ClaimBroadcast(ctx, b.ID, "host-a", time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	pending, err := db.PendingRecipients(ctx, b.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if held, err := db.RecordRecipients(ctx, b.ID, "host-a", time.Minute, []hromadabot.RecipientResult{
		{ID: pending[0].ID, UserID: pending[0].UserID, State: hromadabot.RecipientSent, Attempts: 1, At: clock.Now()},
		{ID: pending[1].ID, UserID: pending[1].UserID, State: hromadabot.RecipientFailed, Attempts: 3, Error: "помилка"},
	}); err != nil || !held {
		t.Fatalf("record: %v, %v", held, err)
	}

	data := []byte{0, 1, 2, 0xff, '\n', 'x'}
	if err := db.PutFile(ctx, &hromadabot.File{ID: hromadabot.FileID(data), Kind: hromadabot.FileEvidence,
		Name: "фото.jpg", ContentType: "image/jpeg", Data: data}); err != nil {
		t.Fatal(err)
	}
	return c
}

// mustCopy copies from into to and checks the report against both sides'
// checksums.
func mustCopy(t *testing.T, from, to *sqldb.DB) *sqldb.CopyReport {
	t.Helper()
	r, err := sqldb.Copy(context.Background(), from, to)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	want := mustChecksums(t, from)
	if got := mustChecksums(t, to); !reflect.DeepEqual(got, want) {
		t.Fatalf("target checksums\n%v\nwant the source's\n%v", got, want)
	}
	if !reflect.DeepEqual(r.Tables, want) {
		t.Fatalf("report %v, want %v", r.Tables, want)
	}
	return r
}

func mustChecksums(t *testing.T, db *sqldb.DB) []sqldb.TableSum {
	t.Helper()
	sums, err := sqldb.Checksums(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// assertSameAnswers fails unless both stores answer alike what the bot
// and the site ask of them.
func assertSameAnswers(t *testing.T, want, got *sqldb.DB, c *hromadabot.Community) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []struct {
		name string
		of   func(db *sqldb.DB) (any, error)
	}{
		{"Ranking", func(db *sqldb.DB) (any, error) { return db.Ranking(ctx, 2026) }},
		{"Score", func(db *sqldb.DB) (any, error) { return db.Score(ctx, c.ID, 2026) }},
		{"Plan", func(db *sqldb.DB) (any, error) { return db.Plan(ctx, c.ID) }},
		{"DefaultPlan", func(db *sqldb.DB) (any, error) { return db.DefaultPlan(), nil }},
		{"Communities", func(db *sqldb.DB) (any, error) { return db.Communities(ctx) }},
		{"Reports", func(db *sqldb.DB) (any, error) { return db.Reports(ctx, hromadabot.ReportFilter{}) }},
		{"Users", func(db *sqldb.DB) (any, error) { return db.Users(ctx, hromadabot.UserFilter{}) }},
		{"AuditLog", func(db *sqldb.DB) (any, error) { return db.AuditLog(ctx, 1000) }},
		{"Broadcasts", func(db *sqldb.DB) (any, error) { return db.Broadcasts(ctx, 10) }},
	} {
		w, err := q.of(want)
		if err != nil {
			t.Fatalf("%s of the source: %v", q.name, err)
		}
		g, err := q.of(got)
		if err != nil {
			t.Fatalf("%s of the target: %v", q.name, err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s of the target\n%+v\nwant the source's\n%+v", q.name, g, w)
		}
	}
}

// assertFreshIDs fails unless a report and a user stored in db after the
// copy take the ids after the copied ones.
func assertFreshIDs(t *testing.T, db *sqldb.DB, c *hromadabot.Community) {
	t.Helper()
	ctx := context.Background()
	rs, err := db.Reports(ctx, hromadabot.ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	us, err := db.Users(ctx, hromadabot.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	cdtos, err := db.Users(ctx, hromadabot.UserFilter{CommunityID: c.ID, Role: hromadabot.RoleCDTO})
	if err != nil || len(cdtos) != 1 {
		t.Fatalf("CDTOs of %d: %v, %v", c.ID, cdtos, err)
	}
	maxReport := slices.MaxFunc(rs, func(a, b hromadabot.Report) int { return int(a.ID - b.ID) }).ID
	maxUser := slices.MaxFunc(us, func(a, b hromadabot.User) int { return int(a.ID - b.ID) }).ID

	// CreateReport writes an audit row and a current value too.
	r := recordtest.MustCreateReport(t, db, c.ID, 5, 70, cdtos[0].ID)
	if r.ID != maxReport+1 {
		t.Errorf("new report id %d, want %d", r.ID, maxReport+1)
	}
	u := recordtest.MustEnsureUser(t, db, "999999")
	if u.ID != maxUser+1 {
		t.Errorf("new user id %d, want %d", u.ID, maxUser+1)
	}
	if _, err := db.CreateInvite(ctx, c.ID, "cli"); err != nil {
		t.Errorf("new invite: %v", err)
	}
}

func TestCopy(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		from, _ := openSQLite(t)
		c := fill(t, from)
		to, _ := openSQLite(t)
		r := mustCopy(t, from, to)
		for _, s := range r.Tables {
			if s.Rows == 0 {
				t.Errorf("table %s: no rows copied; fill should store some in every table", s.Table)
			}
		}
		assertSameAnswers(t, from, to, c)
		assertFreshIDs(t, to, c)
	})

	t.Run("OKEmptySource", func(t *testing.T) {
		from, _ := openSQLite(t)
		to, _ := openSQLite(t)
		mustCopy(t, from, to)
		if n, err := to.CountCommunities(ctx); err != nil || n != 0 {
			t.Fatalf("communities = %d, %v; want none", n, err)
		}
	})

	t.Run("ErrTargetNotEmpty", func(t *testing.T) {
		from, _ := openSQLite(t)
		recordtest.MustCreateCommunity(t, from, "Бучанська", "Київська")
		for _, tc := range []struct {
			name  string
			table string
			add   func(t *testing.T, db *sqldb.DB)
		}{
			{"Community", "communities", func(t *testing.T, db *sqldb.DB) {
				recordtest.MustCreateCommunity(t, db, "Ірпінська", "Київська")
			}},
			{"User", "users", func(t *testing.T, db *sqldb.DB) { recordtest.MustEnsureUser(t, db, "1") }},
			{"File", "files", func(t *testing.T, db *sqldb.DB) {
				data := []byte("png")
				if err := db.PutFile(ctx, &hromadabot.File{ID: hromadabot.FileID(data), Kind: hromadabot.FilePicture, ContentType: "image/png", Data: data}); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				to, _ := openSQLite(t)
				tc.add(t, to)
				before := mustChecksums(t, to)
				_, err := sqldb.Copy(ctx, from, to)
				recordtest.AssertError(t, err, hromadabot.ECONFLICT, "target_not_empty")
				if !strings.Contains(err.Error(), tc.table+" has 1 row;") {
					t.Errorf("error %q does not name table %s and its row", err, tc.table)
				}
				if after := mustChecksums(t, to); !reflect.DeepEqual(after, before) {
					t.Errorf("target changed:\n%v\nwas\n%v", after, before)
				}
			})
		}
	})

	t.Run("ErrSourceValueUnreadable", func(t *testing.T) {
		from, path := openSQLite(t)
		recordtest.MustCreateCommunity(t, from, "Бучанська", "Київська")
		// SQLite keeps a text that is no number as it is, even in an
		// INTEGER column.
		mustExecRaw(t, "sqlite3", path, `UPDATE communities SET population = 'many'`)
		to, _ := openSQLite(t)
		before := mustChecksums(t, to)
		_, err := sqldb.Copy(ctx, from, to)
		if err == nil || !strings.Contains(err.Error(), "communities") || !strings.Contains(err.Error(), "population") {
			t.Fatalf("error %v, want one naming communities.population", err)
		}
		if after := mustChecksums(t, to); !reflect.DeepEqual(after, before) {
			t.Errorf("target changed:\n%v\nwas\n%v", after, before)
		}
	})

	t.Run("ErrSameDatabase", func(t *testing.T) {
		db, _ := openSQLite(t)
		_, err := sqldb.Copy(ctx, db, db)
		recordtest.AssertError(t, err, hromadabot.EINVALID, "copy_same_database")
	})
}

// TestCopyPostgres copies SQLite to PostgreSQL and back.
func TestCopyPostgres(t *testing.T) {
	ctx := context.Background()

	t.Run("OKRoundTrip", func(t *testing.T) {
		pg, _ := openPostgres(t)
		src, _ := openSQLite(t)
		c := fill(t, src)
		mustCopy(t, src, pg)
		assertSameAnswers(t, src, pg, c)
		back, _ := openSQLite(t)
		mustCopy(t, pg, back)
		assertSameAnswers(t, src, back, c)
		// The sequences moved past the copied ids.
		assertFreshIDs(t, pg, c)
	})

	t.Run("ErrTargetNotEmpty", func(t *testing.T) {
		from, _ := openSQLite(t)
		to, _ := openPostgres(t)
		recordtest.MustCreateCommunity(t, to, "Ірпінська", "Київська")
		before := mustChecksums(t, to)
		_, err := sqldb.Copy(ctx, from, to)
		recordtest.AssertError(t, err, hromadabot.ECONFLICT, "target_not_empty")
		if after := mustChecksums(t, to); !reflect.DeepEqual(after, before) {
			t.Errorf("target changed:\n%v\nwas\n%v", after, before)
		}
	})

	t.Run("ErrTargetRejectsRow", func(t *testing.T) {
		to, _ := openPostgres(t)
		from, path := openSQLite(t)
		recordtest.MustLoadHromadas(t, from)
		recordtest.MustEnsureUser(t, from, "1")
		// PostgreSQL checks that a flag is 0 or 1; SQLite does not.
		mustExecRaw(t, "sqlite3", path, `UPDATE users SET blocked = 2`)
		before := mustChecksums(t, to)
		_, err := sqldb.Copy(ctx, from, to)
		if err == nil || !strings.Contains(err.Error(), "copy users") {
			t.Fatalf("error %v, want the users copy refused", err)
		}
		// The communities written before are rolled back with the rest.
		if after := mustChecksums(t, to); !reflect.DeepEqual(after, before) {
			t.Errorf("target changed:\n%v\nwas\n%v", after, before)
		}
	})
}

// mustExecRaw runs q on the database at dsn behind the store's back.
func mustExecRaw(t *testing.T, driver, dsn, q string) {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// TestCopyCoversSchema checks that Copy and Checksums know every table of
// both schemas but the ones each database keeps for itself: a table added
// by a migration must be described in copy.go too.
func TestCopyCoversSchema(t *testing.T) {
	own := []string{"catalog_changes", "goose_db_version", "user_changes"}
	for _, tc := range []struct {
		name   string
		open   func(t *testing.T) (*sqldb.DB, string)
		driver string
		tables string
	}{
		{"OKSQLite", openSQLite, "sqlite3", `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`},
		{"OKPostgres", openPostgres, "pgx", `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, dsn := tc.open(t)
			raw, err := sql.Open(tc.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			rows, err := raw.Query(tc.tables)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var tables []string
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				tables = append(tables, name)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			known := slices.Clone(own)
			for _, s := range mustChecksums(t, db) {
				known = append(known, s.Table)
			}
			slices.Sort(tables)
			slices.Sort(known)
			if !slices.Equal(tables, known) {
				t.Fatalf("schema tables %v, Copy knows %v", tables, known)
			}
		})
	}
}
