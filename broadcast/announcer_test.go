package broadcast_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/dialogs"
	"github.com/hromadabot/hromadabot/locales"
)

var _ dialogs.Announcer = broadcast.Announcer{}

func TestAnnouncer(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, NewClock(tuesday))
	bucha := MustCommunity(t, db, "Бучанська")
	irpin := MustCommunity(t, db, "Ірпінська")
	MustUser(t, db, 1, "uk", hromadabot.RoleCDTO, bucha.ID, false)
	MustUser(t, db, 2, "uk", hromadabot.RoleCDTO, irpin.ID, false)
	MustUser(t, db, 3, "uk", hromadabot.RoleResident, bucha.ID, true)
	MustUser(t, db, 4, "uk", hromadabot.RoleResident, irpin.ID, false)
	a := broadcast.Announcer{Store: db}

	t.Run("Preview", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			audience  string
			community int64
			want      int
		}{
			{"OKCDTO", broadcast.AudienceCDTO, 0, 2},
			{"OKResidents", broadcast.AudienceResidents, 0, 1},
			{"OKAll", broadcast.AudienceAll, 0, 3},
			{"OKAllOfOneCommunity", broadcast.AudienceAll, irpin.ID, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n, err := a.Preview(ctx, tc.audience, tc.community, "Новини")
				if err != nil || n != tc.want {
					t.Fatalf("Preview = %d, %v; want %d", n, err, tc.want)
				}
			})
		}
		if js := jobs(t, db); len(js) != 0 {
			t.Errorf("Preview stored %d jobs", len(js))
		}
	})

	t.Run("PreviewErrors", func(t *testing.T) {
		loc := MustCatalog(t)
		for _, tc := range []struct {
			name, audience, text, reason string
		}{
			{"ErrAudienceInvalid", "everyone", "x", "audience_invalid"},
			{"ErrTextRequired", broadcast.AudienceAll, "  ", "announcement_text_required"},
			{"ErrTextTooLong", broadcast.AudienceAll, strings.Repeat("я", broadcast.MaxAnnouncement+1), "announcement_text_too_long"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n, err := a.Preview(ctx, tc.audience, 0, tc.text)
				if hromadabot.ErrorCode(err) != hromadabot.EINVALID || hromadabot.ErrorReason(err) != tc.reason || n != 0 {
					t.Fatalf("Preview = %d, %v; want %s", n, err, tc.reason)
				}
				if tc.reason != "announcement_text_too_long" {
					return
				}
				// The chat tells the admin the limit.
				for _, lang := range locales.Languages {
					if msg := loc.Error(lang, err); !strings.Contains(msg, strconv.Itoa(broadcast.MaxAnnouncement)) {
						t.Errorf("%s message %q does not give the limit %d", lang, msg, broadcast.MaxAnnouncement)
					}
				}
			})
		}
	})

	t.Run("AnnounceOncePerKey", func(t *testing.T) {
		id, n, err := a.Announce(ctx, "k1", broadcast.AudienceCDTO, 0, "Нарада <у четвер>", "telegram:9")
		if err != nil || id == 0 || n != 2 {
			t.Fatalf("Announce = %d, %d, %v", id, n, err)
		}
		again, n2, err := a.Announce(ctx, "k1", broadcast.AudienceCDTO, 0, "Нарада <у четвер>", "telegram:9")
		if err != nil || again != id || n2 != n {
			t.Fatalf("Announce again = %d, %d, %v; want job %d of %d", again, n2, err, id, n)
		}
		other, _, err := a.Announce(ctx, "k2", broadcast.AudienceResidents, 0, "Інше", "telegram:9")
		if err != nil || other == id {
			t.Fatalf("Announce with another key = %d, %v; want a new job", other, err)
		}
		js := jobs(t, db)
		if len(js) != 2 {
			t.Fatalf("%d jobs, want 2", len(js))
		}
		job := MustProgress(t, db, id)
		if job.Kind != hromadabot.BroadcastAnnouncement || job.CreatedBy != "telegram:9" || job.Total != 2 || job.OverrideQuiet {
			t.Errorf("job %+v", job.Broadcast)
		}
		for uid, m := range MustMessages(t, db, &job.Broadcast) {
			if m.Text != "Нарада &lt;у четвер&gt;" {
				t.Errorf("user %d gets %q", uid, m.Text)
			}
		}
	})

	t.Run("ErrAnnounceActorRequired", func(t *testing.T) {
		before := len(jobs(t, db))
		if _, _, err := a.Announce(ctx, "k3", broadcast.AudienceAll, 0, "x", ""); hromadabot.ErrorReason(err) != "actor_required" {
			t.Fatalf("err %v, want actor_required", err)
		}
		if after := len(jobs(t, db)); after != before {
			t.Errorf("%d jobs stored", after-before)
		}
	})
}
