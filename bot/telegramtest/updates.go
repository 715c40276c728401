package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"
)

// User is a person talking to the bot in a private chat (whose id equals
// the user's id, as in Telegram).
type User struct {
	ID           int64
	FirstName    string
	Username     string
	LanguageCode string
}

// Message is one message of a chat as a person sees it.
type Message struct {
	ID      int
	ChatID  int64
	FromBot bool
	// Text is the plain text (a photo's caption) after entity parsing;
	// HTML is the text as the bot sent it.
	Text     string
	HTML     string
	Keyboard [][]Button
	// Photo is the uploaded picture; PhotoID its file_id.
	Photo   []byte
	PhotoID string
	// Edits counts successful editMessageText calls on the message.
	Edits int
	Date  time.Time
}

// Button is an inline keyboard button.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Wire shapes of the Bot API objects the server produces.
type (
	wireUser struct {
		ID           int64  `json:"id"`
		IsBot        bool   `json:"is_bot"`
		FirstName    string `json:"first_name"`
		Username     string `json:"username,omitempty"`
		LanguageCode string `json:"language_code,omitempty"`
	}
	wireChat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		FirstName string `json:"first_name,omitempty"`
		Username  string `json:"username,omitempty"`
	}
	wireEntity struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"`
		Length int    `json:"length"`
	}
	wirePhotoSize struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		FileSize     int    `json:"file_size,omitempty"`
	}
	wireDocument struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		FileName     string `json:"file_name,omitempty"`
		MimeType     string `json:"mime_type,omitempty"`
	}
	wireMarkup struct {
		InlineKeyboard [][]Button `json:"inline_keyboard"`
	}
	wireMessage struct {
		MessageID   int             `json:"message_id"`
		From        *wireUser       `json:"from,omitempty"`
		Chat        wireChat        `json:"chat"`
		Date        int64           `json:"date"`
		EditDate    int64           `json:"edit_date,omitempty"`
		Text        string          `json:"text,omitempty"`
		Entities    []wireEntity    `json:"entities,omitempty"`
		Caption     string          `json:"caption,omitempty"`
		Photo       []wirePhotoSize `json:"photo,omitempty"`
		Document    *wireDocument   `json:"document,omitempty"`
		ReplyMarkup *wireMarkup     `json:"reply_markup,omitempty"`
	}
	wireCallback struct {
		ID           string       `json:"id"`
		From         wireUser     `json:"from"`
		Message      *wireMessage `json:"message,omitempty"`
		ChatInstance string       `json:"chat_instance"`
		Data         string       `json:"data,omitempty"`
	}
	wireUpdate struct {
		UpdateID      int           `json:"update_id"`
		Message       *wireMessage  `json:"message,omitempty"`
		CallbackQuery *wireCallback `json:"callback_query,omitempty"`
	}
)

func (u User) wire() wireUser {
	name := u.FirstName
	if name == "" {
		name = fmt.Sprintf("User %d", u.ID)
	}
	return wireUser{ID: u.ID, FirstName: name, Username: u.Username, LanguageCode: u.LanguageCode}
}

// AddUser registers a person who has started the bot, so that the bot may
// write to them before they write anything (Telegram answers "chat not
// found" otherwise). Queuing any update from a user registers them too.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(u)
}

func (s *Server) chatLocked(u User) *chat {
	c, ok := s.chats[u.ID]
	if !ok {
		c = &chat{user: u, nextID: 1}
		s.chats[u.ID] = c
	}
	return c
}

// Block makes every later call that writes to the user's chat fail with
// 403 "Forbidden: bot was blocked by the user", as after the person blocked
// the bot; Unblock undoes it.
func (s *Server) Block(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(User{ID: userID}).blocked = true
}

// Unblock lets the bot write to the user again.
func (s *Server) Unblock(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(User{ID: userID}).blocked = false
}

func (s *Server) chatWire(c *chat) wireChat {
	name := c.user.FirstName
	if name == "" {
		name = fmt.Sprintf("User %d", c.user.ID)
	}
	return wireChat{ID: c.user.ID, Type: "private", FirstName: name, Username: c.user.Username}
}

// UserText queues a text message from u and returns its update_id. A text
// starting with "/" carries a bot_command entity, as Telegram adds one.
func (s *Server) UserText(u User, text string) int {
	return s.userMessage(u, func(m *wireMessage, seen *Message) {
		m.Text = text
		if strings.HasPrefix(text, "/") {
			cmd, _, _ := strings.Cut(text, " ")
			m.Entities = []wireEntity{{Type: "bot_command", Offset: 0, Length: len(utf16.Encode([]rune(cmd)))}}
		}
		seen.Text = text
	})
}

// UserPhoto queues a photo from u with an optional caption; fileID is the
// file_id of the largest size.
func (s *Server) UserPhoto(u User, fileID, caption string) int {
	return s.userMessage(u, func(m *wireMessage, seen *Message) {
		m.Caption = caption
		m.Photo = []wirePhotoSize{
			{FileID: fileID + "-s", FileUniqueID: "u" + fileID + "-s", Width: 90, Height: 60},
			{FileID: fileID, FileUniqueID: "u" + fileID, Width: 1280, Height: 853},
		}
		seen.Text, seen.PhotoID = caption, fileID
	})
}

// UserDocument queues a document from u.
func (s *Server) UserDocument(u User, fileID, name string) int {
	return s.userMessage(u, func(m *wireMessage, seen *Message) {
		m.Document = &wireDocument{FileID: fileID, FileUniqueID: "u" + fileID, FileName: name, MimeType: "application/pdf"}
		seen.Text = name
	})
}

// userMessage queues a message from u that fill completes, both as sent
// in the update and as the chat shows it.
func (s *Server) userMessage(u User, fill func(m *wireMessage, seen *Message)) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(u)
	from := u.wire()
	m := &wireMessage{MessageID: c.nextID, From: &from, Chat: s.chatWire(c), Date: s.opts.Now().Unix()}
	c.nextID++
	seen := &Message{ID: m.MessageID, ChatID: u.ID, Date: time.Unix(m.Date, 0)}
	fill(m, seen)
	seen.HTML = seen.Text
	s.addMessageLocked(c, seen)
	return s.enqueueLocked(u.ID, wireUpdate{Message: m})
}

// UserPress queues u's press of the button with callback data on the bot's
// message messageID. It fails when that message has no such button, since
// a person can only press what the bot showed them.
func (s *Server) UserPress(u User, messageID int, data string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(u)
	for _, m := range c.messages {
		if m.ID != messageID || !m.FromBot {
			continue
		}
		for _, row := range m.Keyboard {
			for _, b := range row {
				if b.CallbackData == data {
					return s.pressLocked(c, u, m, data), nil
				}
			}
		}
		return 0, fmt.Errorf("telegramtest: message %d in chat %d has no button with data %q", messageID, u.ID, data)
	}
	return 0, fmt.Errorf("telegramtest: chat %d has no bot message %d", u.ID, messageID)
}

// UserClick queues u's press of the callback button labelled text on the
// latest bot message that shows one.
func (s *Server) UserClick(u User, text string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(u)
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if !m.FromBot {
			continue
		}
		for _, row := range m.Keyboard {
			for _, b := range row {
				if b.Text == text && b.CallbackData != "" {
					return s.pressLocked(c, u, m, b.CallbackData), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("telegramtest: no bot message in chat %d has a button %q", u.ID, text)
}

func (s *Server) pressLocked(c *chat, u User, m *Message, data string) int {
	s.queryID++
	id := fmt.Sprintf("%d", 4382000000000000000+int64(s.queryID))
	s.callbacks[id] = &callback{chatID: u.ID}
	msg := s.messageWireLocked(c, m)
	cb := &wireCallback{ID: id, From: u.wire(), Message: &msg, ChatInstance: fmt.Sprintf("-%d", 900000+u.ID), Data: data}
	return s.enqueueLocked(u.ID, wireUpdate{CallbackQuery: cb})
}

// Enqueue queues a raw update (JSON of an Update object), as is: it may be
// malformed on purpose. A missing or zero update_id is assigned; the sender
// of a message or callback query becomes a known user. It returns the
// update_id.
func (s *Server) Enqueue(raw []byte) (int, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return 0, fmt.Errorf("telegramtest: update is not a JSON object: %w", err)
	}
	var peek struct {
		UpdateID int `json:"update_id"`
		Message  *struct {
			From *wireUser `json:"from"`
			Chat wireChat  `json:"chat"`
		} `json:"message"`
		CallbackQuery *struct {
			ID   string   `json:"id"`
			From wireUser `json:"from"`
		} `json:"callback_query"`
	}
	// An update of an unexpected shape is queued all the same (a test may
	// want exactly that); it just belongs to no known chat.
	_ = json.Unmarshal(raw, &peek)
	s.mu.Lock()
	defer s.mu.Unlock()
	var chatID int64
	switch {
	case peek.Message != nil:
		chatID = peek.Message.Chat.ID
		if f := peek.Message.From; f != nil {
			s.chatLocked(User{ID: f.ID, FirstName: f.FirstName, Username: f.Username, LanguageCode: f.LanguageCode})
		}
	case peek.CallbackQuery != nil:
		f := peek.CallbackQuery.From
		chatID = f.ID
		s.chatLocked(User{ID: f.ID, FirstName: f.FirstName, Username: f.Username, LanguageCode: f.LanguageCode})
		s.callbacks[peek.CallbackQuery.ID] = &callback{chatID: f.ID}
	}
	id := peek.UpdateID
	if id == 0 {
		id = s.nextUpdateID
	}
	if id >= s.nextUpdateID {
		s.nextUpdateID = id + 1
	}
	b, err := json.Marshal(id)
	if err != nil {
		return 0, err
	}
	obj["update_id"] = b
	out, err := json.Marshal(obj)
	if err != nil {
		return 0, err
	}
	s.insertLocked(queuedUpdate{id: id, chatID: chatID, raw: out})
	return id, nil
}

func (s *Server) enqueueLocked(chatID int64, u wireUpdate) int {
	u.UpdateID = s.nextUpdateID
	s.nextUpdateID++
	raw, err := json.Marshal(u)
	if err != nil {
		panic(err) // the wire types always marshal
	}
	s.insertLocked(queuedUpdate{id: u.UpdateID, chatID: chatID, raw: raw})
	return u.UpdateID
}

func (s *Server) insertLocked(q queuedUpdate) {
	i := len(s.updates)
	for i > 0 && s.updates[i-1].id > q.id {
		i--
	}
	s.updates = append(s.updates, queuedUpdate{})
	copy(s.updates[i+1:], s.updates[i:])
	s.updates[i] = q
	s.notifyLocked()
}

// getUpdates implements long polling with Telegram's semantics: a positive
// offset confirms (forgets) every update below it, a negative one keeps
// only the last -offset updates, limit is clamped to 1..100, and with a
// timeout the call returns as soon as an update is queued. A second poll
// terminates the first with 409, and no poll works while a webhook is set.
func (s *Server) getUpdates(c *call) (any, string, *apiError) {
	offset, err := parseInt(c.params, "offset", 0)
	if err != nil {
		return nil, "", err
	}
	limit, err := parseInt(c.params, "limit", 100)
	if err != nil {
		return nil, "", err
	}
	limit = max(1, min(limit, 100))
	timeout, err := parseInt(c.params, "timeout", 0)
	if err != nil {
		return nil, "", err
	}
	if timeout < 0 {
		timeout = 0
	}

	s.mu.Lock()
	if s.webhook.URL != "" {
		s.mu.Unlock()
		return nil, "", &apiError{code: http.StatusConflict,
			description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	switch {
	case offset > 0:
		n := 0
		for n < len(s.updates) && s.updates[n].id < int(offset) {
			n++
		}
		s.updates = s.updates[n:]
	case offset < 0:
		if keep := int(-offset); len(s.updates) > keep {
			s.updates = s.updates[len(s.updates)-keep:]
		}
	}
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked()
	s.mu.Unlock()

	ctx := c.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
		defer cancel()
	}
	var batch []json.RawMessage
	conflict, parked := false, false
	werr := s.waitUntil(ctx, func() bool {
		if s.pollGen != gen {
			conflict = true
			return true
		}
		batch = batch[:0]
		for _, u := range s.updates {
			if len(batch) == int(limit) {
				break
			}
			batch = append(batch, u.raw)
		}
		done := len(batch) > 0 || timeout == 0
		if !done && !parked {
			parked = true
			s.parked++
			s.notifyLocked()
		}
		return done
	})
	if parked {
		s.mu.Lock()
		s.parked--
		s.mu.Unlock()
	}
	if conflict {
		return nil, "", &apiError{code: http.StatusConflict,
			description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
	}
	if werr != nil && c.ctx.Err() == nil && !errors.Is(werr, context.DeadlineExceeded) {
		return nil, "", &apiError{code: http.StatusInternalServerError, description: "Internal Server Error: " + werr.Error()}
	}
	if batch == nil {
		batch = []json.RawMessage{}
	}
	return batch, "", nil
}

// WaitPolling waits until a getUpdates call is parked in its long poll:
// the bot has seen every queued update and is waiting for new ones.
func (s *Server) WaitPolling(ctx context.Context) error {
	return s.waitUntil(ctx, func() bool { return s.parked > 0 })
}

// WebhookInfo is the webhook state, as getWebhookInfo reports it, plus the
// secret token (which the real API never reveals).
type WebhookInfo struct {
	URL                string   `json:"url"`
	HasCustomCert      bool     `json:"has_custom_certificate"`
	PendingUpdateCount int      `json:"pending_update_count"`
	LastErrorDate      int64    `json:"last_error_date,omitempty"`
	LastErrorMessage   string   `json:"last_error_message,omitempty"`
	MaxConnections     int      `json:"max_connections,omitempty"`
	AllowedUpdates     []string `json:"allowed_updates,omitempty"`
	Secret             string   `json:"-"`
	// Deliveries counts webhook requests, Failures those not answered 2xx.
	Deliveries int `json:"-"`
	Failures   int `json:"-"`
}

// Webhook returns the current webhook state.
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhook
	w.PendingUpdateCount = len(s.updates)
	return w
}

// deliverWebhook posts queued updates to the webhook until it is removed or
// the server closes. Like Telegram it retries an update until the webhook
// answers 2xx; it keeps one update per chat in flight, so a chat's updates
// arrive in order, and at most max_connections in all.
func (s *Server) deliverWebhook() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if s.closed || s.webhook.URL == "" {
			s.delivering = false
			s.mu.Unlock()
			return
		}
		inFlight := 0
		busy := map[int64]bool{}
		for _, u := range s.updates {
			if u.sending {
				inFlight++
				busy[u.chatID] = true
			}
		}
		hook := s.webhook
		for i := range s.updates {
			u := &s.updates[i]
			if inFlight >= hook.MaxConnections {
				break
			}
			if u.sending || busy[u.chatID] {
				busy[u.chatID] = true
				continue
			}
			u.sending = true
			busy[u.chatID] = true
			inFlight++
			s.webhook.Deliveries++
			s.wg.Add(1)
			go s.post(hook.URL, hook.Secret, u.id, u.raw)
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.ctx.Done():
		}
	}
}

func (s *Server) post(url, secret string, id int, raw json.RawMessage) {
	defer s.wg.Done()
	status, err := s.postOnce(url, secret, raw)
	ok := err == nil && status >= 200 && status < 300
	if !ok {
		select {
		case <-time.After(s.opts.WebhookRetry):
		case <-s.ctx.Done():
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.updates {
		if s.updates[i].id != id {
			continue
		}
		if ok {
			s.updates = append(s.updates[:i], s.updates[i+1:]...)
		} else {
			s.updates[i].sending = false
		}
		break
	}
	if !ok {
		s.webhook.Failures++
		s.webhook.LastErrorDate = s.opts.Now().Unix()
		if err != nil {
			s.webhook.LastErrorMessage = "Connection refused"
		} else {
			s.webhook.LastErrorMessage = fmt.Sprintf("Wrong response from the webhook: %d %s", status, http.StatusText(status))
		}
	}
	s.notifyLocked()
}

func (s *Server) postOnce(url, secret string, raw json.RawMessage) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
