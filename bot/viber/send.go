package viber

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// PayloadPrefix marks a button's ActionBody: a reply button sends its
// ActionBody back as a message, and the prefix tells it apart from typed
// text. What follows it is the neutral payload, which the dialogs check
// like a Telegram callback: one typed by hand is refused as stale.
const PayloadPrefix = "btn:"

// keyboardAPIVersion is the client API level asked of a message with a
// keyboard: every current client has it, and an older one reports a failed
// delivery rather than showing a keyboard it cannot lay out.
const keyboardAPIVersion = 4

// message is a send_message request.
type message struct {
	Receiver      string    `json:"receiver,omitempty"`
	MinAPIVersion int       `json:"min_api_version,omitempty"`
	Sender        sender    `json:"sender"`
	TrackingData  string    `json:"tracking_data,omitempty"`
	Type          string    `json:"type"`
	Text          string    `json:"text,omitempty"`
	Media         string    `json:"media,omitempty"`
	Thumbnail     string    `json:"thumbnail,omitempty"`
	Keyboard      *keyboard `json:"keyboard,omitempty"`
}

type sender struct {
	Name   string `json:"name"`
	Avatar string `json:"avatar,omitempty"`
}

// Deliver sends one reply to a person (bot.Transport). The text goes as
// plain text, cut at line breaks into messages of at most 7,000 characters,
// with the keyboard under the last one; a picture goes first, as a picture
// message whose media URL the bot serves. Viber cannot edit a message, so a
// reply that would replace a menu is sent anew.
func (c *Channel) Deliver(ctx context.Context, out bot.Outgoing) error {
	msgs, err := c.messages(ctx, out.ChatID, out.Reply)
	if err != nil {
		return fmt.Errorf("viber: chat %s: %w", out.ChatID, err)
	}
	for _, m := range msgs {
		if err := c.call(ctx, "send_message", m, nil); err != nil {
			return err
		}
	}
	return nil
}

// messages are the send_message requests of a reply, in order; receiver is
// empty for a welcome message, which goes in the callback's answer.
func (c *Channel) messages(ctx context.Context, receiver string, r bot.Reply) ([]message, error) {
	kb, err := replyKeyboard(r.Buttons)
	if err != nil {
		return nil, err
	}
	switch {
	case receiver == "":
	case kb != nil:
		c.keyboards.put(receiver, kb)
	case r.KeepMenu:
		// Every message replaces the keyboard: the menu still live is
		// shown again.
		kb = c.keyboards.get(receiver)
	default:
		c.keyboards.put(receiver, nil)
	}
	from := sender{Name: c.cfg.SenderName, Avatar: c.cfg.SenderAvatar}
	var out []message
	if r.Image != nil {
		media, err := c.pictureURL(ctx, r.Image)
		if err != nil {
			// The card is worth sending without its picture.
			c.log.WarnContext(ctx, "viber: picture not served: sending the text alone", "chat", receiver, "err", err)
		} else {
			out = append(out, message{Receiver: receiver, Sender: from, Type: "picture", Media: media, Thumbnail: media})
		}
	}
	for _, part := range bot.SplitPlain(bot.PlainText(r.Text), maxText) {
		out = append(out, message{Receiver: receiver, Sender: from, Type: "text", Text: part})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty reply")
	}
	if kb != nil {
		last := &out[len(out)-1]
		last.Keyboard, last.MinAPIVersion = kb, keyboardAPIVersion
	}
	return out, nil
}

// keyboard is a Viber keyboard
// (https://developers.viber.com/docs/tools/keyboards/).
type keyboard struct {
	Type          string   `json:"Type"`
	DefaultHeight bool     `json:"DefaultHeight"`
	InputState    string   `json:"InputFieldState,omitempty"`
	Buttons       []button `json:"Buttons"`
}

type button struct {
	Columns    int    `json:"Columns"`
	Rows       int    `json:"Rows"`
	ActionType string `json:"ActionType"`
	ActionBody string `json:"ActionBody"`
	Text       string `json:"Text"`
	TextSize   string `json:"TextSize"`
	// Silent keeps a pressed button's ActionBody out of the conversation:
	// the person sees what they chose in the bot's answer.
	Silent  bool   `json:"Silent,omitempty"`
	BgColor string `json:"BgColor,omitempty"`
}

// Keyboard layout: Viber lays buttons out in rows of six columns, at most
// twelve rows on a phone held upright.
const (
	keyboardColumns = 6
	maxKeyboardRows = 12
	// A label up to shortLabel characters is readable in a third of the
	// row, up to mediumLabel in a half; a longer one gets the whole row.
	shortLabel  = 8
	mediumLabel = 16
)

// replyKeyboard lays the neutral rows out as a Viber keyboard. A neutral
// row is kept as a row when its labels fit, and split when they would be
// cut off on a phone: three short labels to a row, two medium ones, a long
// one alone. When that makes more rows than a phone shows, the labels are
// packed tighter. A payload button becomes a reply button whose
// ActionBody is PayloadPrefix and the payload; a URL button opens the link.
// It returns nil for no buttons: the next message then removes the keyboard.
func replyKeyboard(rows [][]bot.Button) (*keyboard, error) {
	var all [][]button
	for i, row := range rows {
		var out []button
		for j, b := range row {
			vb, err := viberButton(b)
			if err != nil {
				return nil, fmt.Errorf("button %d.%d %w", i+1, j+1, err)
			}
			out = append(out, vb)
		}
		if len(out) > 0 {
			all = append(all, out)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	buttons, n := layout(all, false)
	if n > maxKeyboardRows {
		buttons, _ = layout(all, true)
	}
	return &keyboard{Type: "keyboard", DefaultHeight: false, Buttons: buttons}, nil
}

func viberButton(b bot.Button) (button, error) {
	text := strings.TrimSpace(b.Text)
	vb := button{Rows: 1, Text: text, TextSize: "regular"}
	switch {
	case text == "":
		return vb, fmt.Errorf("has no text")
	case b.Payload != "" && b.URL != "":
		return vb, fmt.Errorf("has both a payload and a URL")
	case b.Payload != "":
		if len(b.Payload) > bot.MaxPayload {
			return vb, fmt.Errorf("payload is %d bytes, over %d", len(b.Payload), bot.MaxPayload)
		}
		vb.ActionType, vb.ActionBody, vb.Silent = "reply", PayloadPrefix+b.Payload, true
	case b.URL != "":
		if u, err := url.Parse(b.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return vb, fmt.Errorf("URL is not an http(s) link")
		}
		vb.ActionType, vb.ActionBody = "open-url", b.URL
	default:
		return vb, fmt.Errorf("has neither a payload nor a URL")
	}
	return vb, nil
}

// layout gives the buttons their widths, row by row, and returns them with
// the number of rows they take. Each row's widths add up to six columns,
// so that Viber starts every neutral row on a row of its own.
func layout(rows [][]button, tight bool) ([]button, int) {
	var out []button
	n := 0
	for _, row := range rows {
		per := perRow(row, tight)
		for start := 0; start < len(row); start += per {
			chunk := row[start:min(start+per, len(row))]
			width, extra := keyboardColumns/len(chunk), keyboardColumns%len(chunk)
			for i, b := range chunk {
				b.Columns = width
				if i < extra {
					b.Columns++
				}
				out = append(out, b)
			}
			n++
		}
	}
	return out, n
}

// perRow is how many of the row's buttons share a keyboard row.
func perRow(row []button, tight bool) int {
	longest := 0
	for _, b := range row {
		longest = max(longest, utf8.RuneCountInString(b.Text))
	}
	switch {
	case tight:
		return min(len(row), 3)
	case longest <= shortLabel:
		return min(len(row), 3)
	case longest <= mediumLabel:
		return min(len(row), 2)
	}
	return 1
}

// pictureURL stores the image's PNG, when it is not stored yet, and
// returns a signed URL to it that Viber can fetch until it expires.
func (c *Channel) pictureURL(ctx context.Context, img *bot.Image) (string, error) {
	id, ok := c.pictures.get(img.Key, c.now())
	if !ok {
		png, err := img.Bytes()
		if err != nil {
			return "", err
		}
		name := img.Name
		if name == "" {
			name = "chart.png"
		}
		f := &hromadabot.File{ID: hromadabot.FileID(png), Kind: hromadabot.FilePicture, Name: name, ContentType: http.DetectContentType(png), Data: png}
		if err := c.cfg.Files.PutFile(ctx, f); err != nil {
			return "", fmt.Errorf("store picture: %w", err)
		}
		id = f.ID
		c.pictures.put(img.Key, id, c.now())
		c.served.put(f)
	}
	return c.mediaOrigin + c.media.path(c.mediaPath, id, c.now().Add(pictureTTL)), nil
}

// pictureIDs remembers which file each keyed picture was stored as, for a
// day at most (well within the time pictures are kept), so that a card
// asked for again is neither drawn nor stored again.
type pictureIDs struct {
	mu  sync.Mutex
	ids map[string]pictureID
}

type pictureID struct {
	id string
	at time.Time
}

// maxPictureIDs bounds the keys remembered; past it they are forgotten.
const maxPictureIDs = 8192

func (p *pictureIDs) get(key string, now time.Time) (string, bool) {
	if key == "" {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.ids[key]
	if !ok || now.Sub(e.at) > 24*time.Hour {
		return "", false
	}
	return e.id, true
}

func (p *pictureIDs) put(key, id string, now time.Time) {
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil || len(p.ids) >= maxPictureIDs {
		p.ids = make(map[string]pictureID)
	}
	p.ids[key] = pictureID{id: id, at: now}
}

// keyboards remembers the keyboard last sent to each chat, so that a reply
// that keeps the chat's menu shows it again. A process remembers the chats
// it served lately; past maxKeyboards it starts over, and a reply then
// goes without the keyboard, whose buttons /menu brings back.
type keyboards struct {
	mu  sync.Mutex
	kbs map[string]*keyboard
}

const maxKeyboards = 16384

func (k *keyboards) get(chat string) *keyboard {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kbs[chat]
}

func (k *keyboards) put(chat string, kb *keyboard) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if kb == nil {
		delete(k.kbs, chat)
		return
	}
	if k.kbs == nil || len(k.kbs) >= maxKeyboards {
		k.kbs = make(map[string]*keyboard)
	}
	k.kbs[chat] = kb
}

// servedFiles keeps the pictures handed out last in memory: Viber fetches
// a picture as soon as the message goes out, and reading it back from the
// records would cost every card a database read. A process that did not
// send the picture reads it from the records.
type servedFiles struct {
	mu    sync.Mutex
	files map[string]*hromadabot.File
	order []string
}

// maxServed bounds the pictures kept in memory, each a few tens of KB.
const maxServed = 64

func (s *servedFiles) get(id string) *hromadabot.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[id]
}

func (s *servedFiles) put(f *hromadabot.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = make(map[string]*hromadabot.File, maxServed)
	}
	if _, ok := s.files[f.ID]; ok {
		return
	}
	if len(s.order) >= maxServed {
		delete(s.files, s.order[0])
		s.order = s.order[1:]
	}
	s.files[f.ID] = f
	s.order = append(s.order, f.ID)
}
