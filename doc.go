// Package hromadabot holds the domain of the hromada digital-transformation bot:
// communities, the indicator plan, reports, users and invites, and the
// digital-index methodology that turns reports into scores and rankings.
//
// The package is pure: it imports only the standard library and performs no
// I/O beyond reading the data files embedded in it. Storage, chat channels and
// conversation flows live in subpackages and depend on this one, never the
// other way round.
package hromadabot
