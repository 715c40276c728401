package vibertest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Sender is the name and avatar a message is shown with.
type Sender struct {
	Name   string `json:"name"`
	Avatar string `json:"avatar,omitempty"`
}

// Message is one message the bot sent, as the server accepted it.
type Message struct {
	// Seq numbers messages in the order they were accepted, from 1.
	Seq int
	// Token is the message_token Viber answered; the messages of one
	// broadcast share it.
	Token    int64
	Receiver string
	// Type is text, picture, url or file. Text is the text or the
	// picture's caption; Media the URL of a picture, link or file.
	Type, Text, Media, Thumbnail, FileName string
	Size                                   int64
	// MediaBytes and MediaType are the picture as the server fetched it
	// from Media at send time.
	MediaBytes   []byte
	MediaType    string
	TrackingData string
	Sender       Sender
	// MinAPIVersion is 1 when the call left it out, Viber's default.
	MinAPIVersion int
	Keyboard      *Keyboard
	// Broadcast marks a message sent by broadcast_message; Welcome one
	// returned in the webhook's answer to conversation_started.
	Broadcast bool
	Welcome   bool
	At        time.Time
}

// Keyboard is the custom keyboard of a message
// (developers.viber.com/docs/tools/keyboards). The fields the server does
// not model are kept in Extra, as sent.
type Keyboard struct {
	Type            string                     `json:"Type"`
	DefaultHeight   bool                       `json:"DefaultHeight,omitempty"`
	BgColor         string                     `json:"BgColor,omitempty"`
	InputFieldState string                     `json:"InputFieldState,omitempty"`
	Buttons         []Button                   `json:"Buttons"`
	Extra           map[string]json.RawMessage `json:"-"`
}

// Button is one key of a keyboard. Columns and Rows are its size in the
// keyboard's grid (defaults 6 and 1), ActionType what a press does
// (default reply: the person sends ActionBody as a message).
type Button struct {
	Columns    int                        `json:"Columns"`
	Rows       int                        `json:"Rows"`
	ActionType string                     `json:"ActionType"`
	ActionBody string                     `json:"ActionBody"`
	Text       string                     `json:"Text,omitempty"`
	Silent     bool                       `json:"Silent,omitempty"`
	BgColor    string                     `json:"BgColor,omitempty"`
	Image      string                     `json:"Image,omitempty"`
	TextSize   string                     `json:"TextSize,omitempty"`
	TextHAlign string                     `json:"TextHAlign,omitempty"`
	TextVAlign string                     `json:"TextVAlign,omitempty"`
	ReplyType  string                     `json:"ReplyType,omitempty"`
	Extra      map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a keyboard, keeping the fields it does not model.
func (k *Keyboard) UnmarshalJSON(data []byte) error {
	type plain Keyboard
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	extra, err := extraFields(data, "Type", "DefaultHeight", "BgColor", "InputFieldState", "Buttons")
	if err != nil {
		return err
	}
	*k = Keyboard(p)
	k.Extra = extra
	return nil
}

// UnmarshalJSON decodes a button with Viber's defaults for the fields left
// out, keeping the fields it does not model. An explicit 0 stays 0, which
// validation refuses as Viber does.
func (b *Button) UnmarshalJSON(data []byte) error {
	type plain Button
	var p struct {
		plain
		Columns *int `json:"Columns"`
		Rows    *int `json:"Rows"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	extra, err := extraFields(data, "Columns", "Rows", "ActionType", "ActionBody", "Text", "Silent",
		"BgColor", "Image", "TextSize", "TextHAlign", "TextVAlign", "ReplyType")
	if err != nil {
		return err
	}
	*b = Button(p.plain)
	b.Columns, b.Rows = KeyboardColumns, 1
	if p.Columns != nil {
		b.Columns = *p.Columns
	}
	if p.Rows != nil {
		b.Rows = *p.Rows
	}
	if b.ActionType == "" {
		b.ActionType = "reply"
	}
	b.Extra = extra
	return nil
}

// extraFields returns the members of the object data not named in known,
// nil when there are none.
func extraFields(data []byte, known ...string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	for _, k := range known {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// Rows lays the buttons out in the grid Viber draws them in: left to
// right in rows of KeyboardColumns columns, a button that would overflow
// a row starting the next one.
func (k Keyboard) Rows() [][]Button {
	var rows [][]Button
	used := 0
	for _, b := range k.Buttons {
		c := b.Columns
		if c <= 0 {
			c = KeyboardColumns
		}
		if len(rows) == 0 || used+c > KeyboardColumns {
			rows = append(rows, nil)
			used = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], b)
		used += c
	}
	return rows
}

// height is the keyboard's height in grid rows, which MaxKeyboardRows
// bounds: each row of the layout is as tall as its tallest button, so a
// row with a Rows 2 button counts twice.
func (k Keyboard) height() int {
	h := 0
	for _, row := range k.Rows() {
		tallest := 1
		for _, b := range row {
			tallest = max(tallest, b.Rows)
		}
		h += tallest
	}
	return h
}

var actionTypes = map[string]bool{"reply": true, "open-url": true, "location-picker": true, "share-phone": true, "none": true}

var inputFieldStates = map[string]bool{"": true, "regular": true, "minimized": true, "hidden": true}

// parseKeyboard decodes and checks the keyboard of a message; nil when
// there is none.
func parseKeyboard(raw json.RawMessage) (*Keyboard, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var kb Keyboard
	if err := json.Unmarshal(raw, &kb); err != nil {
		return nil, fail(statusBadData, "keyboard: malformed JSON: %v", err)
	}
	if kb.Type != "keyboard" {
		return nil, fail(statusBadData, "keyboard: Type must be \"keyboard\", not %q", kb.Type)
	}
	if n := len(kb.Buttons); n == 0 || n > MaxButtons {
		return nil, fail(statusBadData, "keyboard: %d buttons, want 1 to %d", n, MaxButtons)
	}
	if !inputFieldStates[kb.InputFieldState] {
		return nil, fail(statusBadData, "keyboard: unknown InputFieldState %q", kb.InputFieldState)
	}
	for i, b := range kb.Buttons {
		switch {
		case b.Columns < 1 || b.Columns > KeyboardColumns:
			return nil, fail(statusBadData, "keyboard: button %d: Columns %d, want 1 to %d", i, b.Columns, KeyboardColumns)
		case b.Rows < 1 || b.Rows > 2:
			return nil, fail(statusBadData, "keyboard: button %d: Rows %d, want 1 or 2", i, b.Rows)
		case !actionTypes[b.ActionType]:
			return nil, fail(statusBadData, "keyboard: button %d: unknown ActionType %q", i, b.ActionType)
		case b.ActionBody == "":
			return nil, fail(statusBadData, "keyboard: button %d: ActionBody is required", i)
		case b.ActionType == "open-url" && !isWebURL(b.ActionBody):
			return nil, fail(statusBadData, "keyboard: button %d: ActionBody of open-url must be an http(s) URL", i)
		}
	}
	if h := kb.height(); h > MaxKeyboardRows {
		return nil, fail(statusBadData, "keyboard: %d rows, more than %d", h, MaxKeyboardRows)
	}
	return &kb, nil
}

// isWebURL reports whether s is an absolute http or https URL.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// outgoing is the body of send_message and broadcast_message, and the
// welcome message a webhook may answer conversation_started with.
type outgoing struct {
	Receiver      string          `json:"receiver"`
	BroadcastList []string        `json:"broadcast_list"`
	MinAPIVersion *int            `json:"min_api_version"`
	Sender        *Sender         `json:"sender"`
	TrackingData  string          `json:"tracking_data"`
	Type          string          `json:"type"`
	Text          string          `json:"text"`
	Media         string          `json:"media"`
	Thumbnail     string          `json:"thumbnail"`
	Size          *int64          `json:"size"`
	FileName      string          `json:"file_name"`
	Keyboard      json.RawMessage `json:"keyboard"`
}

// content checks what a message says and how it looks, everything but
// whom it goes to, and returns it as a Message to be completed.
func (o outgoing) content() (Message, *apiError) {
	m := Message{Type: o.Type, Text: o.Text, Media: o.Media, Thumbnail: o.Thumbnail, FileName: o.FileName,
		TrackingData: o.TrackingData, MinAPIVersion: 1}
	switch {
	case o.Sender == nil || o.Sender.Name == "":
		return m, fail(statusBadData, "sender.name is required")
	case runes(o.Sender.Name) > MaxSenderName:
		return m, fail(statusBadData, "sender.name is longer than %d characters", MaxSenderName)
	case o.Sender.Avatar != "" && !isWebURL(o.Sender.Avatar):
		return m, fail(statusBadData, "sender.avatar must be an http(s) URL")
	case o.MinAPIVersion != nil && *o.MinAPIVersion < 1:
		return m, fail(statusBadData, "min_api_version must be 1 or more")
	case runes(o.TrackingData) > MaxTrackingData:
		return m, fail(statusBadData, "tracking_data is longer than %d characters", MaxTrackingData)
	}
	m.Sender = *o.Sender
	if o.MinAPIVersion != nil {
		m.MinAPIVersion = *o.MinAPIVersion
	}
	switch o.Type {
	case "":
		return m, fail(statusBadData, "type is required")
	case "text":
		if strings.TrimSpace(o.Text) == "" {
			return m, fail(statusBadData, "text is required")
		}
		if runes(o.Text) > MaxTextLength {
			return m, fail(statusBadData, "text is longer than %d characters", MaxTextLength)
		}
	case "picture":
		switch {
		case !isWebURL(o.Media):
			return m, fail(statusBadData, "media must be an http(s) URL")
		case runes(o.Text) > MaxCaptionLength:
			return m, fail(statusBadData, "picture text is longer than %d characters", MaxCaptionLength)
		case o.Thumbnail != "" && !isWebURL(o.Thumbnail):
			return m, fail(statusBadData, "thumbnail must be an http(s) URL")
		}
	case "url":
		if !isWebURL(o.Media) || len(o.Media) > 2000 {
			return m, fail(statusBadData, "media must be an http(s) URL of at most 2000 characters")
		}
	case "file":
		switch {
		case !isWebURL(o.Media):
			return m, fail(statusBadData, "media must be an http(s) URL")
		case o.Size == nil || *o.Size < 1:
			return m, fail(statusBadData, "size is required")
		case o.FileName == "" || runes(o.FileName) > 256:
			return m, fail(statusBadData, "file_name is required, at most 256 characters")
		}
		m.Size = *o.Size
	default:
		return m, fail(statusBadData, "message type %q is not supported", o.Type)
	}
	kb, aerr := parseKeyboard(o.Keyboard)
	if aerr != nil {
		return m, aerr
	}
	m.Keyboard = kb
	return m, nil
}

// prepare checks a message and, for a picture, fetches it from its URL as
// Viber does at send time: a URL the bot cannot serve fails the send.
func (s *Server) prepare(ctx context.Context, o outgoing) (Message, *apiError) {
	m, aerr := o.content()
	if aerr != nil {
		return m, aerr
	}
	if m.Type == "picture" {
		data, mediaType, err := s.fetchPicture(ctx, m.Media)
		if err != nil {
			return m, fail(statusBadData, "picture could not be fetched from %s: %v", m.Media, err)
		}
		m.MediaBytes, m.MediaType = data, mediaType
	}
	return m, nil
}

func (s *Server) fetchPicture(ctx context.Context, u string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("read: %w", err)
	}
	if len(data) > maxFetchSize {
		return nil, "", fmt.Errorf("larger than %d bytes", maxFetchSize)
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mediaType, "image/") {
		return nil, "", fmt.Errorf("content type %q is not an image", ct)
	}
	return data, mediaType, nil
}

// reachableLocked checks that a message may go to the person now.
func (s *Server) reachableLocked(id string) *apiError {
	if status, ok := s.failReceiver[id]; ok {
		return failStatus(status)
	}
	p, ok := s.people[id]
	switch {
	case !ok:
		return failStatus(statusReceiverNotRegistered)
	case !p.subscribed:
		return failStatus(statusReceiverNotSubscribed)
	case p.unanswered >= MaxUnanswered:
		return failStatus(statusTooManyRequests)
	}
	return nil
}

// recordLocked records m as sent to m.Receiver. The person's keyboard and
// tracking data become the message's: in Viber a message without a
// keyboard removes the one shown.
func (s *Server) recordLocked(m Message) {
	s.msgSeq++
	m.Seq = s.msgSeq
	m.At = time.Now()
	p := s.personLocked(User{ID: m.Receiver})
	p.keyboard = m.Keyboard
	p.tracking = m.TrackingData
	if !m.Welcome {
		p.unanswered++
	}
	s.messages = appendLimited(s.messages, m, s.opts.HistoryLimit)
	s.notifyLocked()
}

type sendAnswer struct {
	envelope
	MessageToken int64  `json:"message_token"`
	ChatHostname string `json:"chat_hostname"`
}

func (s *Server) sendMessage(ctx context.Context, body []byte) (any, *apiError) {
	if aerr := s.takeFailNext(); aerr != nil {
		return nil, aerr
	}
	var o outgoing
	if aerr := decode(body, &o); aerr != nil {
		return nil, aerr
	}
	if o.Receiver == "" {
		return nil, fail(statusMissingData, "receiver is required")
	}
	m, aerr := s.prepare(ctx, o)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := s.reachableLocked(o.Receiver); aerr != nil {
		return nil, aerr
	}
	m.Receiver = o.Receiver
	m.Token = s.nextTokenLocked()
	s.recordLocked(m)
	return sendAnswer{envelope: okEnvelope, MessageToken: m.Token, ChatHostname: chatHostname}, nil
}

// failedReceiver is an entry of broadcast_message's failed_list.
type failedReceiver struct {
	Receiver      string `json:"receiver"`
	Status        int    `json:"status"`
	StatusMessage string `json:"status_message"`
}

type broadcastAnswer struct {
	envelope
	MessageToken int64            `json:"message_token"`
	FailedList   []failedReceiver `json:"failed_list"`
}

func (s *Server) broadcastMessage(ctx context.Context, body []byte) (any, *apiError) {
	if aerr := s.takeFailNext(); aerr != nil {
		return nil, aerr
	}
	var o outgoing
	if aerr := decode(body, &o); aerr != nil {
		return nil, aerr
	}
	switch {
	case len(o.BroadcastList) == 0:
		return nil, fail(statusMissingData, "broadcast_list is required")
	case len(o.BroadcastList) > MaxBroadcastList:
		return nil, fail(statusBadData, "broadcast_list has %d receivers, more than %d", len(o.BroadcastList), MaxBroadcastList)
	case slices.Contains(o.BroadcastList, ""):
		return nil, fail(statusBadData, "broadcast_list has an empty receiver")
	}
	m, aerr := s.prepare(ctx, o)
	if aerr != nil {
		return nil, aerr
	}
	m.Broadcast = true
	s.mu.Lock()
	defer s.mu.Unlock()
	answer := broadcastAnswer{envelope: okEnvelope, MessageToken: s.nextTokenLocked(), FailedList: []failedReceiver{}}
	m.Token = answer.MessageToken
	seen := map[string]bool{}
	for _, id := range o.BroadcastList {
		if seen[id] {
			continue
		}
		seen[id] = true
		if aerr := s.reachableLocked(id); aerr != nil {
			answer.FailedList = append(answer.FailedList, failedReceiver{Receiver: id, Status: aerr.status, StatusMessage: aerr.message})
			continue
		}
		m.Receiver = id
		s.recordLocked(m)
	}
	return answer, nil
}

type userDetails struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Avatar          string `json:"avatar,omitempty"`
	Language        string `json:"language"`
	Country         string `json:"country"`
	PrimaryDeviceOS string `json:"primary_device_os"`
	APIVersion      int    `json:"api_version"`
	ViberVersion    string `json:"viber_version"`
	DeviceType      string `json:"device_type"`
}

type userDetailsAnswer struct {
	envelope
	MessageToken int64       `json:"message_token"`
	User         userDetails `json:"user"`
}

func (s *Server) getUserDetails(_ context.Context, body []byte) (any, *apiError) {
	var req struct {
		ID string `json:"id"`
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if req.ID == "" {
		return nil, fail(statusMissingData, "id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, known := s.people[req.ID]
	if !known {
		return nil, failStatus(statusReceiverNotRegistered)
	}
	u := p.profile
	return userDetailsAnswer{envelope: okEnvelope, MessageToken: s.nextTokenLocked(), User: userDetails{
		ID: u.ID, Name: u.Name, Avatar: u.Avatar, Language: u.Language, Country: u.Country,
		PrimaryDeviceOS: "Android 14", APIVersion: u.APIVersion, ViberVersion: "24.1.0", DeviceType: "SM-A546B",
	}}, nil
}

type accountMember struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Avatar string `json:"avatar"`
	Role   string `json:"role"`
}

type accountAnswer struct {
	envelope
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	URI              string          `json:"uri"`
	Category         string          `json:"category"`
	Subcategory      string          `json:"subcategory"`
	Country          string          `json:"country"`
	Webhook          string          `json:"webhook"`
	EventTypes       []string        `json:"event_types"`
	SubscribersCount int             `json:"subscribers_count"`
	Members          []accountMember `json:"members"`
}

func (s *Server) getAccountInfo(context.Context, []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.people {
		if p.subscribed {
			n++
		}
	}
	events := slices.Clone(s.hook.eventTypes)
	if events == nil {
		events = []string{}
	}
	return accountAnswer{envelope: okEnvelope, ID: "pa:75346594275468546724", Name: "Hromada Bot", URI: "hromadabot",
		Category: "Organizations", Subcategory: "Community", Country: "UA",
		Webhook: s.hook.url, EventTypes: events, SubscribersCount: n,
		Members: []accountMember{{ID: "01234567890A=", Name: "Адміністратор", Avatar: "", Role: "admin"}},
	}, nil
}

// eventTypes are the callbacks set_webhook lets a bot choose; defaultEventTypes
// are what it gets when it names none.
var (
	eventTypes        = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started", "message"}
	defaultEventTypes = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}
)

type webhookAnswer struct {
	envelope
	EventTypes   []string `json:"event_types,omitempty"`
	ChatHostname string   `json:"chat_hostname"`
}

// setWebhook sets or, with url "", removes the webhook. Before setting it,
// it checks the URL as Viber does, with a signed "webhook" callback that
// must be answered 200.
func (s *Server) setWebhook(ctx context.Context, body []byte) (any, *apiError) {
	var req struct {
		URL        *string  `json:"url"`
		EventTypes []string `json:"event_types"`
		SendName   bool     `json:"send_name"`
		SendPhoto  bool     `json:"send_photo"`
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if req.URL == nil {
		return nil, fail(statusMissingData, "url is required")
	}
	if *req.URL == "" {
		s.mu.Lock()
		s.hook = webhook{}
		s.mu.Unlock()
		return webhookAnswer{envelope: okEnvelope, ChatHostname: chatHostname}, nil
	}
	if !isWebURL(*req.URL) {
		return nil, failStatus(statusInvalidURL)
	}
	var events []string
	for _, e := range req.EventTypes {
		if !slices.Contains(eventTypes, e) {
			return nil, fail(statusBadData, "unknown event type %q", e)
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		events = slices.Clone(defaultEventTypes)
	}

	s.mu.Lock()
	token := s.nextTokenLocked()
	s.mu.Unlock()
	raw, err := json.Marshal(struct {
		Event        string `json:"event"`
		Timestamp    int64  `json:"timestamp"`
		ChatHostname string `json:"chat_hostname"`
		MessageToken int64  `json:"message_token"`
	}{"webhook", time.Now().UnixMilli(), chatHostname, token})
	if err != nil {
		return nil, fail(statusBadData, "encode the webhook callback: %v", err)
	}
	d, err := s.post(ctx, *req.URL, raw, Sign(s.opts.Token, raw), token)
	if err != nil {
		return nil, fail(statusInvalidURL, "Result[Failed to connect: %v]", err)
	}
	if d.Status != http.StatusOK {
		return nil, fail(statusInvalidURL, "Result[HttpResponse(%d)]", d.Status)
	}
	s.mu.Lock()
	s.hook = webhook{url: *req.URL, eventTypes: events, sendName: req.SendName, sendPhoto: req.SendPhoto}
	s.mu.Unlock()
	return webhookAnswer{envelope: okEnvelope, EventTypes: events, ChatHostname: chatHostname}, nil
}

// Webhook returns the webhook set, "" when none, and the event types it
// accepts besides the mandatory ones.
func (s *Server) Webhook() (url string, eventTypes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hook.url, slices.Clone(s.hook.eventTypes)
}

// Messages returns the recorded messages, in the order they were sent.
// The values are shared with the server: read them, do not change them.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// MessagesTo returns the recorded messages to one person, in order.
func (s *Server) MessagesTo(receiver string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Receiver == receiver {
			out = append(out, m)
		}
	}
	return out
}

// MessagesAfter returns the recorded messages numbered above seq, in
// order: a reader that follows the record cheaply, without a pass over
// all of it.
func (s *Server) MessagesAfter(seq int) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.messages, seq+1, func(m Message, seq int) int { return cmp.Compare(m.Seq, seq) })
	return slices.Clone(s.messages[i:])
}

// WaitFor returns the first recorded message that matches pred (any when
// nil), waiting for one until ctx ends.
func (s *Server) WaitFor(ctx context.Context, pred func(Message) bool) (Message, error) {
	ms, err := s.WaitN(ctx, 1, pred)
	if err != nil {
		return Message{}, err
	}
	return ms[0], nil
}

// WaitN waits until at least n recorded messages match pred (any when
// nil) and returns them all.
func (s *Server) WaitN(ctx context.Context, n int, pred func(Message) bool) ([]Message, error) {
	var out []Message
	err := s.waitUntil(ctx, func() bool {
		out = out[:0]
		for _, m := range s.messages {
			if pred == nil || pred(m) {
				out = append(out, m)
			}
		}
		return len(out) >= n
	})
	if err != nil {
		return nil, fmt.Errorf("vibertest: wait for %d messages (have %d): %w", n, len(out), err)
	}
	return out, nil
}

// LastKeyboard returns the keyboard the person sees: that of the latest
// message to them, nil when it had none.
func (s *Server) LastKeyboard(receiver string) *Keyboard {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.people[receiver]; ok {
		return p.keyboard
	}
	return nil
}
