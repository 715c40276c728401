package broadcast_test

import (
	"testing"

	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/dialogs"
)

// TestDialogsContract holds the values the dialogs and the broadcasts
// exchange equal: the payloads of broadcast buttons, which the dialogs take
// as commands, and the audiences the dialogs' /broadcast asks for.
func TestDialogsContract(t *testing.T) {
	for _, tc := range []struct {
		name            string
		broadcast, dlgs string
	}{
		{"PayloadReport", broadcast.PayloadReport, dialogs.PayloadReport},
		{"PayloadUnsubscribe", broadcast.PayloadUnsubscribe, dialogs.PayloadUnsubscribe},
		{"AudienceCDTO", broadcast.AudienceCDTO, dialogs.AudienceCDTO},
		{"AudienceResidents", broadcast.AudienceResidents, dialogs.AudienceResidents},
		{"AudienceAll", broadcast.AudienceAll, dialogs.AudienceAll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.broadcast != tc.dlgs {
				t.Errorf("broadcast has %q, dialogs %q", tc.broadcast, tc.dlgs)
			}
		})
	}
}
