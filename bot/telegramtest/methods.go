package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // uploaded photos may be JPEG
	_ "image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Limits of the Bot API (https://core.telegram.org/bots/api).
const (
	MaxTextLength     = 4096
	MaxCaptionLength  = 1024
	MaxCallbackData   = 64
	MaxAnswerLength   = 200
	MaxPhotoSize      = 10 << 20
	maxCommandDescLen = 256
)

func (s *Server) getMe(*call) (any, string, *apiError) {
	return map[string]any{
		"id": s.opts.BotID, "is_bot": true, "first_name": "Hromada test bot", "username": s.opts.BotUsername,
		"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
	}, "", nil
}

// targetChat resolves chat_id to a chat the bot may write to.
func (s *Server) targetChatLocked(params map[string]string) (*chat, *apiError) {
	raw := params["chat_id"]
	if raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c, ok := s.chats[id]
	if !ok {
		return nil, badRequest("chat not found")
	}
	if c.blocked {
		return nil, &apiError{code: http.StatusForbidden, description: "Forbidden: bot was blocked by the user"}
	}
	return c, nil
}

// formatted parses a text or caption in the requested parse mode. Only HTML
// is validated; other modes are taken verbatim.
func formatted(text, parseMode string) (string, *apiError) {
	switch strings.ToLower(parseMode) {
	case "html":
		plain, err := parseHTML(text)
		if err != nil {
			return "", badRequest("can't parse entities: %s", err.Error())
		}
		return plain, nil
	case "", "markdown", "markdownv2":
		return text, nil
	}
	return "", badRequest("unsupported parse_mode")
}

var (
	commandName  = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	languageCode = regexp.MustCompile(`^[a-z]{2}$`)
)

// parseKeyboard decodes reply_markup and validates its inline keyboard as
// Telegram does; other keyboard kinds are accepted and ignored.
func parseKeyboard(raw string) ([][]Button, error) {
	if raw == "" {
		return nil, nil
	}
	var markup struct {
		InlineKeyboard [][]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &markup); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	var kb [][]Button
	for _, row := range markup.InlineKeyboard {
		var out []Button
		for _, rb := range row {
			var b struct {
				Text         string  `json:"text"`
				CallbackData *string `json:"callback_data"`
				URL          *string `json:"url"`
			}
			if err := json.Unmarshal(rb, &b); err != nil {
				return nil, badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
			}
			if b.Text == "" {
				return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			switch {
			case b.CallbackData != nil && b.URL != nil:
				return nil, badRequest("can't parse inline keyboard button: only one of the optional fields must be used")
			case b.CallbackData != nil:
				if n := len(*b.CallbackData); n == 0 || n > MaxCallbackData {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
				out = append(out, Button{Text: b.Text, CallbackData: *b.CallbackData})
			case b.URL != nil:
				u, err := url.Parse(*b.URL)
				if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tg") {
					return nil, badRequest("BUTTON_URL_INVALID")
				}
				out = append(out, Button{Text: b.Text, URL: *b.URL})
			default:
				return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
		}
		kb = append(kb, out)
	}
	return kb, nil
}

func keyboardError(err error) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	return badRequest("%s", err.Error())
}

func (s *Server) messageWireLocked(c *chat, m *Message) wireMessage {
	w := wireMessage{MessageID: m.ID, Chat: s.chatWire(c), Date: m.Date.Unix()}
	if m.FromBot {
		w.From = &wireUser{ID: s.opts.BotID, IsBot: true, FirstName: "Hromada test bot", Username: s.opts.BotUsername}
	} else {
		u := c.user.wire()
		w.From = &u
	}
	if m.Edits > 0 {
		w.EditDate = s.opts.Now().Unix()
	}
	if m.PhotoID != "" {
		w.Caption = m.Text
		w.Photo = []wirePhotoSize{{FileID: m.PhotoID, FileUniqueID: "u" + m.PhotoID, Width: 800, Height: 600, FileSize: len(m.Photo)}}
		if size, ok := s.photoSizes[m.PhotoID]; ok {
			w.Photo[0].Width, w.Photo[0].Height = size.X, size.Y
		}
	} else {
		w.Text = m.Text
	}
	if len(m.Keyboard) > 0 {
		w.ReplyMarkup = &wireMarkup{InlineKeyboard: m.Keyboard}
	}
	return w
}

// textAndKeyboard validates the text and inline keyboard of sendMessage and
// editMessageText; tooLong is the method's own description of an overlong text.
func textAndKeyboard(params map[string]string, tooLong string) (string, [][]Button, *apiError) {
	plain, aerr := formatted(params["text"], params["parse_mode"])
	if aerr != nil {
		return "", nil, aerr
	}
	if strings.TrimSpace(plain) == "" {
		return "", nil, badRequest("message text is empty")
	}
	if textLength(plain) > MaxTextLength {
		return "", nil, badRequest("%s", tooLong)
	}
	kb, err := parseKeyboard(params["reply_markup"])
	if err != nil {
		return "", nil, keyboardError(err)
	}
	return plain, kb, nil
}

func (s *Server) sendMessage(c *call) (any, string, *apiError) {
	plain, kb, aerr := textAndKeyboard(c.params, "message is too long")
	if aerr != nil {
		return nil, "", aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := s.targetChatLocked(c.params)
	if aerr != nil {
		return nil, "", aerr
	}
	m := &Message{ID: ch.nextID, ChatID: ch.user.ID, FromBot: true, Text: plain, HTML: c.params["text"], Keyboard: kb, Date: s.opts.Now()}
	ch.nextID++
	s.addMessageLocked(ch, m)
	s.notifyLocked()
	return s.messageWireLocked(ch, m), "", nil
}

func (s *Server) editMessageText(c *call) (any, string, *apiError) {
	if c.params["inline_message_id"] != "" {
		return nil, "", badRequest("MESSAGE_ID_INVALID")
	}
	plain, kb, aerr := textAndKeyboard(c.params, "MESSAGE_TOO_LONG")
	if aerr != nil {
		return nil, "", aerr
	}
	msgID, aerr := parseInt(c.params, "message_id", 0)
	if aerr != nil {
		return nil, "", aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := s.targetChatLocked(c.params)
	if aerr != nil {
		return nil, "", aerr
	}
	var m *Message
	for _, cm := range ch.messages {
		if cm.ID == int(msgID) {
			m = cm
		}
	}
	switch {
	case m == nil:
		return nil, "", badRequest("message to edit not found")
	case !m.FromBot:
		return nil, "", badRequest("message can't be edited")
	case m.PhotoID != "":
		return nil, "", badRequest("there is no text in the message to edit")
	case m.HTML == c.params["text"] && keyboardsEqual(m.Keyboard, kb):
		return nil, "", badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	m.Text, m.HTML, m.Keyboard = plain, c.params["text"], kb
	m.Edits++
	s.notifyLocked()
	return s.messageWireLocked(ch, m), "", nil
}

func keyboardsEqual(a, b [][]Button) bool {
	return slices.EqualFunc(a, b, func(x, y []Button) bool { return slices.Equal(x, y) })
}

func (s *Server) sendPhoto(c *call) (any, string, *apiError) {
	caption, aerr := formatted(c.params["caption"], c.params["parse_mode"])
	if aerr != nil {
		return nil, "", aerr
	}
	if textLength(caption) > MaxCaptionLength {
		return nil, "", badRequest("message caption is too long")
	}
	kb, err := parseKeyboard(c.params["reply_markup"])
	if err != nil {
		return nil, "", keyboardError(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := s.targetChatLocked(c.params)
	if aerr != nil {
		return nil, "", aerr
	}
	var data []byte
	var fileID string
	if f, ok := c.files["photo"]; ok {
		if len(f.Data) > MaxPhotoSize {
			return nil, "", badRequest("file is too big")
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(f.Data))
		if err != nil || cfg.Width == 0 || cfg.Height == 0 {
			return nil, "", badRequest("IMAGE_PROCESS_FAILED")
		}
		if cfg.Width+cfg.Height > 10000 {
			return nil, "", badRequest("PHOTO_INVALID_DIMENSIONS")
		}
		s.fileSeq++
		fileID = fmt.Sprintf("AgACAgIAAxkBAAI%06d", s.fileSeq)
		data = f.Data
		s.files[fileID] = data
		s.photoSizes[fileID] = image.Pt(cfg.Width, cfg.Height)
	} else if ref := c.params["photo"]; ref != "" {
		d, ok := s.files[ref]
		if !ok {
			return nil, "", badRequest("wrong file identifier/HTTP URL specified")
		}
		fileID, data = ref, d
	} else {
		return nil, "", badRequest("there is no photo in the request")
	}
	m := &Message{ID: ch.nextID, ChatID: ch.user.ID, FromBot: true, Text: caption, HTML: c.params["caption"],
		Keyboard: kb, Photo: data, PhotoID: fileID, Date: s.opts.Now()}
	ch.nextID++
	s.addMessageLocked(ch, m)
	s.notifyLocked()
	return s.messageWireLocked(ch, m), "", nil
}

func (s *Server) answerCallbackQuery(c *call) (any, string, *apiError) {
	if textLength(c.params["text"]) > MaxAnswerLength {
		return nil, "", badRequest("MESSAGE_TOO_LONG")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.callbacks[c.params["callback_query_id"]]
	if !ok || cb.answered {
		return nil, "", badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	cb.answered = true
	cb.answer = c.params
	s.notifyLocked()
	return true, "", nil
}

// Answered reports whether the callback query was answered.
func (s *Server) Answered(queryID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.callbacks[queryID]
	return ok && cb.answered
}

// Unanswered returns the ids of callback queries nobody answered yet.
func (s *Server) Unanswered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, id := range sortedKeys(s.callbacks) {
		if !s.callbacks[id].answered {
			ids = append(ids, id)
		}
	}
	return ids
}

// BotCommand is an entry of the bot's command menu.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

func commandsKey(params map[string]string) (string, *apiError) {
	scope := "default"
	if raw := params["scope"]; raw != "" {
		var sc struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(raw), &sc); err != nil || sc.Type == "" {
			return "", badRequest("can't parse BotCommandScope JSON object")
		}
		scope = sc.Type
	}
	lang := params["language_code"]
	if lang != "" && !languageCode.MatchString(lang) {
		return "", badRequest("invalid language code specified")
	}
	return scope + "/" + lang, nil
}

func (s *Server) setMyCommands(c *call) (any, string, *apiError) {
	var cmds []BotCommand
	if err := json.Unmarshal([]byte(c.params["commands"]), &cmds); err != nil {
		return nil, "", badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return nil, "", badRequest("too many commands specified")
	}
	for _, cmd := range cmds {
		if !commandName.MatchString(cmd.Command) {
			return nil, "", badRequest("BOT_COMMAND_INVALID")
		}
		if n := textLength(cmd.Description); n == 0 || n > maxCommandDescLen {
			return nil, "", badRequest("command description must be non-empty")
		}
	}
	key, aerr := commandsKey(c.params)
	if aerr != nil {
		return nil, "", aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[key] = cmds
	s.notifyLocked()
	return true, "", nil
}

func (s *Server) getMyCommands(c *call) (any, string, *apiError) {
	key, aerr := commandsKey(c.params)
	if aerr != nil {
		return nil, "", aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands[key]
	if cmds == nil {
		cmds = []BotCommand{}
	}
	return cmds, "", nil
}

func (s *Server) deleteMyCommands(c *call) (any, string, *apiError) {
	key, aerr := commandsKey(c.params)
	if aerr != nil {
		return nil, "", aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, key)
	return true, "", nil
}

// Commands returns the command menu set for the default scope and a
// language code ("" for everyone without a language-specific menu).
func (s *Server) Commands(lang string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands["default/"+lang])
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true, "record_voice": true,
	"upload_voice": true, "upload_document": true, "choose_sticker": true, "find_location": true,
	"record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(c *call) (any, string, *apiError) {
	if !chatActions[c.params["action"]] {
		return nil, "", badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, aerr := s.targetChatLocked(c.params); aerr != nil {
		return nil, "", aerr
	}
	return true, "", nil
}

var secretToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(c *call) (any, string, *apiError) {
	raw := c.params["url"]
	if raw == "" {
		return s.removeWebhook(parseBool(c.params, "drop_pending_updates"))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, "", badRequest("bad webhook: Failed to resolve host: Name or service not known")
	}
	if u.Scheme != "https" && !(s.opts.AllowHTTPWebhook && u.Scheme == "http") {
		return nil, "", badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := c.params["secret_token"]
	if secret != "" && !secretToken.MatchString(secret) {
		return nil, "", badRequest("secret token contains unallowed characters")
	}
	maxConn, aerr := parseInt(c.params, "max_connections", 40)
	if aerr != nil {
		return nil, "", aerr
	}
	if maxConn < 1 || maxConn > 100 {
		return nil, "", badRequest("bad webhook: max_connections must be between 1 and 100")
	}
	var allowed []string
	if a := c.params["allowed_updates"]; a != "" {
		if err := json.Unmarshal([]byte(a), &allowed); err != nil {
			return nil, "", badRequest("can't parse allowed updates")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if parseBool(c.params, "drop_pending_updates") {
		s.updates = nil
	}
	s.webhook = WebhookInfo{URL: raw, MaxConnections: int(maxConn), AllowedUpdates: allowed, Secret: secret,
		Deliveries: s.webhook.Deliveries, Failures: s.webhook.Failures}
	// A webhook ends long polling: a pending getUpdates gets 409.
	s.pollGen++
	if !s.delivering && !s.closed {
		s.delivering = true
		s.wg.Add(1)
		go s.deliverWebhook()
	}
	s.notifyLocked()
	return true, "Webhook was set", nil
}

func (s *Server) deleteWebhook(c *call) (any, string, *apiError) {
	return s.removeWebhook(parseBool(c.params, "drop_pending_updates"))
}

func (s *Server) removeWebhook(drop bool) (any, string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if drop {
		s.updates = nil
	}
	for i := range s.updates {
		s.updates[i].sending = false
	}
	desc := "Webhook is already deleted"
	if s.webhook.URL != "" {
		desc = "Webhook was deleted"
	}
	s.webhook = WebhookInfo{Deliveries: s.webhook.Deliveries, Failures: s.webhook.Failures}
	s.notifyLocked()
	return true, desc, nil
}

func (s *Server) getWebhookInfo(*call) (any, string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhook
	w.PendingUpdateCount = len(s.updates)
	if w.URL == "" {
		w.MaxConnections = 0
	}
	return w, "", nil
}

// Chat returns the chat with the user as the person sees it: their own
// messages and the bot's, in order, with edits applied.
func (s *Server) Chat(userID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chatCopyLocked(userID)
}

func (s *Server) chatCopyLocked(userID int64) []Message {
	c, ok := s.chats[userID]
	if !ok {
		return nil
	}
	out := make([]Message, len(c.messages))
	for i, m := range c.messages {
		out[i] = *m
	}
	return out
}

// WaitChat waits until cond holds for the user's chat and returns it.
func (s *Server) WaitChat(ctx context.Context, userID int64, cond func([]Message) bool) ([]Message, error) {
	var msgs []Message
	err := s.waitUntil(ctx, func() bool {
		msgs = s.chatCopyLocked(userID)
		return cond(msgs)
	})
	if err != nil {
		return msgs, fmt.Errorf("wait for chat %d (%d messages): %w", userID, len(msgs), err)
	}
	return msgs, nil
}

// BotMessages filters the bot's messages out of a chat.
func BotMessages(chat []Message) []Message {
	var out []Message
	for _, m := range chat {
		if m.FromBot {
			out = append(out, m)
		}
	}
	return out
}

// BotRepliesAfter counts the bot's messages after the user's message with
// id userMsgID (its answers to that message and later ones).
func BotRepliesAfter(chat []Message, userMsgID int) []Message {
	var out []Message
	for _, m := range chat {
		if m.FromBot && m.ID > userMsgID {
			out = append(out, m)
		}
	}
	return out
}
