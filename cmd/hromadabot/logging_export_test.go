package main

// NewLogger and LogsToTerminal expose the logger setup to the external tests.
var (
	NewLogger      = newLogger
	LogsToTerminal = logsToTerminal
)
