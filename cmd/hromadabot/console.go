package main

import (
	"context"
	"errors"
)

// cmdDemo starts the bot on embedded defaults with a console chat.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	if err := noArgs(e, newFlags("demo"), args); err != nil {
		return err
	}
	return errors.New("demo: not built in this version")
}

// cmdConsole chats with the bot in the terminal.
func cmdConsole(ctx context.Context, e *env, args []string) error {
	if err := noArgs(e, newFlags("console"), args); err != nil {
		return err
	}
	return errors.New("console: not built in this version")
}
