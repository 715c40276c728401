package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the process's logger writing to w at level (LOG_LEVEL:
// debug, info, warn or error; empty means info). A person at a terminal
// reads text lines; anything else (a container's log collector, a file)
// gets one JSON object per line, which log tools parse without guessing.
// An unknown level is a one-line error naming LOG_LEVEL.
func newLogger(w io.Writer, level string, isTerminal bool) (*slog.Logger, error) {
	lvl := slog.LevelInfo
	if s := strings.TrimSpace(level); s != "" {
		if err := lvl.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", s)
		}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if isTerminal {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// logsToTerminal reports whether w, the log's output, is a terminal
// (standard error run by hand rather than by a container or a service).
func logsToTerminal(w io.Writer) bool {
	r, ok := w.(io.Reader) // an *os.File is both
	return ok && isTerminal(r)
}
