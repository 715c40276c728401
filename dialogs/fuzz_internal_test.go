package dialogs

import (
	"slices"
	"testing"

	"github.com/hromadabot/hromadabot/bot"
)

// FuzzParsePayload checks the button-payload decoder on anything a client
// may send as callback data: a payload longer than a platform carries is
// refused, and an accepted one means what its own encoding means.
func FuzzParsePayload(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parsePayload(s)
		if !ok {
			if p != (payload{}) {
				t.Fatalf("parsePayload(%q) refused but returned %+v", s, p)
			}
			return
		}
		if len(s) > bot.MaxPayload {
			t.Fatalf("parsePayload accepted %d bytes, more than %d", len(s), bot.MaxPayload)
		}
		if p.C < 0 || p.N < 0 {
			t.Fatalf("parsePayload(%q) = %+v: negative community or number", s, p)
		}
		enc := p.String()
		if len(enc) > bot.MaxPayload {
			t.Fatalf("%+v encodes to %d bytes", p, len(enc))
		}
		if back, ok := parsePayload(enc); !ok || back != p {
			t.Fatalf("parsePayload(%q) = %+v, re-encoded %q reads %+v, %v", s, p, enc, back, ok)
		}
	})
}

// payloadActions are the actions the dialog's menus carry, sorted.
func payloadActions() []string {
	var acts []string
	for _, step := range transitions {
		for act := range step {
			if !slices.Contains(acts, act) {
				acts = append(acts, act)
			}
		}
	}
	slices.Sort(acts)
	return acts
}

// FuzzPayloadRoundTrip checks that every button the dialog can make fits
// a platform's limit and reads back exactly.
func FuzzPayloadRoundTrip(f *testing.F) {
	acts := payloadActions()
	f.Fuzz(func(t *testing.T, seq uint32, act uint8, c int64, n int) {
		// The dialog makes buttons for stored communities (ids from 1, or 0
		// for none) and small numbers (indicators, pages, yes/no).
		if c < 0 {
			c = -(c + 1)
		}
		if n < 0 {
			n = -(n + 1)
		}
		p := payload{Seq: seq, Act: acts[int(act)%len(acts)], C: c, N: n % 1_000_001}
		enc := p.String()
		if len(enc) > bot.MaxPayload {
			t.Fatalf("%+v encodes to %d bytes, more than %d", p, len(enc), bot.MaxPayload)
		}
		back, ok := parsePayload(enc)
		if !ok || back != p {
			t.Fatalf("%+v encodes to %q, which reads %+v, %v", p, enc, back, ok)
		}
	})
}
