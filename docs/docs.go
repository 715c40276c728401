// Package docs holds the documents the bot publishes: the methodology of
// the index, which the public site renders as its methodology page.
package docs

import _ "embed"

// Methodology is docs/methodology.md, in Markdown, Ukrainian and English.
//
//go:embed methodology.md
var Methodology []byte
