// Package bot is the channel-neutral chat model: an Event is what a person
// did on any platform, a Reply is what the bot says back. Channels
// (bot/telegram, bot/console, later Viber) translate their wire formats to
// and from this model and nothing else; conversation flows (dialogs) consume
// events and produce replies without knowing the platform.
package bot

import (
	"context"
	"fmt"
	"time"
)

// Event is one incoming update from a person, in platform-neutral form.
type Event struct {
	// Platform is hromadabot.PlatformTelegram, PlatformViber or PlatformConsole.
	Platform string
	// UpdateID identifies the platform update ("telegram:123456"); a channel
	// that may deliver an update twice sets it so that handling is idempotent.
	UpdateID string
	// ChatID is the conversation; UserID the person. In a private chat they
	// are equal, but flows key dialog state by ChatID and permissions by UserID.
	ChatID string
	UserID string
	// LanguageCode is the platform's language hint ("uk", "en-US"), may be empty.
	LanguageCode string
	// Text is a typed message or command ("/score Буча").
	Text string
	// Payload is the pressed button's payload; Text is empty then.
	Payload string
	// MenuID identifies the message that carried the pressed button, so the
	// reply may edit that menu in place; empty for typed messages.
	MenuID string
	// Attachment is a photo or document sent with the message, if any.
	Attachment *Attachment
	// Unsupported names what the person sent that the bot does not read
	// ("sticker", "location", "contact", "voice"), so that the dialogs can
	// say what they understand; Text and Attachment are empty then.
	Unsupported string
	At          time.Time
}

// Attachment is a file a person sent; only its platform reference is kept.
type Attachment struct {
	// Kind is "photo" or "document".
	Kind string
	// FileID is the platform's file reference.
	FileID string
	Name   string
}

// Reply is one message from the bot.
type Reply struct {
	// Text uses the HTML subset every channel understands: <b>, <i>, <a href>,
	// <code>. Every user- or data-supplied string in it is already escaped.
	Text string
	// Buttons are rows of buttons under the message.
	Buttons [][]Button
	// Image is an optional picture sent with the text as its caption.
	Image *Image
	// EditMenu asks the channel to replace the menu the event's button was on
	// instead of sending a new message, where the platform can.
	EditMenu bool
	// KeepMenu says that the buttons of the chat's latest menu are still
	// live (an answer to /help, or to a stale button): a channel whose
	// keyboard every message replaces (Viber's) shows them again under a
	// reply that has none of its own.
	KeepMenu bool
}

// Button is one button. Exactly one of Payload and URL is set.
type Button struct {
	Text string
	// Payload comes back in Event.Payload when pressed; at most 64 bytes.
	Payload string
	URL     string
}

// Image is a PNG picture: its bytes, or a Draw that makes them when a
// channel needs them. Drawing costs tens of milliseconds, and a channel that
// already holds the picture under its Key (Telegram's file_id) never does.
type Image struct {
	PNG  []byte
	Draw func() ([]byte, error)
	Name string
	// Key, when set, names what the picture shows: equal keys, equal
	// pictures. A channel that reuses uploads looks them up by it rather
	// than digesting the PNG every time. An image with Draw has a Key.
	Key string
}

// Bytes returns the PNG, drawing it when the image is drawn on demand.
func (img *Image) Bytes() ([]byte, error) {
	if img.PNG != nil || img.Draw == nil {
		return img.PNG, nil
	}
	png, err := img.Draw()
	if err != nil {
		return nil, fmt.Errorf("draw %s: %w", img.Name, err)
	}
	return png, nil
}

// MaxPayload is the longest button payload any channel accepts (Telegram's
// callback_data limit, in bytes).
const MaxPayload = 64

// Handler turns an event into replies. When the event could not be handled
// for a passing reason (a store briefly unreachable), a handler returns the
// replies that tell the person so together with a *TemporaryError: the
// channel sends those replies once and hands the event over again later,
// so that it is answered, not dropped.
type Handler interface {
	Handle(ctx context.Context, ev Event) ([]Reply, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev Event) ([]Reply, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev Event) ([]Reply, error) { return f(ctx, ev) }

// Middleware wraps a handler with behaviour every update goes through.
type Middleware func(next Handler) Handler

// Chain wraps h with the middlewares, the first one outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
