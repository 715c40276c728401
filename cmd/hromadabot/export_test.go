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
