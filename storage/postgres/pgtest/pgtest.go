// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server POSTGRES_URL names, dropped when the test ends.
// Without POSTGRES_URL the test is skipped, saying so; .ci/run sets it, so
// that in CI every PostgreSQL test runs.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// ServerURL returns POSTGRES_URL, or skips the test when it is not set.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("POSTGRES_URL")
	if u == "" {
		tb.Skip("POSTGRES_URL is not set: the PostgreSQL tests are skipped (.ci/run sets it)")
	}
	return u
}

// Schema makes an empty schema on the server and returns the URL whose
// connections work in it: a fresh database in milliseconds. The schema is
// dropped when the test ends, after everything the test opened on it has
// closed.
func Schema(tb testing.TB) string {
	tb.Helper()
	server := ServerURL(tb)
	admin, err := sql.Open("pgx", server)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	// Registered before the test opens anything on the schema, so run
	// after all of it is closed.
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
