package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name     string
		level    string
		terminal bool
		// logged are the messages of debug, info, warn and error that reach the output.
		logged []string
	}{
		{"DefaultInfoOK", "", false, []string{"info", "warn", "error"}},
		{"DebugOK", "debug", false, []string{"debug", "info", "warn", "error"}},
		{"InfoOK", "info", false, []string{"info", "warn", "error"}},
		{"WarnOK", "warn", false, []string{"warn", "error"}},
		{"ErrorOK", "error", false, []string{"error"}},
		{"UpperCaseOK", " WARN ", false, []string{"warn", "error"}},
		{"TerminalTextOK", "debug", true, []string{"debug", "info", "warn", "error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := main.NewLogger(&buf, tt.level, tt.terminal)
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("debug", "user", 42)
			log.Info("info", "user", 42)
			log.Warn("warn", "user", 42)
			log.Error("error", "user", 42)
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if len(lines) != len(tt.logged) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tt.logged), buf.String())
			}
			for i, line := range lines {
				var rec map[string]any
				isJSON := json.Unmarshal([]byte(line), &rec) == nil
				if isJSON == tt.terminal {
					t.Fatalf("line %q: JSON %v, want %v", line, isJSON, !tt.terminal)
				}
				if tt.terminal {
					if !strings.Contains(line, "msg="+tt.logged[i]) || !strings.Contains(line, "user=42") {
						t.Errorf("text line %q, want msg=%s user=42", line, tt.logged[i])
					}
					continue
				}
				if rec["msg"] != tt.logged[i] || rec["user"] != float64(42) || rec["level"] != strings.ToUpper(tt.logged[i]) {
					t.Errorf("JSON line %q, want msg %s", line, tt.logged[i])
				}
			}
		})
	}
	for _, bad := range []string{"verbose", "trace", "0"} {
		t.Run("ErrInvalid_"+bad, func(t *testing.T) {
			_, err := main.NewLogger(&bytes.Buffer{}, bad, false)
			if err == nil {
				t.Fatalf("LOG_LEVEL=%s accepted", bad)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "LOG_LEVEL: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting with LOG_LEVEL", msg)
			}
		})
	}
}

func TestLogsToTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		w    any
	}{
		{"FileNotTerminal", f},
		{"BufferNotTerminal", &bytes.Buffer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := tt.w.(interface{ Write([]byte) (int, error) })
			if main.LogsToTerminal(w) {
				t.Error("reported as a terminal")
			}
		})
	}
}
