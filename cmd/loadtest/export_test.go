package main

import (
	"io"

	goredis "github.com/redis/go-redis/v9"
)

// ParseSteps is parseSteps, for the tests.
var ParseSteps = parseSteps

// EchoBot and NextEchoState are the echo bot's, for the tests.
var (
	EchoBot       = echoBot
	NextEchoState = nextEchoState
)

// StateStore is the echo bot's dialog state store.
type StateStore = stateStore

// WriteOnlyStates is the echo bot's state store that only writes.
func WriteOnlyStates(client goredis.UniversalClient, prefix string) StateStore {
	return writeOnlyStates{client: client, prefix: prefix}
}

// EchoStateFlag is the -echo-state that args come to.
func EchoStateFlag(args ...string) (string, error) {
	o, err := parseFlags(args, func(string) string { return "" }, io.Discard)
	return o.echoState, err
}
