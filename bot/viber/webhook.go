package viber

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// callback is the part of a Viber callback the bot reads
// (https://developers.viber.com/docs/api/rest-bot-api/#callbacks).
type callback struct {
	Event        string          `json:"event"`
	Timestamp    int64           `json:"timestamp"`
	MessageToken json.Number     `json:"message_token"`
	User         *person         `json:"user"`    // conversation_started, subscribed
	Sender       *person         `json:"sender"`  // message
	UserID       string          `json:"user_id"` // unsubscribed, delivered, seen, failed
	Subscribed   bool            `json:"subscribed"`
	Message      *incoming       `json:"message"`
	Context      json.RawMessage `json:"context"`
}

type person struct {
	ID       string `json:"id"`
	Language string `json:"language"`
}

type incoming struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Media    string `json:"media"`
	FileName string `json:"file_name"`
	Size     int64  `json:"size"`
}

// ServeHTTP receives one callback. The signature is checked first, in
// constant time, as the hex HMAC-SHA256 of the raw body keyed with the
// token: missing → 401, wrong → 403, and nothing is handled. A message's
// media is downloaded and kept before the message is handled, since its
// URL expires. The answer waits until the event was handled: 200 then,
// 500 when handling failed and 503 when the bot is stopping, so that Viber
// delivers the callback again; a callback delivered twice is handled once.
// With a Stream, a message is received once it is in the stream instead:
// 200 then, 503 when Redis does not take it; whichever process holds its
// chat's shard handles it. conversation_started is answered with the
// welcome message in the body, by the process it reached, with or without
// a stream: it is a chat's first event, and its answer must be this one.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallback))
	if err != nil {
		http.Error(w, "bad callback", http.StatusRequestEntityTooLarge)
		return
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		c.log.Warn("viber: callback without a signature refused")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !c.validSignature(body, sig) {
		c.log.Warn("viber: callback with a wrong signature refused")
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil || cb.Event == "" {
		http.Error(w, "bad callback", http.StatusBadRequest)
		return
	}
	switch cb.Event {
	case "webhook":
		w.WriteHeader(http.StatusOK)
	case "conversation_started":
		c.welcome(w, r, &cb)
	case "message":
		c.message(w, r, &cb, body)
	case "subscribed":
		// A person subscribed from the chat's header; their first message
		// follows, or they wrote already. Nothing to say until then.
		w.WriteHeader(http.StatusOK)
	case "unsubscribed":
		if c.cfg.OnGone != nil && cb.UserID != "" {
			c.cfg.OnGone(cb.UserID)
		}
		w.WriteHeader(http.StatusOK)
	case "delivered", "seen", "failed":
		if c.cfg.OnReceipt != nil {
			c.cfg.OnReceipt(cb.Event)
		}
		w.WriteHeader(http.StatusOK)
	default:
		// A kind of callback the bot did not ask for: taken, not handled.
		w.WriteHeader(http.StatusOK)
	}
}

func (c *Channel) validSignature(body []byte, sig string) bool {
	return hmac.Equal([]byte(strings.ToLower(sig)), []byte(Sign(c.cfg.Token, body)))
}

// UpdateID is the bot.Event UpdateID of a callback: reports made while
// handling it are deduplicated on it, so a redelivered callback stores
// nothing twice.
func UpdateID(token string) string { return "viber:" + token }

// event is the neutral event of a callback from who.
func (c *Channel) event(cb *callback, who *person) bot.Event {
	at := c.now()
	if cb.Timestamp > 0 {
		at = time.UnixMilli(cb.Timestamp)
	}
	// A callback without a token gets no UpdateID: keyed "viber:", each
	// would be skipped as a repeat of the first.
	var id string
	if token := cb.MessageToken.String(); token != "" {
		id = UpdateID(token)
	}
	return bot.Event{
		Platform:     hromadabot.PlatformViber,
		UpdateID:     id,
		ChatID:       who.ID,
		UserID:       who.ID,
		LanguageCode: who.Language,
		At:           at,
	}
}

// welcome answers a person opening the chat with the bot's /start: the
// greeting and the language choice, in the callback's answer, the one
// message Viber lets a bot send before the person subscribes. A person
// already subscribed is in the middle of their conversation and gets none.
func (c *Channel) welcome(w http.ResponseWriter, r *http.Request, cb *callback) {
	if cb.User == nil || cb.User.ID == "" || cb.Subscribed {
		w.WriteHeader(http.StatusOK)
		return
	}
	ev := c.event(cb, cb.User)
	ev.Text = "/start"
	var welcome []byte
	u := &bot.Update{Event: ev, Deliver: func(ctx context.Context, replies []bot.Reply) error {
		m, err := c.welcomeMessage(ctx, replies)
		if err != nil || m == nil {
			return err
		}
		if welcome, err = json.Marshal(m); err != nil {
			return err
		}
		// The welcome's keyboard is the chat's menu, which a reply that
		// keeps the menu shows again.
		c.keyboards.put(cb.User.ID, m.Keyboard)
		return nil
	}}
	switch err := c.recv.HandleWait(r.Context(), u); {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(welcome)
	case errors.Is(err, bot.ErrStopped):
		http.Error(w, "stopping", http.StatusServiceUnavailable)
	case r.Context().Err() != nil:
	default:
		// The person sees no greeting; what they write next is answered.
		w.WriteHeader(http.StatusOK)
	}
}

// welcomeMessage folds the replies into the one message a welcome may be:
// their texts together, under the last keyboard; pictures are left out.
func (c *Channel) welcomeMessage(ctx context.Context, replies []bot.Reply) (*message, error) {
	var texts []string
	var buttons [][]bot.Button
	for _, r := range replies {
		if t := strings.TrimSpace(r.Text); t != "" {
			texts = append(texts, t)
		}
		if len(r.Buttons) > 0 {
			buttons = r.Buttons
		}
	}
	if len(texts) == 0 {
		return nil, nil
	}
	msgs, err := c.messages(ctx, "", bot.Reply{Text: strings.Join(texts, "\n\n"), Buttons: buttons})
	if err != nil {
		return nil, err
	}
	// A welcome longer than one message keeps its beginning and the keyboard.
	m := msgs[0]
	m.Keyboard, m.MinAPIVersion = msgs[len(msgs)-1].Keyboard, msgs[len(msgs)-1].MinAPIVersion
	return &m, nil
}

// message handles a person's message, or with a Stream puts it there.
func (c *Channel) message(w http.ResponseWriter, r *http.Request, cb *callback, body []byte) {
	if cb.Sender == nil || cb.Sender.ID == "" || cb.Message == nil {
		http.Error(w, "bad callback", http.StatusBadRequest)
		return
	}
	if c.stream != nil {
		c.accept(w, r, cb, body)
		return
	}
	switch err := c.recv.HandleWait(r.Context(), c.messageUpdate(cb)); {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, bot.ErrStopped):
		http.Error(w, "stopping", http.StatusServiceUnavailable)
	case r.Context().Err() != nil:
		// Viber stopped waiting; the message is still handled, and its
		// redelivery is skipped as a repeat.
	default:
		http.Error(w, "handling failed", http.StatusInternalServerError)
	}
}

// messageUpdate is the update of a person's message: text, a pressed
// button, a photo or document, a link; anything else is passed on as
// unsupported, so that the dialogs say what they understand. A photo or
// document is downloaded and kept as evidence on the chat's worker, just
// before the message is handled (Before), so that a redelivery skipped as
// a repeat downloads nothing.
func (c *Channel) messageUpdate(cb *callback) *bot.Update {
	u := &bot.Update{}
	ev := c.event(cb, cb.Sender)
	m := cb.Message
	switch m.Type {
	case "text":
		if payload, ok := strings.CutPrefix(m.Text, PayloadPrefix); ok {
			ev.Payload, ev.MenuID = payload, "viber"
		} else {
			ev.Text = m.Text
		}
	case "picture", "file", "video":
		kind := "document"
		if m.Type == "picture" {
			kind = "photo"
			ev.Text = m.Text
		}
		ev.Attachment = &bot.Attachment{Kind: kind, Name: m.FileName}
		u.Before = func(ctx context.Context, ev *bot.Event) {
			id, err := c.keep(ctx, m)
			if err != nil {
				// Handled without the file, the dialog asks for it again.
				c.log.Warn("viber: media not kept", "update", ev.UpdateID, "err", err)
			}
			ev.Attachment.FileID = id
		}
	case "url":
		ev.Text = m.Media
	default:
		ev.Unsupported = m.Type
	}
	if ev.Payload == "" && ev.Text == "" && ev.Attachment == nil && ev.Unsupported == "" {
		ev.Unsupported = "empty"
	}
	u.Event = ev
	return u
}

// keep downloads a message's media and stores it as evidence, returning
// its file id. A file over hromadabot.MaxFileSize is refused.
func (c *Channel) keep(ctx context.Context, m *incoming) (string, error) {
	if m.Media == "" || !httpURL(m.Media) {
		return "", errors.New("no media URL")
	}
	if m.Size > hromadabot.MaxFileSize {
		return "", fmt.Errorf("file of %d bytes is over the %d kept", m.Size, hromadabot.MaxFileSize)
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Media, nil)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, hromadabot.MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	if len(data) > hromadabot.MaxFileSize {
		return "", fmt.Errorf("file is over the %d bytes kept", hromadabot.MaxFileSize)
	}
	name := m.FileName
	if name == "" {
		name = path.Base(req.URL.Path)
	}
	ctype := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || mt == "application/octet-stream" || mt == "" {
		ctype = http.DetectContentType(data)
	}
	f := &hromadabot.File{ID: hromadabot.FileID(data), Kind: hromadabot.FileEvidence, Name: name, ContentType: ctype, Data: data}
	if err := c.cfg.Files.PutFile(ctx, f); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return f.ID, nil
}

// Sign is the signature Viber gives a callback body, for tests and tools
// that play Viber.
func Sign(token string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
