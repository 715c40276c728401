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

// ViberID, PathsOf and HasButton are the Viber mode's, for the tests.
var (
	ViberID   = viberID
	PathsOf   = pathsOf
	HasButton = hasButton
)

// ChannelFlags are the -channel and -viber-conns that args come to.
func ChannelFlags(args ...string) (string, int, error) {
	o, err := parseFlags(args, func(string) string { return "" }, io.Discard)
	return o.channel, o.viberConns, err
}

// Steps makes steps of (offered, answered) pairs, each answered without
// failures or timeouts.
func Steps(pairs ...[2]float64) []*step {
	var out []*step
	for _, p := range pairs {
		out = append(out, &step{offered: p[0], answered: p[1], t: &tally{replies: int(p[1])}})
	}
	return out
}

// Compare is compare's ratio and bothKeptUp.
func Compare(telegram, viber []*step, offered int) (float64, bool) {
	c := compare(telegram, viber, offered)
	return c.ratio, c.bothKeptUp
}

// StepAt is the offered rate of stepAt's step, 0 for none.
func StepAt(steps []*step, rate float64) float64 {
	if s := stepAt(steps, rate); s != nil {
		return s.offered
	}
	return 0
}
