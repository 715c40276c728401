package main

import (
	"bytes"
	"context"
	"io"
)

// RunMain runs a command line in-process as main does, with its own stdin
// and environment, and returns what it printed and its exit code.
func RunMain(ctx context.Context, args []string, stdin io.Reader, getenv func(string) string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, &env{stdin: stdin, stdout: &out, stderr: &errOut, getenv: getenv})
	return out.String(), errOut.String(), code
}

// RunMainStreams runs a command line in-process as main does, writing to
// the given streams as it goes.
func RunMainStreams(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(ctx, args, &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv})
}
