package telegramtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// answer is a decoded Bot API response envelope.
type answer struct {
	Status      int
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func newServer(t *testing.T, opts telegramtest.Options) *telegramtest.Server {
	t.Helper()
	s := telegramtest.New(opts)
	t.Cleanup(s.Close)
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: answer is not JSON: %q", req.URL.Path, body)
	}
	a.Status = resp.StatusCode
	return a
}

// form calls a method with a form-urlencoded body, as go-telegram-bot-api does.
func form(t *testing.T, s *telegramtest.Server, method string, params map[string]string) answer {
	t.Helper()
	v := url.Values{}
	for k, p := range params {
		v.Set(k, p)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/bot"+s.Token()+"/"+method, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func jsonCall(t *testing.T, s *telegramtest.Server, method string, body any) answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/bot"+s.Token()+"/"+method, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func multipartCall(t *testing.T, s *telegramtest.Server, method string, params map[string]string, field string, data []byte) answer {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range params {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	part, err := w.CreateFormFile(field, "chart.png")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/bot"+s.Token()+"/"+method, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return do(t, req)
}

func updateIDs(t *testing.T, a answer) []int {
	t.Helper()
	if !a.OK {
		t.Fatalf("getUpdates failed: %d %s", a.ErrorCode, a.Description)
	}
	var ups []struct {
		UpdateID int `json:"update_id"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil {
		t.Fatal(err)
	}
	ids := []int{}
	for _, u := range ups {
		ids = append(ids, u.UpdateID)
	}
	return ids
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var alice = telegramtest.User{ID: 1111111, FirstName: "Олена", LanguageCode: "uk"}

func TestRouting(t *testing.T) {
	s := newServer(t, telegramtest.Options{})
	tests := []struct {
		name   string
		path   string
		status int
		desc   string
	}{
		{"OK", "/bot" + s.Token() + "/getMe", 200, ""},
		{"OKMethodCaseInsensitive", "/bot" + s.Token() + "/GETME", 200, ""},
		{"ErrWrongToken", "/bot1:wrong/getMe", 401, "Unauthorized"},
		{"ErrUnknownMethod", "/bot" + s.Token() + "/sendHologram", 404, "Not Found: method not found"},
		{"ErrNoMethod", "/bot" + s.Token() + "/", 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL()+tt.path, nil)
			a := do(t, req)
			if a.Status != tt.status || a.OK != (tt.status == 200) {
				t.Fatalf("got %d ok=%v, want %d", a.Status, a.OK, tt.status)
			}
			if !a.OK && (a.ErrorCode != tt.status || a.Description != tt.desc) {
				t.Fatalf("got error %d %q, want %d %q", a.ErrorCode, a.Description, tt.status, tt.desc)
			}
			if a.OK {
				var me struct {
					ID    int64 `json:"id"`
					IsBot bool  `json:"is_bot"`
				}
				json.Unmarshal(a.Result, &me)
				if me.ID != s.BotID() || !me.IsBot {
					t.Fatalf("getMe = %s", a.Result)
				}
			}
		})
	}
}

func TestGetUpdatesOffset(t *testing.T) {
	tests := []struct {
		name        string
		params      func(ids []int) map[string]string
		wantResult  func(ids []int) []int
		wantPending func(ids []int) []int
	}{
		{
			name:        "OKNoOffsetConfirmsNothing",
			params:      func([]int) map[string]string { return nil },
			wantResult:  func(ids []int) []int { return ids },
			wantPending: func(ids []int) []int { return ids },
		},
		{
			name:        "OKOffsetConfirmsLowerIDs",
			params:      func(ids []int) map[string]string { return map[string]string{"offset": strconv.Itoa(ids[1])} },
			wantResult:  func(ids []int) []int { return ids[1:] },
			wantPending: func(ids []int) []int { return ids[1:] },
		},
		{
			name:        "OKOffsetPastLastConfirmsAll",
			params:      func(ids []int) map[string]string { return map[string]string{"offset": strconv.Itoa(ids[2] + 1)} },
			wantResult:  func([]int) []int { return []int{} },
			wantPending: func([]int) []int { return []int{} },
		},
		{
			name:        "OKNegativeOffsetForgetsEarlier",
			params:      func([]int) map[string]string { return map[string]string{"offset": "-1"} },
			wantResult:  func(ids []int) []int { return ids[2:] },
			wantPending: func(ids []int) []int { return ids[2:] },
		},
		{
			name:        "OKLimit",
			params:      func([]int) map[string]string { return map[string]string{"limit": "2"} },
			wantResult:  func(ids []int) []int { return ids[:2] },
			wantPending: func(ids []int) []int { return ids },
		},
		{
			name:        "OKLimitClampedToOne",
			params:      func([]int) map[string]string { return map[string]string{"limit": "-5"} },
			wantResult:  func(ids []int) []int { return ids[:1] },
			wantPending: func(ids []int) []int { return ids },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, telegramtest.Options{})
			ids := []int{s.UserText(alice, "/start"), s.UserText(alice, "a"), s.UserText(alice, "b")}
			got := updateIDs(t, form(t, s, "getUpdates", tt.params(ids)))
			if want := tt.wantResult(ids); !slices.Equal(got, want) {
				t.Fatalf("result %v, want %v", got, want)
			}
			if got, want := s.Pending(), tt.wantPending(ids); !slices.Equal(got, want) {
				t.Fatalf("pending %v, want %v", got, want)
			}
		})
	}
}

// parkPoll starts a long poll and returns once the server holds it.
func parkPoll(t *testing.T, ctx context.Context, s *telegramtest.Server) <-chan answer {
	t.Helper()
	got := make(chan answer, 1)
	go func() { got <- form(t, s, "getUpdates", map[string]string{"timeout": "60"}) }()
	if err := s.WaitPolling(ctx); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestGetUpdatesLongPoll(t *testing.T) {
	t.Run("OKReturnsWhenQueued", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		ctx := testContext(t)
		got := parkPoll(t, ctx, s)
		id := s.UserText(alice, "привіт")
		select {
		case a := <-got:
			if ids := updateIDs(t, a); !slices.Equal(ids, []int{id}) {
				t.Fatalf("got %v, want [%d]", ids, id)
			}
		case <-ctx.Done():
			t.Fatal("long poll did not return after an update was queued")
		}
	})
	t.Run("OKTimeoutReturnsEmpty", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		if ids := updateIDs(t, form(t, s, "getUpdates", map[string]string{"timeout": "1"})); len(ids) != 0 {
			t.Fatalf("got %v, want none", ids)
		}
	})
	t.Run("ErrConflictSecondPoll", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		ctx := testContext(t)
		first := parkPoll(t, ctx, s)
		second := form(t, s, "getUpdates", nil)
		if !second.OK {
			t.Fatalf("second poll failed: %s", second.Description)
		}
		a := <-first
		if a.Status != http.StatusConflict || !strings.HasPrefix(a.Description, "Conflict: terminated by other getUpdates request") {
			t.Fatalf("first poll got %d %q, want 409 conflict", a.Status, a.Description)
		}
	})
}

func TestSendMessage(t *testing.T) {
	long := strings.Repeat("я", telegramtest.MaxTextLength)
	tests := []struct {
		name      string
		params    map[string]string
		wantError string
		wantText  string
	}{
		{"OK", map[string]string{"text": "<b>Буча</b> &lt;47,3&gt; &amp; <i>x</i>", "parse_mode": "HTML"}, "", "Буча <47,3> & x"},
		{"OKLink", map[string]string{"text": `<a href="https://diia.gov.ua/?a=1&amp;b=2">Дія</a>`, "parse_mode": "HTML"}, "", "Дія"},
		{"OKNumericEntity", map[string]string{"text": "&#1071;&#x44F;", "parse_mode": "HTML"}, "", "Яя"},
		{"OKUnknownEntityStaysLiteral", map[string]string{"text": "A &foo B", "parse_mode": "HTML"}, "", "A &foo B"},
		{"OKPlainKeepsTags", map[string]string{"text": "<b>x</b>"}, "", "<b>x</b>"},
		{"OKMaxLength", map[string]string{"text": long, "parse_mode": "HTML"}, "", long},
		{"OKLengthCountsAfterEntities", map[string]string{"text": "<b>" + long + "</b>", "parse_mode": "HTML"}, "", long},
		{"ErrTooLong", map[string]string{"text": long + "я"}, "Bad Request: message is too long", ""},
		{"ErrEmpty", map[string]string{"text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty", ""},
		{"ErrUnclosedTag", map[string]string{"text": "<b>Буча", "parse_mode": "HTML"},
			`Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`, ""},
		{"ErrUnknownTag", map[string]string{"text": "a<br>b", "parse_mode": "HTML"},
			`Bad Request: can't parse entities: Unsupported start tag "br" at byte offset 1`, ""},
		{"ErrUnescapedLess", map[string]string{"text": "5 < 7", "parse_mode": "HTML"},
			`Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`, ""},
		{"ErrUnmatchedEnd", map[string]string{"text": "<b>x</i>", "parse_mode": "HTML"},
			`Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`, ""},
		{"ErrUnexpectedEnd", map[string]string{"text": "x</b>", "parse_mode": "HTML"},
			"Bad Request: can't parse entities: Unexpected end tag at byte offset 1", ""},
		{"ErrCallbackDataTooLong", map[string]string{"text": "x",
			"reply_markup": `{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("д", 33) + `"}]]}`},
			"Bad Request: BUTTON_DATA_INVALID", ""},
		{"OKCallbackData64Bytes", map[string]string{"text": "x",
			"reply_markup": `{"inline_keyboard":[[{"text":"a","callback_data":"` + strings.Repeat("д", 32) + `"}]]}`}, "", "x"},
		{"ErrButtonWithoutAction", map[string]string{"text": "x", "reply_markup": `{"inline_keyboard":[[{"text":"a"}]]}`},
			"Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard", ""},
		{"ErrChatNotFound", map[string]string{"chat_id": "42", "text": "x"}, "Bad Request: chat not found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, telegramtest.Options{})
			s.AddUser(alice)
			params := map[string]string{"chat_id": "1111111"}
			for k, v := range tt.params {
				params[k] = v
			}
			a := form(t, s, "sendMessage", params)
			if tt.wantError != "" {
				if a.OK || a.Status != 400 || a.ErrorCode != 400 || a.Description != tt.wantError {
					t.Fatalf("got %d %q, want 400 %q", a.Status, a.Description, tt.wantError)
				}
				if n := len(telegramtest.BotMessages(s.Chat(alice.ID))); n != 0 {
					t.Fatalf("a failed call left %d messages in the chat", n)
				}
				return
			}
			if !a.OK {
				t.Fatalf("got %d %q", a.Status, a.Description)
			}
			var m struct {
				MessageID int    `json:"message_id"`
				Text      string `json:"text"`
				Chat      struct {
					ID int64 `json:"id"`
				} `json:"chat"`
			}
			if err := json.Unmarshal(a.Result, &m); err != nil {
				t.Fatal(err)
			}
			if m.Text != tt.wantText || m.Chat.ID != alice.ID || m.MessageID == 0 {
				t.Fatalf("result %s", a.Result)
			}
			chat := s.Chat(alice.ID)
			if len(chat) != 1 || chat[0].Text != tt.wantText || chat[0].HTML != tt.params["text"] || !chat[0].FromBot {
				t.Fatalf("chat = %+v", chat)
			}
		})
	}
}

func TestRequestEncodings(t *testing.T) {
	s := newServer(t, telegramtest.Options{})
	s.AddUser(alice)
	kb := map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Так", "callback_data": "yes"}}}}
	if a := jsonCall(t, s, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "json", "reply_markup": kb}); !a.OK {
		t.Fatalf("JSON body: %s", a.Description)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/bot"+s.Token()+"/sendMessage?chat_id=1111111&text=query", nil)
	if a := do(t, req); !a.OK {
		t.Fatalf("query string: %s", a.Description)
	}
	if a := multipartCall(t, s, "sendPhoto", map[string]string{"chat_id": "1111111", "caption": "<b>Індекс</b>", "parse_mode": "HTML"}, "photo", pngBytes(t, 40, 30)); !a.OK {
		t.Fatalf("multipart: %s", a.Description)
	}
	reqs := s.Requests(nil)
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	if reqs[0].ChatID() != alice.ID || reqs[0].Params["text"] != "json" {
		t.Fatalf("JSON params = %v", reqs[0].Params)
	}
	if got, err := reqs[0].Keyboard(); err != nil || len(got) != 1 || got[0][0] != (telegramtest.Button{Text: "Так", CallbackData: "yes"}) {
		t.Fatalf("JSON keyboard = %v, %v", got, err)
	}
	if reqs[1].Params["text"] != "query" {
		t.Fatalf("query params = %v", reqs[1].Params)
	}
	if f := reqs[2].Files["photo"]; f.Name != "chart.png" || !bytes.Equal(f.Data, pngBytes(t, 40, 30)) {
		t.Fatalf("multipart file = %q, %d bytes", f.Name, len(f.Data))
	}
	chat := s.Chat(alice.ID)
	if len(chat) != 3 || chat[2].Text != "Індекс" || !bytes.Equal(chat[2].Photo, pngBytes(t, 40, 30)) || chat[2].PhotoID == "" {
		t.Fatalf("chat = %+v", chat)
	}
}

func TestSendPhoto(t *testing.T) {
	tests := []struct {
		name      string
		params    map[string]string
		data      []byte
		wantError string
	}{
		{"OK", map[string]string{"caption": "x"}, pngBytes(t, 10, 10), ""},
		{"ErrNotAnImage", nil, []byte("not a png"), "Bad Request: IMAGE_PROCESS_FAILED"},
		{"ErrCaptionTooLong", map[string]string{"caption": strings.Repeat("й", telegramtest.MaxCaptionLength+1)}, pngBytes(t, 10, 10),
			"Bad Request: message caption is too long"},
		{"ErrCaptionEntities", map[string]string{"caption": "<b>x", "parse_mode": "HTML"}, pngBytes(t, 10, 10),
			`Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, telegramtest.Options{})
			s.AddUser(alice)
			params := map[string]string{"chat_id": "1111111"}
			for k, v := range tt.params {
				params[k] = v
			}
			a := multipartCall(t, s, "sendPhoto", params, "photo", tt.data)
			if tt.wantError == "" {
				var m struct {
					Photo []struct {
						FileID string `json:"file_id"`
						Width  int    `json:"width"`
					} `json:"photo"`
				}
				json.Unmarshal(a.Result, &m)
				if !a.OK || len(m.Photo) != 1 || m.Photo[0].Width != 10 || m.Photo[0].FileID == "" {
					t.Fatalf("got %d %q %s", a.Status, a.Description, a.Result)
				}
				// The returned file_id can be sent again without an upload,
				// and the photo keeps its size.
				again := form(t, s, "sendPhoto", map[string]string{"chat_id": "1111111", "photo": m.Photo[0].FileID})
				json.Unmarshal(again.Result, &m)
				if !again.OK || len(m.Photo) != 1 || m.Photo[0].Width != 10 {
					t.Fatalf("resend by file_id: %s %s", again.Description, again.Result)
				}
				return
			}
			if a.OK || a.Description != tt.wantError {
				t.Fatalf("got %d %q, want %q", a.Status, a.Description, tt.wantError)
			}
		})
	}
}

func TestEditMessageText(t *testing.T) {
	s := newServer(t, telegramtest.Options{})
	userMsg := s.UserText(alice, "/start")
	_ = userMsg
	kb := `{"inline_keyboard":[[{"text":"Далі","callback_data":"page:2"}]]}`
	sent := form(t, s, "sendMessage", map[string]string{"chat_id": "1111111", "text": "Сторінка 1", "reply_markup": kb})
	var m struct {
		MessageID int `json:"message_id"`
	}
	json.Unmarshal(sent.Result, &m)
	id := strconv.Itoa(m.MessageID)
	tests := []struct {
		name      string
		params    map[string]string
		wantError string
	}{
		{"ErrNotModified", map[string]string{"message_id": id, "text": "Сторінка 1", "reply_markup": kb},
			"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"},
		{"ErrNotFound", map[string]string{"message_id": "999", "text": "x"}, "Bad Request: message to edit not found"},
		{"ErrUserMessage", map[string]string{"message_id": "1", "text": "x"}, "Bad Request: message can't be edited"},
		{"OK", map[string]string{"message_id": id, "text": "Сторінка 2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{"chat_id": "1111111"}
			for k, v := range tt.params {
				params[k] = v
			}
			a := form(t, s, "editMessageText", params)
			if tt.wantError != "" {
				if a.OK || a.Description != tt.wantError {
					t.Fatalf("got %d %q, want %q", a.Status, a.Description, tt.wantError)
				}
				return
			}
			if !a.OK {
				t.Fatalf("got %d %q", a.Status, a.Description)
			}
			bm := telegramtest.BotMessages(s.Chat(alice.ID))
			if len(bm) != 1 || bm[0].Text != "Сторінка 2" || bm[0].Edits != 1 || bm[0].Keyboard != nil {
				t.Fatalf("chat after edit = %+v", bm)
			}
		})
	}
}

func TestCallbackQuery(t *testing.T) {
	s := newServer(t, telegramtest.Options{})
	s.AddUser(alice)
	if _, err := s.UserClick(alice, "Так"); err == nil {
		t.Fatal("pressing a button the bot never showed succeeded")
	}
	form(t, s, "sendMessage", map[string]string{"chat_id": "1111111", "text": "Зберегти?",
		"reply_markup": `{"inline_keyboard":[[{"text":"Так","callback_data":"save"}]]}`})
	if _, err := s.UserPress(alice, 1, "other"); err == nil {
		t.Fatal("pressing data not on the message succeeded")
	}
	id, err := s.UserClick(alice, "Так")
	if err != nil {
		t.Fatal(err)
	}
	var ups []struct {
		UpdateID      int `json:"update_id"`
		CallbackQuery struct {
			ID      string             `json:"id"`
			Data    string             `json:"data"`
			From    struct{ ID int64 } `json:"from"`
			Message struct {
				MessageID int `json:"message_id"`
			} `json:"message"`
		} `json:"callback_query"`
	}
	a := form(t, s, "getUpdates", nil)
	json.Unmarshal(a.Result, &ups)
	if len(ups) != 1 || ups[0].UpdateID != id || ups[0].CallbackQuery.Data != "save" || ups[0].CallbackQuery.Message.MessageID != 1 || ups[0].CallbackQuery.From.ID != alice.ID {
		t.Fatalf("update = %s", a.Result)
	}
	qid := ups[0].CallbackQuery.ID
	if got := s.Unanswered(); len(got) != 1 || got[0] != qid {
		t.Fatalf("unanswered = %v", got)
	}
	tests := []struct {
		name      string
		id        string
		wantError string
	}{
		{"OK", qid, ""},
		{"ErrAnsweredTwice", qid, "Bad Request: query is too old and response timeout expired or query ID is invalid"},
		{"ErrUnknown", "123", "Bad Request: query is too old and response timeout expired or query ID is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := form(t, s, "answerCallbackQuery", map[string]string{"callback_query_id": tt.id})
			if a.OK != (tt.wantError == "") || a.Description != tt.wantError {
				t.Fatalf("got %d %q, want %q", a.Status, a.Description, tt.wantError)
			}
		})
	}
	if !s.Answered(qid) || len(s.Unanswered()) != 0 {
		t.Fatal("callback not marked answered")
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      telegramtest.Fault
		wantStatus int
		wantDesc   string
		wantRetry  int
		wantSent   bool
		wantJSON   bool
	}{
		{"ErrTooManyRequests", telegramtest.TooManyRequests(7), 429, "Too Many Requests: retry after 7", 7, false, true},
		{"ErrBlocked", telegramtest.Blocked(), 403, "Forbidden: bot was blocked by the user", 0, false, true},
		{"ErrInternal", telegramtest.InternalError(), 500, "Internal Server Error", 0, false, true},
		{"ErrBadGatewayHTML", telegramtest.BadGateway(), 502, "", 0, false, false},
		{"ErrMalformedAfterSending", telegramtest.Malformed(), 200, "", 0, true, false},
		{"OKSlow", telegramtest.Slow(20 * time.Millisecond), 200, "", 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, telegramtest.Options{})
			s.AddUser(alice)
			s.Inject("sendMessage", 2, tt.fault)
			for i := range 3 {
				v := url.Values{"chat_id": {"1111111"}, "text": {"x"}}
				resp, err := http.PostForm(s.URL()+"/bot"+s.Token()+"/sendMessage", v)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if i == 2 {
					if resp.StatusCode != 200 {
						t.Fatalf("call after the fault got %d", resp.StatusCode)
					}
					continue
				}
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				var a answer
				err = json.Unmarshal(body, &a)
				if tt.wantJSON != (err == nil) {
					t.Fatalf("body %q: JSON error %v", body, err)
				}
				if tt.wantJSON && (a.Description != tt.wantDesc || (tt.wantDesc != "") != (a.ErrorCode == tt.wantStatus)) {
					t.Fatalf("body %s", body)
				}
				if tt.wantRetry > 0 && (a.Parameters == nil || a.Parameters.RetryAfter != tt.wantRetry) {
					t.Fatalf("retry_after missing: %s", body)
				}
			}
			sent := 1
			if tt.wantSent {
				sent = 3
			}
			if n := len(telegramtest.BotMessages(s.Chat(alice.ID))); n != sent {
				t.Fatalf("%d messages in the chat, want %d", n, sent)
			}
		})
	}
	t.Run("ErrDisconnect", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		s.AddUser(alice)
		s.Inject("sendMessage", 1, telegramtest.Disconnect())
		if _, err := http.PostForm(s.URL()+"/bot"+s.Token()+"/sendMessage", url.Values{"chat_id": {"1111111"}, "text": {"x"}}); err == nil {
			t.Fatal("a dropped connection gave an answer")
		}
		if n := len(s.Chat(alice.ID)); n != 0 {
			t.Fatalf("%d messages sent", n)
		}
	})
	t.Run("OKCleared", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		s.AddUser(alice)
		s.Inject("SENDMESSAGE", 5, telegramtest.InternalError())
		s.Clear("sendMessage")
		if a := form(t, s, "sendMessage", map[string]string{"chat_id": "1111111", "text": "x"}); !a.OK {
			t.Fatalf("cleared fault still applied: %d %q", a.Status, a.Description)
		}
	})
	t.Run("ErrBlockedUser", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		s.Block(alice.ID)
		a := form(t, s, "sendMessage", map[string]string{"chat_id": "1111111", "text": "x"})
		if a.Status != 403 || a.Description != "Forbidden: bot was blocked by the user" {
			t.Fatalf("got %d %q", a.Status, a.Description)
		}
	})
}

func TestWebhook(t *testing.T) {
	t.Run("ErrHTTPURL", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		a := form(t, s, "setWebhook", map[string]string{"url": "http://example.com/hook"})
		if a.OK || a.Description != "Bad Request: bad webhook: An HTTPS URL must be provided for webhook" {
			t.Fatalf("got %d %q", a.Status, a.Description)
		}
	})
	t.Run("ErrSecretCharacters", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{})
		a := form(t, s, "setWebhook", map[string]string{"url": "https://example.com/hook", "secret_token": "a b"})
		if a.OK || a.Status != 400 {
			t.Fatalf("got %d %q", a.Status, a.Description)
		}
	})
	t.Run("OKDeliversWithSecretAndRetries", func(t *testing.T) {
		s := newServer(t, telegramtest.Options{AllowHTTPWebhook: true, WebhookRetry: time.Millisecond})
		ctx := testContext(t)
		var mu sync.Mutex
		var got []int
		refused := false
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "s3cret_-" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var u struct {
				UpdateID int `json:"update_id"`
			}
			json.NewDecoder(r.Body).Decode(&u)
			mu.Lock()
			defer mu.Unlock()
			if !refused {
				refused = true
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			got = append(got, u.UpdateID)
		}))
		defer hook.Close()
		ids := []int{s.UserText(alice, "1"), s.UserText(alice, "2"), s.UserText(alice, "3")}
		if a := form(t, s, "setWebhook", map[string]string{"url": hook.URL, "secret_token": "s3cret_-"}); !a.OK || a.Description != "Webhook was set" {
			t.Fatalf("setWebhook: %d %q", a.Status, a.Description)
		}
		if a := form(t, s, "getUpdates", nil); a.Status != http.StatusConflict {
			t.Fatalf("getUpdates with a webhook set: %d", a.Status)
		}
		if err := s.WaitDrained(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, ids) {
			t.Fatalf("delivered %v, want %v in order", got, ids)
		}
		info := form(t, s, "getWebhookInfo", nil)
		var wi struct {
			URL              string `json:"url"`
			Pending          int    `json:"pending_update_count"`
			LastErrorMessage string `json:"last_error_message"`
		}
		json.Unmarshal(info.Result, &wi)
		if wi.URL != hook.URL || wi.Pending != 0 || wi.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" {
			t.Fatalf("webhook info %s", info.Result)
		}
		if a := form(t, s, "deleteWebhook", nil); !a.OK || a.Description != "Webhook was deleted" {
			t.Fatalf("deleteWebhook: %q", a.Description)
		}
		if a := form(t, s, "getUpdates", nil); !a.OK {
			t.Fatalf("getUpdates after deleteWebhook: %q", a.Description)
		}
	})
}

func TestSetMyCommands(t *testing.T) {
	tests := []struct {
		name      string
		params    map[string]string
		wantError string
	}{
		{"OKDefault", map[string]string{"commands": `[{"command":"score","description":"Індекс громади"}]`}, ""},
		{"OKEnglish", map[string]string{"commands": `[{"command":"score","description":"Community index"}]`, "language_code": "en"}, ""},
		{"ErrCommandName", map[string]string{"commands": `[{"command":"Score!","description":"x"}]`}, "Bad Request: BOT_COMMAND_INVALID"},
		{"ErrLanguage", map[string]string{"commands": `[]`, "language_code": "ukr"}, "Bad Request: invalid language code specified"},
	}
	s := newServer(t, telegramtest.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := form(t, s, "setMyCommands", tt.params)
			if a.OK != (tt.wantError == "") || a.Description != tt.wantError {
				t.Fatalf("got %d %q, want %q", a.Status, a.Description, tt.wantError)
			}
		})
	}
	if uk, en := s.Commands(""), s.Commands("en"); len(uk) != 1 || uk[0].Description != "Індекс громади" || len(en) != 1 || en[0].Description != "Community index" {
		t.Fatalf("commands uk=%v en=%v", uk, en)
	}
}

func TestWaitFor(t *testing.T) {
	s := newServer(t, telegramtest.Options{})
	s.AddUser(alice)
	ctx := testContext(t)
	done := make(chan telegramtest.Request, 1)
	go func() {
		r, err := s.WaitFor(ctx, telegramtest.SentTo("sendMessage", alice.ID))
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	form(t, s, "sendChatAction", map[string]string{"chat_id": "1111111", "action": "typing"})
	form(t, s, "sendMessage", map[string]string{"chat_id": "1111111", "text": "готово"})
	if r := <-done; r.Params["text"] != "готово" || r.Seq != 2 {
		t.Fatalf("waited for %+v", r)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := s.WaitFor(short, telegramtest.Method("editMessageText")); err == nil {
		t.Fatal("WaitFor returned without a matching request")
	}
}

func TestRecordLimit(t *testing.T) {
	s := newServer(t, telegramtest.Options{RecordLimit: 3})
	for range 10 {
		form(t, s, "getMe", nil)
	}
	reqs := s.Requests(nil)
	if len(reqs) < 3 || len(reqs) > 6 || reqs[len(reqs)-1].Seq != 10 {
		t.Fatalf("kept %d requests, the last #%d", len(reqs), reqs[len(reqs)-1].Seq)
	}
	for _, tc := range []struct{ after, first, n int }{
		{8, 9, 2}, {9, 10, 1}, {10, 0, 0}, {0, reqs[0].Seq, len(reqs)},
	} {
		got := s.RequestsAfter(tc.after)
		if len(got) != tc.n || tc.n > 0 && (got[0].Seq != tc.first || got[len(got)-1].Seq != 10) {
			t.Errorf("RequestsAfter(%d) = %d requests from #%d, want %d from #%d", tc.after, len(got), seqOf(got), tc.n, tc.first)
		}
	}
}

func seqOf(rs []telegramtest.Request) int {
	if len(rs) == 0 {
		return 0
	}
	return rs[0].Seq
}

// TestHistoryLimit: a chat keeps its latest messages; older ones are gone
// as deleted ones are, for the person and for the bot.
func TestHistoryLimit(t *testing.T) {
	s := newServer(t, telegramtest.Options{HistoryLimit: 2})
	s.AddUser(alice)
	kb := `{"inline_keyboard":[[{"text":"Далі","callback_data":"next"}]]}`
	var ids []string
	for i := range 6 {
		sent := form(t, s, "sendMessage", map[string]string{"chat_id": "1111111", "text": "Сторінка " + strconv.Itoa(i), "reply_markup": kb})
		var m struct {
			MessageID int `json:"message_id"`
		}
		json.Unmarshal(sent.Result, &m)
		ids = append(ids, strconv.Itoa(m.MessageID))
	}
	chat := s.Chat(alice.ID)
	if len(chat) < 2 || len(chat) > 4 || chat[len(chat)-1].Text != "Сторінка 5" {
		t.Fatalf("chat keeps %d messages, the last %+v; want 2 to 4, the latest", len(chat), chat[len(chat)-1])
	}
	first, _ := strconv.Atoi(ids[0])
	if _, err := s.UserPress(alice, first, "next"); err == nil {
		t.Error("pressed a button on a message beyond the history")
	}
	if a := form(t, s, "editMessageText", map[string]string{"chat_id": "1111111", "message_id": ids[0], "text": "x"}); a.OK || a.Description != "Bad Request: message to edit not found" {
		t.Errorf("edit beyond the history: %d %q", a.Status, a.Description)
	}
	last, _ := strconv.Atoi(ids[5])
	if _, err := s.UserPress(alice, last, "next"); err != nil {
		t.Errorf("press on the latest message: %v", err)
	}
}
