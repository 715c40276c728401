package hromadabot

import "time"

// ReportFilter selects reports; zero fields select everything.
type ReportFilter struct {
	CommunityID int64
	IndicatorID int
	ReporterID  int64
	// Since keeps reports created at or after it.
	Since time.Time
	// Limit caps the number of reports; 0 means no limit.
	Limit int
}

// UserFilter selects users; zero fields select everything.
type UserFilter struct {
	CommunityID int64
	Role        Role
	// Subscribed keeps only users subscribed to the weekly digest.
	Subscribed bool
	// NotBlocked leaves out users who blocked the bot.
	NotBlocked bool
}

// Stats is an overview for admins and for the weekly reminders.
type Stats struct {
	// Reports counts reports (not retracted) made since the given time.
	Reports int
	// CommunitiesReported counts the communities those reports are about.
	CommunitiesReported int
	// SilentCDTOs are the CDTOs without a report of their own since then,
	// in Ukrainian alphabetical order of community.
	SilentCDTOs []SilentCDTO
}

// SilentCDTO is a CDTO who has not reported since a given time.
type SilentCDTO struct {
	UserID int64
	// Ref is the user's "platform:id".
	Ref         string
	CommunityID int64
	// Name is the community's name.
	Name string
	// LastReport is the time of the CDTO's latest report, nil if none ever.
	LastReport *time.Time
	// Language is the CDTO's language, for the reminder.
	Language string
	// Blocked is set when the CDTO has blocked the bot and cannot be reminded.
	Blocked bool
}
