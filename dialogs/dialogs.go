// Package dialogs is the bot's conversation: every flow of residents, CDTOs
// and admins as a state machine over (step, input) → (step, replies). It
// knows no chat platform: channels hand it bot.Events and send the
// bot.Replies it returns.
//
// A chat's dialog state is a small versioned JSON document kept in a
// StateStore (Redis or memory), so a conversation survives a restart and
// one chat's events are applied one at a time, in order. Records (users,
// reports, invites) live in the Store.
package dialogs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// Store is what the dialogs need from the records database; the SQLite DB
// implements it.
type Store interface {
	// Turn returns the context for handling one event, under which the
	// store may answer from what it learned since the event began.
	Turn(ctx context.Context) context.Context

	EnsureUser(ctx context.Context, platform, platformID, language string) (*hromadabot.User, error)
	UpdateUser(ctx context.Context, u *hromadabot.User, actor string) error

	Community(ctx context.Context, id int64) (*hromadabot.Community, error)
	FindCommunity(ctx context.Context, ref string) (*hromadabot.Community, error)
	SearchCommunities(ctx context.Context, query string, limit int) ([]hromadabot.Community, error)
	CountCommunities(ctx context.Context) (int, error)

	Plan(ctx context.Context, communityID int64) (*hromadabot.Plan, error)
	Score(ctx context.Context, communityID int64, year int) (*hromadabot.Score, error)
	Ranking(ctx context.Context, year int) (hromadabot.Ranking, error)

	CreateReport(ctx context.Context, r *hromadabot.Report, actor string) (old *float64, err error)
	Reports(ctx context.Context, f hromadabot.ReportFilter) ([]hromadabot.Report, error)
	RetractLastReport(ctx context.Context, reporterID int64) (*hromadabot.Report, error)

	CreateInvite(ctx context.Context, communityID int64, actor string) (code string, err error)
	AcceptInvite(ctx context.Context, code string, userID int64) (*hromadabot.Community, error)
	Stats(ctx context.Context, since time.Time) (*hromadabot.Stats, error)
}

// Announcer stores admins' announcements as broadcast jobs, which the
// running bot's broadcast engine sends; broadcast.Announcer implements it.
// audience is AudienceCDTO, AudienceResidents or AudienceAll; communityID
// keeps it to one community, 0 meaning every one; text is plain text. A bad
// audience or text is a domain error (EINVALID) whose reason the locales
// explain.
type Announcer interface {
	// Preview checks an announcement as Announce would and returns how many
	// people it would reach now, storing nothing.
	Preview(ctx context.Context, audience string, communityID int64, text string) (recipients int, err error)
	// Announce stores the announcement's job with its recipients. The same
	// key stores one job: a repeated call returns the job stored first.
	Announce(ctx context.Context, key, audience string, communityID int64, text, actor string) (jobID int64, recipients int, err error)
}

// StateStore keeps each chat's dialog state as opaque bytes. Update runs fn
// with the chat's current state (nil when there is none) and stores what fn
// returns, one update of a chat at a time; an error from fn stores nothing.
// storage/memory and storage/redis implement it.
type StateStore interface {
	Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error
	Delete(ctx context.Context, chat string) error
}

// Config is what an Engine is built from.
type Config struct {
	Store   Store
	States  StateStore
	Locales *locales.Catalog
	// Admins are the platform-qualified ids ("telegram:123") allowed to use
	// the admin commands.
	Admins []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Chart returns the key of the score card's picture (bot.Image.Key) and
	// a function that draws it, which the channel calls only when it needs
	// the pixels; nil sends the card without a picture.
	Chart func(score *hromadabot.Score, plan *hromadabot.Plan, lang string) (key string, draw func() ([]byte, error))
	// SiteURL is the public web site's origin ("https://index.example.org");
	// when set, a score card links to the community's page there.
	SiteURL string
	// Announcer stores the announcements of /broadcast; nil answers
	// /broadcast that broadcasting is not set up.
	Announcer Announcer
	// Log gets one line per failed event, with ids only; nil discards.
	Log *slog.Logger
}

// Engine runs the dialogs. It is safe for concurrent use: events of
// different chats run in parallel, events of one chat one after another.
type Engine struct {
	store  Store
	states StateStore
	loc    *locales.Catalog
	admins []string
	now    func() time.Time
	chart  func(*hromadabot.Score, *hromadabot.Plan, string) (string, func() ([]byte, error))
	site   string
	ann    Announcer
	log    *slog.Logger
}

var _ bot.Handler = (*Engine)(nil)

// New returns an Engine on cfg.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("dialogs: Store is required")
	case cfg.States == nil:
		return nil, errors.New("dialogs: States is required")
	case cfg.Locales == nil:
		return nil, errors.New("dialogs: Locales is required")
	}
	for _, ref := range cfg.Admins {
		if _, _, err := hromadabot.ParseUserRef(ref); err != nil {
			return nil, fmt.Errorf("dialogs: admin %w", err)
		}
	}
	e := &Engine{
		store:  cfg.Store,
		states: cfg.States,
		loc:    cfg.Locales,
		admins: slices.Clone(cfg.Admins),
		now:    cfg.Now,
		chart:  cfg.Chart,
		site:   strings.TrimRight(cfg.SiteURL, "/"),
		ann:    cfg.Announcer,
		log:    cfg.Log,
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Handle applies one event to its chat's dialog and returns the replies.
// The event is applied inside the state store's update of the chat, so the
// records it writes and the dialog step it moves to belong to one ordered
// turn. A failure of the infrastructure (database, Redis) changes no dialog
// state, is logged with ids only and is answered with a polite "try again";
// Handle itself then returns no error, so a channel simply sends the replies.
func (e *Engine) Handle(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
	var out []bot.Reply
	// The turn begins before the wait for the chat's state, so that the
	// store may answer it with what it reads for other turns meanwhile.
	turn := e.store.Turn(ctx)
	err := e.states.Update(ctx, ev.Platform+":"+ev.ChatID, func(old []byte) ([]byte, error) {
		out = nil
		t, err := e.newTurn(turn, ev)
		if err != nil {
			return nil, err
		}
		next, err := t.run(old)
		if err != nil {
			return nil, err
		}
		out = t.out
		return next, nil
	})
	if err != nil {
		e.log.ErrorContext(ctx, "dialog event failed",
			"platform", ev.Platform, "chat", ev.ChatID, "user", ev.UserID, "update", ev.UpdateID, "err", err)
		lang := hromadabot.NormalizeLanguage(ev.LanguageCode)
		switch {
		case ctx.Err() != nil:
			return nil, err
		case hromadabot.ErrorCode(err) == hromadabot.EINTERNAL:
			// The database or the dialog state is out of reach: nothing
			// changed, so the event is handled again once they answer.
			return []bot.Reply{{Text: e.loc.T(lang, "reply.unavailable", nil)}}, &bot.TemporaryError{Err: err}
		case hromadabot.ErrorReason(err) == "state_busy" || hromadabot.ErrorReason(err) == "state_lock_lost":
			// Another process holds the chat, or held it when it died and its
			// lock has not expired yet: try again shortly, without a word.
			return nil, &bot.TemporaryError{Err: err}
		}
		return []bot.Reply{{Text: e.loc.Error(lang, err)}}, nil
	}
	return out, nil
}

// isAdmin reports whether the platform user is a configured admin.
func (e *Engine) isAdmin(platform, userID string) bool {
	return slices.Contains(e.admins, platform+":"+userID)
}
