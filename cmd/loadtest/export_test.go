package main

// ParseSteps is parseSteps, for the tests.
var ParseSteps = parseSteps
