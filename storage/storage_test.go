package storage_test

import (
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot/storage"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, url, engine, target string
	}{
		{"OKPlainPath", "./hromada.db", storage.EngineSQLite, "./hromada.db"},
		{"OKAbsolutePath", "/data/hromada.db", storage.EngineSQLite, "/data/hromada.db"},
		{"OKWindowsPath", `C:\bot\hromada.db`, storage.EngineSQLite, `C:\bot\hromada.db`},
		{"OKSQLiteURL", "sqlite:/data/hromada.db", storage.EngineSQLite, "/data/hromada.db"},
		{"OKSQLiteURLSlashes", "sqlite:///data/hromada.db", storage.EngineSQLite, "/data/hromada.db"},
		{"OKPostgres", "postgres://bot:pw@db:5432/hromadabot", storage.EnginePostgres, "postgres://bot:pw@db:5432/hromadabot"},
		{"OKPostgresql", "postgresql://db/hromadabot?sslmode=disable", storage.EnginePostgres, "postgresql://db/hromadabot?sslmode=disable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine, target, err := storage.Parse(tc.url)
			if err != nil || engine != tc.engine || target != tc.target {
				t.Fatalf("Parse(%q) = %q, %q, %v; want %q, %q", tc.url, engine, target, err, tc.engine, tc.target)
			}
		})
	}
	for _, tc := range []struct{ name, url string }{
		{"ErrEmpty", ""},
		{"ErrUnknownEngine", "mysql://bot:pw@db/hromadabot"},
		{"ErrSQLiteWithoutPath", "sqlite:"},
		{"ErrPostgresInvalid", "postgres://bot:pw@db:port/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := storage.Parse(tc.url)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.url)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
}
