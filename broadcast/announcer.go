package broadcast

import "context"

// Announcer stores the announcements admins make in chat: it is what the
// dialogs' /broadcast needs (dialogs.Announcer), on the records database.
// The jobs it stores are sent by the running bot's Service, like the
// command line's.
type Announcer struct {
	// Store is where the jobs go; *sqldb.DB implements it.
	Store JobStore
}

// Preview checks an announcement as Announce would and returns how many
// people it would reach now; it stores nothing.
func (a Announcer) Preview(ctx context.Context, audience string, communityID int64, text string) (recipients int, err error) {
	rs, err := announcementRecipients(ctx, a.Store, Announcement{Audience: audience, CommunityID: communityID, Text: text})
	return len(rs), err
}

// Announce stores the announcement's job with its recipients and returns
// the job's id and size. The same key stores one job: a repeated call
// returns the job stored first. The job keeps quiet hours.
func (a Announcer) Announce(ctx context.Context, key, audience string, communityID int64, text, actor string) (jobID int64, recipients int, err error) {
	job, err := Announce(ctx, a.Store, Announcement{Key: key, Audience: audience, CommunityID: communityID, Text: text, Actor: actor})
	if err != nil {
		return 0, 0, err
	}
	return job.ID, job.Total, nil
}
