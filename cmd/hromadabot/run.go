package main

import (
	"context"
	"errors"
)

// cmdRun starts the chat bot with the configuration from the environment.
func cmdRun(ctx context.Context, e *env, args []string) error {
	if err := noArgs(e, newFlags("run"), args); err != nil {
		return err
	}
	return errors.New("run: not built in this version")
}
