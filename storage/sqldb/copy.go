package sqldb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hromadabot/hromadabot"
)

// A copy writes rows in multi-row INSERTs: one statement per row would take
// hours for the five million reports of a national database.
const (
	// copyBatchRows is how many rows one INSERT writes at most.
	copyBatchRows = 500
	// copyMaxParams keeps a batch under SQLite's default limit of 32,766
	// host parameters; PostgreSQL's limit, 65,535, is higher.
	copyMaxParams = 32766
	// copyBatchBytes bounds the text and bytes a batch holds, so that a
	// batch of files (up to hromadabot.MaxFileSize each) stays small.
	copyBatchBytes = 16 << 20
)

// kind is how a column's values are read, written and checksummed,
// whatever type the engine and its driver give them. A value of any kind
// may be NULL: the schema, not the copy, says where it is allowed.
type kind int

const (
	// kindInt is an integer, flags (0 or 1) included.
	kindInt kind = iota
	kindFloat
	kindText
	// kindTime is an instant: a DATETIME (or TEXT) column in SQLite, a
	// TIMESTAMPTZ in PostgreSQL.
	kindTime
	kindBlob
)

// column is one column of a copied table.
type column struct {
	name string
	kind kind
}

// table describes a table of the schema once, for the copy, its check of
// the target and its checksums.
type table struct {
	name string
	// columns are every column, in the schema's order: a table with others
	// is refused rather than copied without them.
	columns []column
	// key is the primary key, the order rows are read, written and
	// checksummed in.
	key []string
	// serial is set when id is an identity column in PostgreSQL, whose
	// sequence must move past the copied ids.
	serial bool
	// seed matches the rows Open writes into a fresh database: the check
	// that the target is empty ignores them, and the copy replaces them
	// with the source's.
	seed string
}

// copyTables is the schema in foreign-key order. goose_db_version,
// catalog_changes and user_changes are left out: they are each database's
// own, and the triggers move the target's counters as it is written.
var copyTables = []table{
	{name: "indicators", key: []string{"id"}, serial: true, seed: "1 = 1", columns: []column{
		{"id", kindInt}, {"position", kindInt}, {"short_uk", kindText}, {"short_en", kindText},
		{"title_uk", kindText}, {"title_en", kindText}, {"description_uk", kindText}, {"description_en", kindText},
		{"unit", kindText}, {"baseline", kindFloat}, {"weight", kindFloat},
	}},
	{name: "indicator_targets", key: []string{"indicator_id", "year"}, seed: "1 = 1", columns: []column{
		{"indicator_id", kindInt}, {"year", kindInt}, {"value", kindFloat},
	}},
	{name: "communities", key: []string{"id"}, serial: true, columns: []column{
		{"id", kindInt}, {"katottg", kindText}, {"name", kindText}, {"type", kindText},
		{"full_name", kindText}, {"oblast", kindText}, {"raion", kindText}, {"center", kindText},
		{"population", kindInt}, {"search_key", kindText}, {"created_at", kindTime},
	}},
	{name: "community_targets", key: []string{"community_id", "indicator_id", "year"}, columns: []column{
		{"community_id", kindInt}, {"indicator_id", kindInt}, {"year", kindInt}, {"value", kindFloat},
	}},
	{name: "users", key: []string{"id"}, serial: true, columns: []column{
		{"id", kindInt}, {"platform", kindText}, {"platform_id", kindText}, {"language", kindText},
		{"role", kindText}, {"community_id", kindInt}, {"subscribed", kindInt}, {"blocked", kindInt},
		{"created_at", kindTime}, {"last_seen_at", kindTime},
	}},
	{name: "reports", key: []string{"id"}, serial: true, columns: []column{
		{"id", kindInt}, {"community_id", kindInt}, {"indicator_id", kindInt}, {"value", kindFloat},
		{"comment", kindText}, {"evidence", kindText}, {"reporter_id", kindInt}, {"source", kindText},
		{"created_at", kindTime}, {"dedup_key", kindText}, {"retracted_at", kindTime},
	}},
	{name: "current_values", key: []string{"community_id", "indicator_id"}, columns: []column{
		{"community_id", kindInt}, {"indicator_id", kindInt}, {"report_id", kindInt},
		{"value", kindFloat}, {"updated_at", kindTime},
	}},
	{name: "invites", key: []string{"id"}, serial: true, columns: []column{
		{"id", kindInt}, {"code_hash", kindText}, {"community_id", kindInt}, {"created_by", kindText},
		{"created_at", kindTime}, {"expires_at", kindTime}, {"used_at", kindTime}, {"used_by", kindInt},
	}},
	{name: "audit", key: []string{"id"}, serial: true, seed: "action = 'plan.seed' AND actor = 'system'", columns: []column{
		{"id", kindInt}, {"at", kindTime}, {"actor", kindText}, {"action", kindText},
		{"entity", kindText}, {"entity_id", kindText}, {"old_value", kindText}, {"new_value", kindText},
	}},
	{name: "broadcasts", key: []string{"id"}, serial: true, columns: []column{
		{"id", kindInt}, {"kind", kindText}, {"idem_key", kindText}, {"status", kindText},
		{"override_quiet", kindInt}, {"created_by", kindText}, {"created_at", kindTime},
		{"started_at", kindTime}, {"finished_at", kindTime}, {"total", kindInt},
		{"owner", kindText}, {"lease_until", kindTime},
	}},
	{name: "broadcast_recipients", key: []string{"id"}, serial: true, columns: []column{
		{"id", kindInt}, {"job_id", kindInt}, {"user_id", kindInt}, {"platform", kindText},
		{"platform_id", kindText}, {"text", kindText}, {"buttons", kindText}, {"state", kindText},
		{"attempts", kindInt}, {"last_error", kindText}, {"sent_at", kindTime},
	}},
	{name: "files", key: []string{"id"}, columns: []column{
		{"id", kindText}, {"kind", kindText}, {"name", kindText}, {"content_type", kindText},
		{"data", kindBlob}, {"created_at", kindTime},
	}},
}

// TableSum is what a table holds, in short: its rows and a checksum of
// them that is the same in every engine for the same data.
type TableSum struct {
	Table string
	Rows  int64
	// Checksum is the hex SHA-256 of the rows in primary-key order, each
	// value in one canonical text (see Checksums).
	Checksum string
}

// CopyReport is what Copy copied, as verified on both sides.
type CopyReport struct {
	// Tables are the copied tables in the order they were written.
	Tables []TableSum
	// Elapsed is the whole copy, Verified the part of it spent computing
	// the checksums of both sides after the commit.
	Elapsed, Verified time.Duration
}

// Copy copies every record of from into to, a database just opened and
// holding nothing but what Open seeds, with the same ids: to move a
// deployment between SQLite and PostgreSQL. It reads from in one snapshot
// and writes to in one transaction, so that to holds all of it or, on an
// error before the commit, nothing new; the default plan seeded into to is
// replaced by from's. A target holding any record is refused with
// ECONFLICT "target_not_empty" and left as it is. After the commit it
// compares the row counts and checksums of every table on both sides; a
// difference is an error naming the table, to then holding a copy not to
// be used. Nobody else may use to while Copy runs: it reloads to's plan
// and forgets what to keeps in memory.
func Copy(ctx context.Context, from, to *DB) (*CopyReport, error) {
	start := time.Now()
	if from == to {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "copy_same_database", "the source and the target are the same database")
	}
	src, err := from.beginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: source: %w", err)
	}
	defer src.Rollback()
	dst, err := to.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: target: %w", err)
	}
	defer dst.Rollback()

	for _, t := range copyTables {
		if err := checkColumns(ctx, src, &t); err != nil {
			return nil, fmt.Errorf("copy: source: %w", err)
		}
		if err := checkColumns(ctx, dst, &t); err != nil {
			return nil, fmt.Errorf("copy: target: %w", err)
		}
	}
	if err := checkEmpty(ctx, dst); err != nil {
		return nil, err
	}
	// In reverse order, so that no seeded row is deleted before the rows
	// that refer to it.
	for _, t := range slices.Backward(copyTables) {
		if t.seed == "" {
			continue
		}
		if _, err := dst.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE `+t.seed); err != nil {
			return nil, fmt.Errorf("copy: delete seeded %s: %w", t.name, err)
		}
	}
	for _, t := range copyTables {
		if err := copyTable(ctx, src, dst, &t); err != nil {
			return nil, fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	if isPostgres(to) {
		if err := moveSequences(ctx, dst); err != nil {
			return nil, fmt.Errorf("copy: %w", err)
		}
	}
	// The source's plan is the target's now; checked before the commit.
	plan, err := loadDefaultPlan(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	if err := dst.commit(); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	to.plan = plan
	to.forgetCaches()

	verify := time.Now()
	sums, err := verifyCopy(ctx, src, to)
	if err != nil {
		return nil, err
	}
	return &CopyReport{Tables: sums, Elapsed: time.Since(start), Verified: time.Since(verify)}, nil
}

// isPostgres reports whether db is in PostgreSQL. The Engine says nothing
// of identity sequences or collations, and Copy is the one place that
// needs to know, so it asks the driver: storage/postgres opens "pgx",
// storage/sqlite "sqlite3".
func isPostgres(db *DB) bool {
	return db.write.DriverName() == "pgx"
}

// forgetCaches drops what db keeps in memory of the records: a ranking
// or a plan kept before a copy no longer describes them.
func (db *DB) forgetCaches() {
	db.rankings.mu.Lock()
	db.rankings.byYear = nil
	db.rankings.mu.Unlock()
	db.directory.mu.Lock()
	db.directory.loaded = false
	db.directory.mu.Unlock()
}

// checkColumns fails unless the table's columns in tx's database are the
// ones t describes, in its order: a column added by a later migration and
// not described would otherwise be lost in the copy.
func checkColumns(ctx context.Context, tx *txn, t *table) error {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+t.name+` WHERE 1 = 0`)
	if err != nil {
		return fmt.Errorf("table %s: %w", t.name, err)
	}
	defer rows.Close()
	got, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("table %s: %w", t.name, err)
	}
	want := t.columnNames()
	if !slices.Equal(got, want) {
		return fmt.Errorf("table %s has columns (%s), the copy knows (%s)",
			t.name, strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return rows.Close()
}

// checkEmpty returns ECONFLICT "target_not_empty", naming the first table
// with a row that Open did not seed.
func checkEmpty(ctx context.Context, tx *txn) error {
	for _, t := range copyTables {
		q := `SELECT COUNT(*) FROM ` + t.name
		if t.seed != "" {
			q += ` WHERE NOT (` + t.seed + `)`
		}
		var n int64
		if err := tx.GetContext(ctx, &n, q); err != nil {
			return fmt.Errorf("copy: count target %s: %w", t.name, err)
		}
		if n > 0 {
			rows := "rows"
			if n == 1 {
				rows = "row"
			}
			return hromadabot.Errorf(hromadabot.ECONFLICT, "target_not_empty",
				"the target database is not empty: table %s has %d %s; copy into a new database", t.name, n, rows)
		}
	}
	return nil
}

// copyTable streams t's rows from src into dst in batches. One goroutine
// reads and converts the next batch while another writes the last: either
// side alone leaves the other engine idle for a good part of the copy.
func copyTable(ctx context.Context, src, dst *txn, t *table) error {
	per := min(copyBatchRows, copyMaxParams/len(t.columns))
	full := t.insert(per)
	// Two batches take turns: one filled, one written.
	free := make(chan []any, 2)
	for range cap(free) {
		free <- make([]any, 0, per*len(t.columns))
	}
	batches := make(chan []any)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(batches)
		args, size := <-free, 0
		send := func() error {
			select {
			case batches <- args:
			case <-gctx.Done():
				return gctx.Err()
			}
			select {
			case args = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			size = 0
			return nil
		}
		err := scanTable(ctx, src, t, func(row []any) error {
			for i, v := range row {
				switch v := v.(type) {
				case time.Time:
					// Both engines take the stored text for a time.
					row[i] = formatTime(v)
				case string:
					size += len(v)
				case []byte:
					size += len(v)
				}
			}
			args = append(args, row...)
			if len(args) == cap(args) || size >= copyBatchBytes {
				return send()
			}
			return nil
		})
		if err != nil || len(args) == 0 {
			return err
		}
		return send()
	})
	g.Go(func() error {
		for args := range batches {
			q := full
			if n := len(args) / len(t.columns); n != per {
				q = t.insert(n)
			}
			if _, err := dst.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			free <- args[:0]
		}
		return nil
	})
	return g.Wait()
}

// moveSequences sets each identity sequence of PostgreSQL past the
// largest copied id: inserts with explicit ids do not move it, and the
// next insert would take an id already used.
func moveSequences(ctx context.Context, tx *txn) error {
	for _, t := range copyTables {
		if !t.serial {
			continue
		}
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM %s`, t.name, t.name)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("move %s id sequence: %w", t.name, err)
		}
	}
	return nil
}

// verifyCopy compares the checksums of every table in the source's
// snapshot, which the copy read, with those of the committed target.
func verifyCopy(ctx context.Context, src *txn, to *DB) ([]TableSum, error) {
	type result struct {
		sums []TableSum
		err  error
	}
	target := make(chan result, 1)
	go func() {
		sums, err := Checksums(ctx, to)
		target <- result{sums, err}
	}()
	want, err := checksums(ctx, src)
	got := <-target
	if err != nil {
		return nil, fmt.Errorf("copy: verify source: %w", err)
	}
	if got.err != nil {
		return nil, fmt.Errorf("copy: verify target: %w", got.err)
	}
	for i, w := range want {
		if g := got.sums[i]; g != w {
			return nil, fmt.Errorf("copy: verify %s: the target has %d rows (checksum %s), the source %d (%s)",
				w.Table, g.Rows, g.Checksum, w.Rows, w.Checksum)
		}
	}
	return want, nil
}

// Checksums returns the row count and checksum of every table Copy copies,
// in one snapshot of db. A checksum is the SHA-256 of the table's rows in
// primary-key order, every value in one canonical text whatever the
// engine: integers in decimal, floats in the shortest form that reads back
// the same, times in UTC in the stored layout, bytes in hex, and NULL
// apart from every text. Two databases with the same records have the same
// checksums, in SQLite and PostgreSQL alike.
func Checksums(ctx context.Context, db *DB) ([]TableSum, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return checksums(ctx, tx)
}

func checksums(ctx context.Context, tx *txn) ([]TableSum, error) {
	sums := make([]TableSum, 0, len(copyTables))
	for _, t := range copyTables {
		h := sha256.New()
		var n int64
		var b []byte
		err := scanTable(ctx, tx, &t, func(row []any) error {
			b = b[:0]
			for i, c := range t.columns {
				b = appendCanonical(b, c.kind, row[i])
			}
			h.Write(append(b, '\n'))
			n++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("checksum %s: %w", t.name, err)
		}
		sums = append(sums, TableSum{Table: t.name, Rows: n, Checksum: hex.EncodeToString(h.Sum(nil))})
	}
	return sums, nil
}

// scanTable calls f with every row of t in tx's database, in key order,
// each value normalized by its column's kind (see normalize). f may change
// the row; it is reused for the next.
func scanTable(ctx context.Context, tx *txn, t *table, f func(row []any) error) error {
	rows, err := tx.QueryContext(ctx, t.query(isPostgres(tx.db)))
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	defer rows.Close()
	raw := make([]any, len(t.columns))
	dest := make([]any, len(t.columns))
	for i := range raw {
		dest[i] = &raw[i]
	}
	row := make([]any, len(t.columns))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		for i, c := range t.columns {
			if row[i], err = normalize(c.kind, raw[i]); err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
		}
		if err := f(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	return rows.Close()
}

// normalize turns a value as a driver gives it into the one Go type of its
// kind: nil, int64, float64, string, time.Time (UTC) or []byte. The type a
// driver gives depends on the engine and the column's declared type, not
// only on the kind: mattn/go-sqlite3 gives a DATETIME column's time as a
// time.Time but files.created_at, a TEXT column in SQLite, as a string.
func normalize(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindInt:
		switch v := v.(type) {
		case int64:
			return v, nil
		case bool:
			return int64(flag(v)), nil
		case string:
			return strconv.ParseInt(v, 10, 64)
		case []byte:
			return strconv.ParseInt(string(v), 10, 64)
		}
	case kindFloat:
		switch v := v.(type) {
		case float64:
			return v, nil
		case int64:
			return float64(v), nil
		case string:
			return strconv.ParseFloat(v, 64)
		case []byte:
			return strconv.ParseFloat(string(v), 64)
		}
	case kindText:
		switch v := v.(type) {
		case string:
			return v, nil
		case []byte:
			return string(v), nil
		case int64:
			return strconv.FormatInt(v, 10), nil
		}
	case kindTime:
		switch v := v.(type) {
		case time.Time:
			return v.UTC(), nil
		case string:
			return parseTime(v)
		case []byte:
			return parseTime(string(v))
		}
	case kindBlob:
		switch v := v.(type) {
		case []byte:
			return v, nil
		case string:
			return []byte(v), nil
		}
	}
	return nil, fmt.Errorf("unexpected %T value", v)
}

// appendCanonical appends the canonical text of a normalized value:
// "n" for NULL, else its length, a colon and the text, so that no two
// rows run together alike.
func appendCanonical(b []byte, k kind, v any) []byte {
	if v == nil {
		return append(b, 'n')
	}
	var s string
	switch k {
	case kindInt:
		s = strconv.FormatInt(v.(int64), 10)
	case kindFloat:
		s = strconv.FormatFloat(v.(float64), 'g', -1, 64)
	case kindText:
		s = v.(string)
	case kindTime:
		s = formatTime(v.(time.Time))
	case kindBlob:
		s = hex.EncodeToString(v.([]byte))
	}
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func (t *table) columnNames() []string {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	return names
}

// query selects every row in key order. In PostgreSQL a text key is
// ordered by its bytes, as SQLite orders it, whatever the database's
// collation: the checksums of both must see the rows in one order.
func (t *table) query(postgres bool) string {
	keys := make([]string, len(t.key))
	for i, k := range t.key {
		keys[i] = k
		if postgres && slices.Contains(t.columns, column{k, kindText}) {
			keys[i] += ` COLLATE "C"`
		}
	}
	return `SELECT ` + strings.Join(t.columnNames(), ", ") + ` FROM ` + t.name + ` ORDER BY ` + strings.Join(keys, ", ")
}

// insert is the INSERT of n rows.
func (t *table) insert(n int) string {
	row := "(" + strings.Repeat("?, ", len(t.columns)-1) + "?)"
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + t.name + ` (` + strings.Join(t.columnNames(), ", ") + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
