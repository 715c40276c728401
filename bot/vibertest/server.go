// Package vibertest is a fake Viber REST Bot API server for tests and load
// runs. It answers the calls a bot makes to https://chatapi.viber.com/pa/<method>
// (set_webhook, send_message, broadcast_message, get_account_info,
// get_user_details) with Viber's envelope, {"status":N,"status_message":…}
// under HTTP 200, and checks every call against the documented shapes and
// limits: the auth token, the 30 KB body, the sender, text and caption
// lengths, the keyboard grid, the 100 messages a person may get without
// answering. A picture is fetched from its URL at send time, as Viber does.
//
// A test plays the people: their actions (ConversationStarted, Subscribed,
// Text, Press, Picture, …) are POSTed to the bot's webhook as callbacks
// signed with the token, and what the bot sent is read back as Messages.
// FailNext, FailReceiver and SetHTTPFailure make calls fail as Viber, or a
// proxy in front of it, would. As in Viber, callbacks carry names and
// photos only when set_webhook asked for them (send_name, send_photo), and
// only the event types it chose besides message, subscribed and
// unsubscribed, which always come.
//
// A field a call cannot do without (receiver, broadcast_list, id, url)
// missing answers status 4 missingData; a message that breaks a rule of its
// content answers 3 badData with a status_message saying which.
package vibertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the auth token a server accepts when Options.Token is
// empty. It has the shape of a real one, so that code which checks the
// shape of its configuration accepts it.
const DefaultToken = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"

// Limits of the Viber REST Bot API (developers.viber.com/docs/api/rest-bot-api
// and its FAQ). Lengths count characters (runes), not bytes.
const (
	MaxBodySize      = 30 * 1024 // bytes of JSON in any API call
	MaxSenderName    = 28
	MaxTextLength    = 7000
	MaxCaptionLength = 512
	MaxTrackingData  = 4000
	MaxBroadcastList = 300
	// MaxUnanswered is how many messages a person may get from the bot
	// since their last message; the next one answers 12 "Too many requests".
	MaxUnanswered = 100
	// MaxButtons and MaxKeyboardRows bound a keyboard; 12 rows is the
	// portrait limit.
	MaxButtons      = 24
	MaxKeyboardRows = 12
	// KeyboardColumns is the width of the keyboard grid.
	KeyboardColumns = 6
)

// Viber status codes (creators.viber.com/docs/bots-api/errors).
const (
	statusOK                    = 0
	statusInvalidURL            = 1
	statusInvalidAuthToken      = 2
	statusBadData               = 3
	statusMissingData           = 4
	statusReceiverNotRegistered = 5
	statusReceiverNotSubscribed = 6
	statusTooManyRequests       = 12
)

var statusNames = map[int]string{
	0: "ok", 1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
	5: "receiverNotRegistered", 6: "receiverNotSubscribed", 7: "publicAccountBlocked",
	8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
	11: "receiverNoSuitableDevice", 12: "Too many requests", 13: "apiVersionNotSupported",
	14: "incompatibleWithVersion", 15: "publicAccountNotAuthorized", 16: "inchatReplyMessageNotAllowed",
	17: "publicAccountIsNotInline", 18: "noPublicChat", 19: "cannotSendBroadcast", 20: "broadcastNotAllowed",
}

// statusName is the status_message Viber gives with a status code.
func statusName(status int) string {
	if n, ok := statusNames[status]; ok {
		return n
	}
	return "generalError"
}

const (
	authHeader      = "X-Viber-Auth-Token"
	signatureHeader = "X-Viber-Content-Signature"
	chatHostname    = "SN-CHAT-01_"
	apiPrefix       = "/pa/"
	mediaPrefix     = "/media/"
	// firstToken starts message tokens in the range of real ones, which
	// do not fit in 32 bits: a bot that decodes them into an int32 fails.
	firstToken int64 = 5491838830473958000
	// maxFetchSize bounds what the server reads of a picture or a
	// webhook's answer.
	maxFetchSize = 32 << 20
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Token is the only auth token the server accepts; DefaultToken when empty.
	Token string
	// Latency is added to every API call, for load runs.
	Latency time.Duration
	// HistoryLimit keeps at most this many recorded messages and calls
	// (0: all), for long load runs. The state of each person (their
	// keyboard, tracking data, message count) does not depend on it.
	HistoryLimit int
	// HTTPClient posts callbacks and fetches pictures; nil is a client
	// with a 10s timeout.
	HTTPClient *http.Client
}

// Server is a running fake Viber API. All methods are safe for concurrent use.
type Server struct {
	opts      Options
	srv       *httptest.Server
	client    *http.Client
	ownClient bool
	ctx       context.Context
	cancel    context.CancelFunc

	mu           sync.Mutex
	changed      chan struct{}
	closed       bool
	token        int64
	msgSeq       int
	callSeq      int
	messages     []Message
	calls        []Call
	people       map[string]*person
	hook         webhook
	media        map[string]*media
	mediaSeq     int
	failNext     []*apiError
	failReceiver map[string]int
	httpFailures int
	httpCode     int
}

// webhook is the bot's webhook as set_webhook left it.
type webhook struct {
	url        string
	eventTypes []string
	sendName   bool
	sendPhoto  bool
}

// mandatoryEvents reach the webhook whatever its event_types say (Viber's
// FAQ: only delivered, seen and the like can be opted out of).
var mandatoryEvents = map[string]bool{"webhook": true, "message": true, "subscribed": true, "unsubscribed": true}

func (h webhook) accepts(event string) bool {
	return mandatoryEvents[event] || slices.Contains(h.eventTypes, event)
}

// New starts a fake Viber API server. Close it when done.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	s := &Server{
		opts:         opts,
		client:       opts.HTTPClient,
		changed:      make(chan struct{}),
		token:        firstToken,
		people:       map[string]*person{},
		media:        map[string]*media{},
		failReceiver: map[string]int{},
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
		s.ownClient = true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close shuts the server down. It aborts callbacks and picture fetches
// under way and ends every WaitFor.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.notifyLocked()
	s.mu.Unlock()
	s.cancel()
	s.srv.Close()
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
}

// URL is the API's base URL, the value for VIBER_API_URL: like
// https://chatapi.viber.com/pa it ends in /pa, and a method is called at
// URL()+"/send_message".
func (s *Server) URL() string { return s.srv.URL + strings.TrimSuffix(apiPrefix, "/") }

// Token is the auth token the server accepts, which also keys the
// signatures of its callbacks.
func (s *Server) Token() string { return s.opts.Token }

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextTokenLocked returns a new message token. Tokens of messages and
// callbacks come from one counter, so all are unique and increasing.
func (s *Server) nextTokenLocked() int64 {
	s.token++
	return s.token
}

// requestContext ends when the request's does or the server closes, so
// that Close does not wait for a fetch or callback under way.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// apiError is a Viber answer other than status 0.
type apiError struct {
	status  int
	message string
}

func fail(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

func failStatus(status int) *apiError { return &apiError{status: status, message: statusName(status)} }

// envelope is the part every answer has.
type envelope struct {
	Status        int    `json:"status"`
	StatusMessage string `json:"status_message"`
}

var okEnvelope = envelope{Status: statusOK, StatusMessage: "ok"}

type errorAnswer struct {
	envelope
	ChatHostname string `json:"chat_hostname"`
}

type handlerFunc func(s *Server, ctx context.Context, body []byte) (any, *apiError)

var methods = map[string]handlerFunc{
	"set_webhook":       (*Server).setWebhook,
	"send_message":      (*Server).sendMessage,
	"broadcast_message": (*Server).broadcastMessage,
	"get_account_info":  (*Server).getAccountInfo,
	"get_user_details":  (*Server).getUserDetails,
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, apiPrefix):
		s.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, apiPrefix))
	case strings.HasPrefix(r.URL.Path, mediaPrefix):
		s.serveMedia(w, r, strings.TrimPrefix(r.URL.Path, mediaPrefix))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, method string) {
	ctx, cancel := s.requestContext(r)
	defer cancel()
	if d := s.opts.Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	body, readErr := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))

	if code := s.takeHTTPFailure(); code != 0 {
		s.recordCall(Call{Method: method, Body: body, HTTPStatus: code})
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		text := fmt.Sprintf("%d %s", code, http.StatusText(code))
		fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", text, text)
		return
	}

	var (
		answer any
		aerr   *apiError
	)
	h, known := methods[method]
	token := r.Header.Get(authHeader)
	switch {
	case r.Method != http.MethodPost:
		aerr = fail(statusBadData, "method %s not allowed, use POST", r.Method)
	case token == "":
		aerr = fail(statusInvalidAuthToken, "missing_auth_token")
	case token != s.opts.Token:
		aerr = failStatus(statusInvalidAuthToken)
	case readErr != nil:
		aerr = fail(statusBadData, "cannot read the request body: %v", readErr)
	case len(body) > MaxBodySize:
		aerr = fail(statusBadData, "request body is larger than %d bytes", MaxBodySize)
	case !known:
		aerr = fail(statusBadData, "unknown method %q", method)
	case !isObject(body):
		aerr = fail(statusBadData, "request body is not a JSON object")
	default:
		answer, aerr = h(s, ctx, body)
	}
	call := Call{Method: method, Body: body, HTTPStatus: http.StatusOK, Status: statusOK, StatusMessage: "ok"}
	if aerr != nil {
		answer = errorAnswer{envelope: envelope{Status: aerr.status, StatusMessage: aerr.message}, ChatHostname: chatHostname}
		call.Status, call.StatusMessage = aerr.status, aerr.message
	}
	s.recordCall(call)
	b, err := json.Marshal(answer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// isObject reports whether body is one well-formed JSON object.
func isObject(body []byte) bool {
	trimmed := strings.TrimSpace(string(body))
	return strings.HasPrefix(trimmed, "{") && json.Valid(body)
}

// decode reads a call's body into v; a value of the wrong JSON type is
// bad data.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return fail(statusBadData, "malformed JSON: %v", err)
	}
	return nil
}

// Call is one API call the bot made, as the server answered it.
type Call struct {
	// Seq numbers calls in the order they were answered, from 1.
	Seq    int
	Method string
	// Body is the request body as sent (cut after MaxBodySize+1 bytes).
	Body json.RawMessage
	// HTTPStatus is 200 unless SetHTTPFailure made the call fail; Status
	// and StatusMessage are Viber's answer to a call that got 200.
	HTTPStatus    int
	Status        int
	StatusMessage string
}

func (s *Server) recordCall(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callSeq++
	c.Seq = s.callSeq
	s.calls = appendLimited(s.calls, c, s.opts.HistoryLimit)
	s.notifyLocked()
}

// appendLimited appends x, dropping the oldest elements beyond limit
// (none when limit is 0). The dropped element is cleared, so that its
// picture's bytes can be collected before the array is reallocated.
func appendLimited[T any](xs []T, x T, limit int) []T {
	xs = append(xs, x)
	if limit > 0 && len(xs) > limit {
		var zero T
		n := len(xs) - limit
		for i := range n {
			xs[i] = zero
		}
		xs = xs[n:]
	}
	return xs
}

// Calls returns the recorded calls of one method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// FailNext makes the next n calls of send_message or broadcast_message
// answer status (above 0) and message (statusName's when empty) without
// sending anything. It replaces failures still pending; n of 0 clears them.
func (s *Server) FailNext(n int, status int, message string) {
	if n > 0 && status <= 0 {
		panic("vibertest: FailNext needs a status above 0")
	}
	if message == "" {
		message = statusName(status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = nil
	for range n {
		s.failNext = append(s.failNext, &apiError{status: status, message: message})
	}
}

func (s *Server) takeFailNext() *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) == 0 {
		return nil
	}
	e := s.failNext[0]
	s.failNext = s.failNext[1:]
	return e
}

// FailReceiver makes every send to the person answer status, as when
// they blocked the bot (or in a broadcast, lists them in failed_list with
// it), until it is cleared with status 0.
func (s *Server) FailReceiver(id string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status <= 0 {
		delete(s.failReceiver, id)
		return
	}
	s.failReceiver[id] = status
}

// SetHTTPFailure makes the next n API calls, of any method, answer HTTP
// code with an HTML error page, as a proxy in front of Viber does: the bot
// must cope with an answer that is not JSON. It replaces failures still
// pending; n of 0 clears them.
func (s *Server) SetHTTPFailure(n int, code int) {
	if n > 0 && (code < 100 || code > 999) {
		panic("vibertest: SetHTTPFailure needs an HTTP status code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.httpFailures, s.httpCode = max(n, 0), code
}

func (s *Server) takeHTTPFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpFailures == 0 {
		return 0
	}
	s.httpFailures--
	return s.httpCode
}

// waitUntil blocks until cond (called with s.mu held) returns true, the
// server closes or ctx ends.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	s.mu.Lock()
	for !cond() {
		if s.closed {
			s.mu.Unlock()
			return fmt.Errorf("vibertest: server closed")
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
