// Package telegramtest is a fake Telegram Bot API server for tests and load
// runs. It speaks the wire protocol of https://core.telegram.org/bots/api
// closely enough that the real go-telegram-bot-api client cannot tell the
// difference: the same routes (/bot<token>/<method>), request encodings
// (query string, form, JSON, multipart), response envelopes and errors,
// getUpdates offset and long-poll semantics, webhook delivery with a secret
// token, and the validations that catch real bugs (HTML entities, text
// lengths, callback data size).
//
// A test plays the people: it queues their messages and button presses
// (UserText, UserPress, UserClick), then reads what the bot sent, either as
// the raw requests (Requests, WaitFor) or as the chat a person would see
// (Chat, WaitChat). Faults (Inject) make the next calls of a method fail
// with a 429, 403, 5xx, a slow or malformed answer or a dropped connection.
package telegramtest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the token a server accepts when Options.Token is empty.
const DefaultToken = "123456:TEST-fake-token"

// Options configure a Server. The zero value is usable.
type Options struct {
	// Token is the only bot token the server accepts; DefaultToken when empty.
	Token string
	// BotID and BotUsername describe the bot returned by getMe.
	BotID       int64
	BotUsername string
	// FirstUpdateID is the update_id of the first queued update (default 100000).
	FirstUpdateID int
	// AllowHTTPWebhook lets setWebhook accept plain http:// URLs, as needed
	// for webhook tests against a local server. Telegram itself requires HTTPS.
	AllowHTTPWebhook bool
	// WebhookRetry is how long the server waits before delivering an update
	// again after the webhook refused it (default 50ms).
	WebhookRetry time.Duration
	// Now is the server's clock for message dates (default time.Now).
	Now func() time.Time
	// RecordLimit keeps only the latest requests (0: all), for long load
	// runs; Requests, WaitFor and WaitN then see only those.
	RecordLimit int
	// HistoryLimit keeps only the latest messages of each chat (0: all),
	// for long load runs. An older message is gone as a deleted one is:
	// it cannot be edited, and its buttons cannot be pressed.
	HistoryLimit int
}

// Server is a running fake Bot API. All methods are safe for concurrent use.
type Server struct {
	opts   Options
	srv    *httptest.Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu           sync.Mutex
	changed      chan struct{}
	updates      []queuedUpdate
	nextUpdateID int
	pollGen      int
	parked       int
	requests     []Request
	seq          int
	faults       map[string][]Fault
	chats        map[int64]*chat
	callbacks    map[string]*callback
	commands     map[string][]BotCommand
	files        map[string][]byte
	// photoSizes are the uploaded photos' dimensions, by file_id.
	photoSizes map[string]image.Point
	fileSeq    int
	queryID    int
	webhook    WebhookInfo
	delivering bool
	closed     bool
}

type queuedUpdate struct {
	id     int
	chatID int64
	raw    json.RawMessage
	// sending marks an update being delivered to the webhook right now.
	sending bool
}

type chat struct {
	user     User
	blocked  bool
	nextID   int
	messages []*Message
}

// addMessageLocked appends m to the chat, forgetting the oldest messages
// beyond HistoryLimit.
func (s *Server) addMessageLocked(c *chat, m *Message) {
	c.messages = keepLatest(append(c.messages, m), s.opts.HistoryLimit)
}

// keepLatest keeps the latest n of xs (all when n is 0). It trims only once
// xs holds twice as many, so that appending stays cheap.
func keepLatest[T any](xs []T, n int) []T {
	if n > 0 && len(xs) > 2*n {
		return append(xs[:0:0], xs[len(xs)-n:]...)
	}
	return xs
}

type callback struct {
	chatID   int64
	answered bool
	answer   map[string]string
}

// New starts a fake Bot API server. Close it when done.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.BotID == 0 {
		opts.BotID = 123456
	}
	if opts.BotUsername == "" {
		opts.BotUsername = "hromada_test_bot"
	}
	if opts.FirstUpdateID == 0 {
		opts.FirstUpdateID = 100000
	}
	if opts.WebhookRetry == 0 {
		opts.WebhookRetry = 50 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:         opts,
		changed:      make(chan struct{}),
		nextUpdateID: opts.FirstUpdateID,
		faults:       map[string][]Fault{},
		chats:        map[int64]*chat{},
		callbacks:    map[string]*callback{},
		commands:     map[string][]BotCommand{},
		files:        map[string][]byte{},
		photoSizes:   map[string]image.Point{},
		client:       &http.Client{Timeout: 30 * time.Second},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close stops webhook delivery and shuts the server down, ending any
// pending long poll.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.notifyLocked()
	s.mu.Unlock()
	s.cancel()
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.wg.Wait()
}

// URL is the server's base URL, the value for TELEGRAM_API_URL.
func (s *Server) URL() string { return s.srv.URL }

// Endpoint is the endpoint format go-telegram-bot-api expects
// (tgbotapi.NewBotAPIWithAPIEndpoint): URL + "/bot%s/%s".
func (s *Server) Endpoint() string { return s.srv.URL + "/bot%s/%s" }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// BotID is the bot's own user id, as returned by getMe.
func (s *Server) BotID() int64 { return s.opts.BotID }

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil blocks until cond (called with s.mu held) returns true, the
// server closes or ctx ends.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	s.mu.Lock()
	for !cond() {
		if s.closed {
			s.mu.Unlock()
			return fmt.Errorf("telegramtest: server closed")
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	s.mu.Unlock()
	return nil
}

// apiError is a Bot API failure: an error_code, a description and optional
// response parameters.
type apiError struct {
	code        int
	description string
	retryAfter  int
}

func (e *apiError) Error() string { return e.description }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, description: "Bad Request: " + fmt.Sprintf(format, args...)}
}

// envelope is the Bot API response object.
type envelope struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	Description string          `json:"description,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

// call is one decoded request.
type call struct {
	method string
	params map[string]string
	files  map[string]File
	ctx    context.Context
}

type handlerFunc func(s *Server, c *call) (result any, description string, err *apiError)

var methods = map[string]handlerFunc{
	"getme":               (*Server).getMe,
	"getupdates":          (*Server).getUpdates,
	"sendmessage":         (*Server).sendMessage,
	"editmessagetext":     (*Server).editMessageText,
	"sendphoto":           (*Server).sendPhoto,
	"answercallbackquery": (*Server).answerCallbackQuery,
	"setmycommands":       (*Server).setMyCommands,
	"getmycommands":       (*Server).getMyCommands,
	"deletemycommands":    (*Server).deleteMyCommands,
	"sendchataction":      (*Server).sendChatAction,
	"setwebhook":          (*Server).setWebhook,
	"deletewebhook":       (*Server).deleteWebhook,
	"getwebhookinfo":      (*Server).getWebhookInfo,
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" {
		writeEnvelope(w, &apiError{code: http.StatusNotFound, description: "Not Found"}, nil, "")
		return
	}
	if token != s.opts.Token {
		writeEnvelope(w, &apiError{code: http.StatusUnauthorized, description: "Unauthorized"}, nil, "")
		return
	}
	// Bot API method names are case-insensitive.
	h, known := methods[strings.ToLower(method)]
	c, perr := decodeRequest(r)
	if c == nil {
		c = &call{params: map[string]string{}}
	}
	c.method = method
	c.ctx = r.Context()

	fault, faulted := s.takeFault(method)
	if faulted && fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			s.record(c, 0, "client went away")
			return
		}
	}
	if faulted && fault.Drop {
		s.record(c, 0, "connection dropped")
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if faulted && fault.Body != "" && fault.Status >= 300 {
		s.record(c, fault.Status, "malformed answer")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(fault.Status)
		io.WriteString(w, fault.Body)
		return
	}
	if faulted && fault.Status != 0 && fault.Body == "" {
		e := &apiError{code: fault.Status, description: fault.Description, retryAfter: fault.RetryAfter}
		s.record(c, e.code, e.description)
		writeEnvelope(w, e, nil, "")
		return
	}

	var (
		result any
		desc   string
		aerr   *apiError
	)
	switch {
	case !known:
		aerr = &apiError{code: http.StatusNotFound, description: "Not Found: method not found"}
	case perr != nil:
		aerr = perr
	default:
		result, desc, aerr = h(s, c)
	}
	if faulted && fault.Body != "" {
		status := fault.Status
		if status == 0 {
			status = http.StatusOK
		}
		s.record(c, status, "malformed answer")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, fault.Body)
		return
	}
	if aerr != nil {
		s.record(c, aerr.code, aerr.description)
	} else {
		s.record(c, http.StatusOK, "")
	}
	writeEnvelope(w, aerr, result, desc)
}

func writeEnvelope(w http.ResponseWriter, aerr *apiError, result any, desc string) {
	env := envelope{OK: aerr == nil, Result: result, Description: desc}
	status := http.StatusOK
	if aerr != nil {
		status = aerr.code
		env = envelope{ErrorCode: aerr.code, Description: aerr.description}
		if aerr.retryAfter > 0 {
			env.Parameters = &responseParams{RetryAfter: aerr.retryAfter}
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// decodeRequest reads parameters the ways the Bot API accepts them: the
// query string, plus an application/x-www-form-urlencoded, application/json
// or multipart/form-data body. JSON values that are not strings are kept as
// their JSON text, which is how form bodies carry them anyway.
func decodeRequest(r *http.Request) (*call, *apiError) {
	c := &call{params: map[string]string{}, files: map[string]File{}}
	for k, v := range r.URL.Query() {
		c.params[k] = v[0]
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return c, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var body map[string]json.RawMessage
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return c, badRequest("can't parse JSON object")
		}
		for k, v := range body {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				c.params[k] = s
				continue
			}
			c.params[k] = string(v)
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return c, badRequest("can't parse form data")
		}
		for k, v := range r.PostForm {
			c.params[k] = v[0]
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			return c, badRequest("can't parse multipart form data")
		}
		for k, v := range r.MultipartForm.Value {
			c.params[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return c, badRequest("can't read file %s", k)
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return c, badRequest("can't read file %s", k)
			}
			c.files[k] = File{Name: fhs[0].Filename, Data: data}
		}
	}
	return c, nil
}

// Request is one call the bot made, as the server decoded it.
type Request struct {
	// Seq numbers requests in the order they were answered, from 1.
	Seq    int
	Method string
	// Params holds every parameter as a string; objects such as
	// reply_markup are their JSON text.
	Params map[string]string
	// Files are the uploaded files of a multipart request, by field name.
	Files map[string]File
	// Status is the HTTP status the server answered (0: no answer).
	Status int
	// Error is the description of a failed call.
	Error string
}

// File is an uploaded file.
type File struct {
	Name string
	Data []byte
}

// OK reports whether the call succeeded.
func (r Request) OK() bool { return r.Status == http.StatusOK && r.Error == "" }

// ChatID returns the chat_id parameter as a number, 0 when absent.
func (r Request) ChatID() int64 {
	id, _ := strconv.ParseInt(r.Params["chat_id"], 10, 64)
	return id
}

// Int returns a numeric parameter, 0 when absent or not a number.
func (r Request) Int(name string) int64 {
	n, _ := strconv.ParseInt(r.Params[name], 10, 64)
	return n
}

// Keyboard decodes the inline keyboard of reply_markup, nil when there is none.
func (r Request) Keyboard() ([][]Button, error) {
	kb, err := parseKeyboard(r.Params["reply_markup"])
	if err != nil {
		return nil, err
	}
	return kb, nil
}

func (s *Server) record(c *call, status int, errText string) {
	params := make(map[string]string, len(c.params))
	for k, v := range c.params {
		params[k] = v
	}
	var files map[string]File
	if len(c.files) > 0 {
		files = make(map[string]File, len(c.files))
		for k, v := range c.files {
			files[k] = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.requests = append(s.requests, Request{
		Seq: s.seq, Method: c.method, Params: params, Files: files, Status: status, Error: errText,
	})
	s.requests = keepLatest(s.requests, s.opts.RecordLimit)
	s.notifyLocked()
}

// Requests returns the recorded requests that match pred (all when pred is
// nil), in the order they were answered.
func (s *Server) Requests(pred func(Request) bool) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if pred == nil || pred(r) {
			out = append(out, r)
		}
	}
	return out
}

// RequestsAfter returns the recorded requests numbered above seq, in order:
// a reader that follows the record cheaply, without a pass over all of it.
func (s *Server) RequestsAfter(seq int) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.requests, seq+1, func(r Request, seq int) int { return cmp.Compare(r.Seq, seq) })
	return slices.Clone(s.requests[i:])
}

// WaitFor returns the first recorded request that matches pred, waiting for
// one until ctx ends.
func (s *Server) WaitFor(ctx context.Context, pred func(Request) bool) (Request, error) {
	rs, err := s.WaitN(ctx, 1, pred)
	if err != nil {
		return Request{}, err
	}
	return rs[0], nil
}

// WaitN waits until at least n recorded requests match pred and returns them all.
func (s *Server) WaitN(ctx context.Context, n int, pred func(Request) bool) ([]Request, error) {
	var out []Request
	err := s.waitUntil(ctx, func() bool {
		out = out[:0]
		for _, r := range s.requests {
			if pred == nil || pred(r) {
				out = append(out, r)
			}
		}
		return len(out) >= n
	})
	if err != nil {
		return nil, fmt.Errorf("wait for %d requests (have %d): %w", n, len(out), err)
	}
	return out, nil
}

// Method matches successful calls of the named method (case-insensitive).
func Method(name string) func(Request) bool {
	return func(r Request) bool { return r.OK() && strings.EqualFold(r.Method, name) }
}

// SentTo matches successful calls of the named method to one chat.
func SentTo(method string, chatID int64) func(Request) bool {
	return func(r Request) bool {
		return r.OK() && strings.EqualFold(r.Method, method) && r.ChatID() == chatID
	}
}

// Fault is what the next calls of a method get instead of a normal answer.
type Fault struct {
	// Delay holds the answer back; with nothing else set the call then
	// proceeds normally (a slow server).
	Delay time.Duration
	// Status and Description make the call fail with that error_code;
	// RetryAfter adds parameters.retry_after.
	Status      int
	Description string
	RetryAfter  int
	// Body, when set, is written verbatim as the response. With Status 0
	// or 2xx the call took effect first (a malformed answer to a request
	// that succeeded); with an error Status it did not (a proxy's error page).
	Body string
	// Drop closes the connection without any answer; the call has no effect.
	Drop bool
}

// TooManyRequests is Telegram's flood-control error.
func TooManyRequests(retryAfter int) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter,
		Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter)}
}

// Blocked is the 403 Telegram answers when the person blocked the bot.
func Blocked() Fault {
	return Fault{Status: http.StatusForbidden, Description: "Forbidden: bot was blocked by the user"}
}

// InternalError is a 500 from the Bot API.
func InternalError() Fault {
	return Fault{Status: http.StatusInternalServerError, Description: "Internal Server Error"}
}

// BadGateway is a proxy's HTML 502 page, which is not JSON at all.
func BadGateway() Fault {
	return Fault{Status: http.StatusBadGateway, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>"}
}

// Slow delays the answer by d; the call then succeeds.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// Malformed answers 200 with truncated JSON after the call took effect.
func Malformed() Fault { return Fault{Body: `{"ok":true,"result":{"message_id":`} }

// Disconnect drops the connection without an answer.
func Disconnect() Fault { return Fault{Drop: true} }

// Inject makes the next n calls of method (case-insensitive) get f.
func (s *Server) Inject(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(method)
	for range n {
		s.faults[key] = append(s.faults[key], f)
	}
}

// Clear drops the faults still waiting for method.
func (s *Server) Clear(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, strings.ToLower(method))
}

func (s *Server) takeFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(method)
	q := s.faults[key]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[key] = q[1:]
	return q[0], true
}

// Pending returns the update ids still queued: not yet confirmed by a
// getUpdates offset nor accepted by the webhook.
func (s *Server) Pending() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.updates))
	for _, u := range s.updates {
		ids = append(ids, u.id)
	}
	return ids
}

// WaitDrained waits until every queued update has been confirmed or
// accepted by the webhook.
func (s *Server) WaitDrained(ctx context.Context) error {
	return s.waitUntil(ctx, func() bool { return len(s.updates) == 0 })
}

// sortedKeys is for deterministic iteration in results.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseInt reads an optional integer parameter.
func parseInt(params map[string]string, name string, def int64) (int64, *apiError) {
	v, ok := params[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest("wrong parameter %s", name)
	}
	return n, nil
}

func parseBool(params map[string]string, name string) bool {
	b, _ := strconv.ParseBool(params[name])
	return b
}
