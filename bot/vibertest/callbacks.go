package vibertest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// User is a person on Viber, as a test plays them. ID is required and
// looks like "01234567890A="; Language defaults to "uk", Country to "UA"
// and APIVersion to 10. Passing a User with only an ID to a callback keeps
// the profile the server already knows.
type User struct {
	ID, Name, Avatar, Language, Country string
	APIVersion                          int
}

// person is what the server knows of a User.
type person struct {
	profile    User
	subscribed bool
	// unanswered counts the messages sent to them since their last one.
	unanswered int
	// keyboard and tracking are those of the latest message to them.
	keyboard *Keyboard
	tracking string
}

// personLocked returns the person with u.ID, registering them
// (unsubscribed) when new; the fields set in u update their profile.
func (s *Server) personLocked(u User) *person {
	p, ok := s.people[u.ID]
	if !ok {
		p = &person{profile: User{ID: u.ID, Language: "uk", Country: "UA", APIVersion: 10}}
		s.people[u.ID] = p
	}
	if u.Name != "" {
		p.profile.Name = u.Name
	}
	if u.Avatar != "" {
		p.profile.Avatar = u.Avatar
	}
	if u.Language != "" {
		p.profile.Language = u.Language
	}
	if u.Country != "" {
		p.profile.Country = u.Country
	}
	if u.APIVersion != 0 {
		p.profile.APIVersion = u.APIVersion
	}
	return p
}

// AddUser registers a subscribed person, so that the bot may write to
// them before any callback of theirs.
func (s *Server) AddUser(u User) {
	if u.ID == "" {
		panic("vibertest: AddUser needs a user ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.personLocked(u).subscribed = true
}

// Delivery is one callback POSTed to the webhook and its answer.
type Delivery struct {
	// Status and Body are the webhook's answer.
	Status int
	Body   []byte
	// Token is the callback's message_token.
	Token int64
	// Raw is the callback's body exactly as POSTed, and Signature its
	// X-Viber-Content-Signature header ("" when none was sent).
	Raw       []byte
	Signature string
}

var (
	// ErrNoWebhook is returned by callbacks while no webhook is set.
	ErrNoWebhook = errors.New("vibertest: no webhook is set")
	// ErrEventFiltered is returned by a callback of an event type the
	// webhook's event_types leave out: Viber would not send it.
	ErrEventFiltered = errors.New("vibertest: the webhook's event_types leave the event out")
)

// Sign returns the X-Viber-Content-Signature of a callback body: the
// lowercase hex HMAC-SHA256 of the exact bytes, keyed with the auth token.
func Sign(token string, body []byte) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// wireUser is a person in a callback.
type wireUser struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Avatar     string `json:"avatar,omitempty"`
	Language   string `json:"language,omitempty"`
	Country    string `json:"country,omitempty"`
	APIVersion int    `json:"api_version,omitempty"`
}

// user is how the webhook sees a person: Viber sends names and photos
// only to a webhook set with send_name and send_photo.
func (h webhook) user(u User) wireUser {
	w := wireUser{ID: u.ID, Language: u.Language, Country: u.Country, APIVersion: u.APIVersion}
	if h.sendName {
		w.Name = u.Name
	}
	if h.sendPhoto {
		w.Avatar = u.Avatar
	}
	return w
}

func (w wireUser) profile() User {
	return User{ID: w.ID, Name: w.Name, Avatar: w.Avatar, Language: w.Language, Country: w.Country, APIVersion: w.APIVersion}
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// emit posts a callback of the event to the webhook. build runs with s.mu
// held once the webhook is known to take the event: it applies the
// person's action to the server's state and returns the payload and its
// message token. The POST itself runs unlocked, so that the bot may call
// the API while it handles the callback.
func (s *Server) emit(event string, build func(h webhook) (payload any, token int64)) (Delivery, error) {
	s.mu.Lock()
	h := s.hook
	if h.url == "" {
		s.mu.Unlock()
		return Delivery{}, ErrNoWebhook
	}
	if !h.accepts(event) {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("%w: %s", ErrEventFiltered, event)
	}
	payload, token := build(h)
	s.mu.Unlock()
	raw, err := json.Marshal(payload)
	if err != nil {
		return Delivery{}, fmt.Errorf("vibertest: encode %s callback: %w", event, err)
	}
	return s.post(s.ctx, h.url, raw, Sign(s.opts.Token, raw), token)
}

// post sends one callback body with the signature header (none when sig
// is empty) and reads the answer.
func (s *Server) post(ctx context.Context, url string, raw []byte, sig string, token int64) (Delivery, error) {
	d := Delivery{Token: token, Raw: raw, Signature: sig}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return d, fmt.Errorf("vibertest: post callback: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(signatureHeader, sig)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return d, fmt.Errorf("vibertest: post callback: %w", err)
	}
	defer resp.Body.Close()
	d.Status = resp.StatusCode
	if d.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxFetchSize)); err != nil {
		return d, fmt.Errorf("vibertest: read the webhook's answer: %w", err)
	}
	return d, nil
}

type conversationStarted struct {
	Event        string   `json:"event"`
	Timestamp    int64    `json:"timestamp"`
	MessageToken int64    `json:"message_token"`
	Type         string   `json:"type"`
	Context      string   `json:"context,omitempty"`
	User         wireUser `json:"user"`
	Subscribed   bool     `json:"subscribed"`
}

// ConversationStarted plays the person opening a conversation with the bot
// (through a link carrying linkContext, or a search). It makes them known but
// not subscribed: sends to them answer 6 until they write or subscribe.
// A welcome message in the webhook's answer (send_message's fields but the
// receiver) is checked as send_message checks one and recorded with
// Welcome set; an invalid one makes ConversationStarted fail, saying why.
func (s *Server) ConversationStarted(u User, linkContext string) (Delivery, error) {
	if u.ID == "" {
		return Delivery{}, errNoID
	}
	d, err := s.emit("conversation_started", func(h webhook) (any, int64) {
		p := s.personLocked(u)
		token := s.nextTokenLocked()
		return conversationStarted{Event: "conversation_started", Timestamp: nowMillis(), MessageToken: token,
			Type: "open", Context: linkContext, User: h.user(p.profile), Subscribed: p.subscribed}, token
	})
	if err != nil || d.Status != http.StatusOK || len(bytes.TrimSpace(d.Body)) == 0 {
		return d, err
	}
	if err := s.welcome(u.ID, d.Body); err != nil {
		return d, fmt.Errorf("vibertest: welcome message: %w", err)
	}
	return d, nil
}

func (s *Server) welcome(receiver string, body []byte) error {
	if len(body) > MaxBodySize {
		return fmt.Errorf("larger than %d bytes", MaxBodySize)
	}
	if !isObject(body) {
		return fmt.Errorf("not a JSON object: %.200q", body)
	}
	var o outgoing
	if aerr := decode(body, &o); aerr != nil {
		return errors.New(aerr.message)
	}
	m, aerr := s.prepare(s.ctx, o)
	if aerr != nil {
		return errors.New(aerr.message)
	}
	m.Receiver, m.Welcome = receiver, true
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Token = s.nextTokenLocked()
	s.recordLocked(m)
	return nil
}

var errNoID = errors.New("vibertest: the user has no ID")

// Subscribed plays the person subscribing to the bot.
func (s *Server) Subscribed(u User) (Delivery, error) {
	if u.ID == "" {
		return Delivery{}, errNoID
	}
	return s.emit("subscribed", func(h webhook) (any, int64) {
		p := s.personLocked(u)
		p.subscribed = true
		token := s.nextTokenLocked()
		return struct {
			Event        string   `json:"event"`
			Timestamp    int64    `json:"timestamp"`
			User         wireUser `json:"user"`
			MessageToken int64    `json:"message_token"`
		}{"subscribed", nowMillis(), h.user(p.profile), token}, token
	})
}

// Unsubscribed plays the person unsubscribing: sends to them answer 6
// until they write again.
func (s *Server) Unsubscribed(userID string) (Delivery, error) {
	if userID == "" {
		return Delivery{}, errNoID
	}
	return s.emit("unsubscribed", func(webhook) (any, int64) {
		s.personLocked(User{ID: userID}).subscribed = false
		token := s.nextTokenLocked()
		return struct {
			Event        string `json:"event"`
			Timestamp    int64  `json:"timestamp"`
			UserID       string `json:"user_id"`
			MessageToken int64  `json:"message_token"`
		}{"unsubscribed", nowMillis(), userID, token}, token
	})
}

// inMessage is the message of a person's message callback.
type inMessage struct {
	Type         string       `json:"type"`
	Text         string       `json:"text,omitempty"`
	Media        string       `json:"media,omitempty"`
	Thumbnail    string       `json:"thumbnail,omitempty"`
	FileName     string       `json:"file_name,omitempty"`
	Size         int64        `json:"size,omitempty"`
	StickerID    int          `json:"sticker_id,omitempty"`
	Location     *wireLoc     `json:"location,omitempty"`
	Contact      *wireContact `json:"contact,omitempty"`
	TrackingData string       `json:"tracking_data,omitempty"`
}

type wireLoc struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type wireContact struct {
	Name        string `json:"name"`
	PhoneNumber string `json:"phone_number"`
}

type messageCallback struct {
	Event        string    `json:"event"`
	Timestamp    int64     `json:"timestamp"`
	MessageToken int64     `json:"message_token"`
	Sender       wireUser  `json:"sender"`
	Message      inMessage `json:"message"`
	Silent       bool      `json:"silent"`
	ChatHostname string    `json:"chat_hostname"`
}

// userMessage posts a message from the person. Writing subscribes them
// (without a subscribed callback, as in Viber) and restarts the count of
// messages the bot may send them; the message carries back the
// tracking_data of the latest message to them.
func (s *Server) userMessage(u User, m inMessage, silent bool) (Delivery, error) {
	if u.ID == "" {
		return Delivery{}, errNoID
	}
	return s.emit("message", func(h webhook) (any, int64) {
		p := s.personLocked(u)
		p.subscribed, p.unanswered = true, 0
		m.TrackingData = p.tracking
		token := s.nextTokenLocked()
		return messageCallback{Event: "message", Timestamp: nowMillis(), MessageToken: token,
			Sender: h.user(p.profile), Message: m, Silent: silent, ChatHostname: chatHostname}, token
	})
}

// Text plays the person writing text.
func (s *Server) Text(u User, text string) (Delivery, error) {
	return s.userMessage(u, inMessage{Type: "text", Text: text}, false)
}

// Press plays the person pressing the reply button with actionBody on the
// keyboard they see, which sends actionBody as their text (silently for a
// Silent button). It fails when they see no such button, since a person
// can press only what the bot showed them.
func (s *Server) Press(u User, actionBody string) (Delivery, error) {
	b, err := s.findButton(u.ID, func(b Button) bool { return b.ActionBody == actionBody }, fmt.Sprintf("ActionBody %q", actionBody))
	if err != nil {
		return Delivery{}, err
	}
	return s.userMessage(u, inMessage{Type: "text", Text: b.ActionBody}, b.Silent)
}

// PressText is Press for the reply button labelled text.
func (s *Server) PressText(u User, text string) (Delivery, error) {
	b, err := s.findButton(u.ID, func(b Button) bool { return b.Text == text }, fmt.Sprintf("Text %q", text))
	if err != nil {
		return Delivery{}, err
	}
	return s.userMessage(u, inMessage{Type: "text", Text: b.ActionBody}, b.Silent)
}

// findButton finds the reply button that match picks on the keyboard the
// person sees.
func (s *Server) findButton(userID string, match func(Button) bool, what string) (Button, error) {
	kb := s.LastKeyboard(userID)
	if kb == nil {
		return Button{}, fmt.Errorf("vibertest: %s sees no keyboard", userID)
	}
	other := ""
	for _, b := range kb.Buttons {
		switch {
		case !match(b):
		case b.ActionType == "reply":
			return b, nil
		default:
			other = b.ActionType
		}
	}
	if other != "" {
		return Button{}, fmt.Errorf("vibertest: the button with %s is %s, not reply: pressing it sends no message", what, other)
	}
	return Button{}, fmt.Errorf("vibertest: the keyboard %s sees has no button with %s", userID, what)
}

// Picture plays the person sending a photo. The server serves data at a
// URL of its own, which answers 404 after ExpireMedia.
func (s *Server) Picture(u User, data []byte, caption string) (Delivery, error) {
	url, n := s.addMedia(data)
	ext := ".jpg"
	if strings.HasSuffix(http.DetectContentType(data), "png") {
		ext = ".png"
	}
	return s.userMessage(u, inMessage{Type: "picture", Media: url, Text: caption, Thumbnail: url,
		FileName: fmt.Sprintf("IMG_%04d%s", n, ext), Size: int64(len(data))}, false)
}

// File plays the person sending a file named name, served as Picture's.
func (s *Server) File(u User, data []byte, name string) (Delivery, error) {
	url, _ := s.addMedia(data)
	return s.userMessage(u, inMessage{Type: "file", Media: url, FileName: name, Size: int64(len(data))}, false)
}

// Sticker plays the person sending a sticker.
func (s *Server) Sticker(u User) (Delivery, error) {
	return s.userMessage(u, inMessage{Type: "sticker", StickerID: 46105}, false)
}

// Location plays the person sharing a location.
func (s *Server) Location(u User, lat, lon float64) (Delivery, error) {
	return s.userMessage(u, inMessage{Type: "location", Location: &wireLoc{Lat: lat, Lon: lon}}, false)
}

// Contact plays the person sharing a contact.
func (s *Server) Contact(u User, name, phone string) (Delivery, error) {
	return s.userMessage(u, inMessage{Type: "contact", Contact: &wireContact{Name: name, PhoneNumber: phone}}, false)
}

// Delivered reports the message with token delivered to the person's device.
func (s *Server) Delivered(userID string, token int64) (Delivery, error) {
	return s.receipt("delivered", userID, token, "")
}

// Seen reports the message with token seen by the person.
func (s *Server) Seen(userID string, token int64) (Delivery, error) {
	return s.receipt("seen", userID, token, "")
}

// Failed reports that the message with token could not be delivered, as
// Viber does for a keyboard the person's client refused.
func (s *Server) Failed(userID string, token int64, desc string) (Delivery, error) {
	return s.receipt("failed", userID, token, desc)
}

func (s *Server) receipt(event, userID string, token int64, desc string) (Delivery, error) {
	return s.emit(event, func(webhook) (any, int64) {
		return struct {
			Event        string `json:"event"`
			Timestamp    int64  `json:"timestamp"`
			MessageToken int64  `json:"message_token"`
			UserID       string `json:"user_id"`
			Desc         string `json:"desc,omitempty"`
		}{event, nowMillis(), token, userID, desc}, token
	})
}

// Deliver posts a raw callback, correctly signed, whatever its event
// types. It takes effect as a real one of its kind: a message or
// subscribed callback subscribes its person, unsubscribed unsubscribes.
func (s *Server) Deliver(raw []byte) (Delivery, error) {
	var peek struct {
		Event        string    `json:"event"`
		MessageToken int64     `json:"message_token"`
		UserID       string    `json:"user_id"`
		User         *wireUser `json:"user"`
		Sender       *wireUser `json:"sender"`
	}
	// A malformed callback is posted all the same: a test may want that.
	_ = json.Unmarshal(raw, &peek)
	s.mu.Lock()
	url := s.hook.url
	if url == "" {
		s.mu.Unlock()
		return Delivery{}, ErrNoWebhook
	}
	switch {
	case peek.Event == "message" && peek.Sender != nil && peek.Sender.ID != "":
		p := s.personLocked(peek.Sender.profile())
		p.subscribed, p.unanswered = true, 0
	case peek.Event == "subscribed" && peek.User != nil && peek.User.ID != "":
		s.personLocked(peek.User.profile()).subscribed = true
	case peek.Event == "conversation_started" && peek.User != nil && peek.User.ID != "":
		s.personLocked(peek.User.profile())
	case peek.Event == "unsubscribed" && peek.UserID != "":
		s.personLocked(User{ID: peek.UserID}).subscribed = false
	}
	s.mu.Unlock()
	raw = bytes.Clone(raw)
	return s.post(s.ctx, url, raw, Sign(s.opts.Token, raw), peek.MessageToken)
}

// DeliverSigned posts a raw callback with the given signature header (""
// for none), for tests of forged callbacks. It changes no state: Viber
// did not send it.
func (s *Server) DeliverSigned(raw []byte, signature string) (Delivery, error) {
	var peek struct {
		MessageToken int64 `json:"message_token"`
	}
	_ = json.Unmarshal(raw, &peek)
	return s.postRaw(bytes.Clone(raw), signature, peek.MessageToken)
}

// Redeliver posts a delivered callback again, the same body with the same
// signature, as Viber retries a callback that did not get 200.
func (s *Server) Redeliver(d Delivery) (Delivery, error) {
	return s.postRaw(d.Raw, d.Signature, d.Token)
}

func (s *Server) postRaw(raw []byte, signature string, token int64) (Delivery, error) {
	s.mu.Lock()
	url := s.hook.url
	s.mu.Unlock()
	if url == "" {
		return Delivery{}, ErrNoWebhook
	}
	return s.post(s.ctx, url, raw, signature, token)
}

// media is a file a person sent, served at a URL of the server.
type media struct {
	data        []byte
	contentType string
}

// addMedia serves data at a new URL, whose path cannot be guessed, and
// returns it with the count of media so far.
func (s *Server) addMedia(data []byte) (string, int) {
	id := make([]byte, 16)
	rand.Read(id)
	key := hex.EncodeToString(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[key] = &media{data: bytes.Clone(data), contentType: http.DetectContentType(data)}
	s.mediaSeq++
	return s.srv.URL + mediaPrefix + key, s.mediaSeq
}

// ExpireMedia makes every media URL served so far answer 404. Viber's
// media URLs expire, so a bot must download what it keeps at once.
func (s *Server) ExpireMedia() {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forgetting the files, rather than marking them, also bounds the
	// memory of a long load run.
	clear(s.media)
}

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, key string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	m, ok := s.media[key]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	// A media file is never changed once added, so it is read unlocked.
	w.Header().Set("Content-Type", m.contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(m.data))
}
