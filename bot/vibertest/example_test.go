package vibertest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/hromadabot/hromadabot/bot/vibertest"
)

// A bot in a few lines: its webhook checks the signature and answers each
// text by send_message; the test plays Olena and reads the answer back.
func Example() {
	s := vibertest.New(vibertest.Options{})
	defer s.Close()
	api := func(method string, body any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/"+method, bytes.NewReader(b))
		req.Header.Set("X-Viber-Auth-Token", s.Token())
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if !hmac.Equal([]byte(r.Header.Get("X-Viber-Content-Signature")), []byte(vibertest.Sign(s.Token(), raw))) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		var cb struct {
			Event  string `json:"event"`
			Sender struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"sender"`
		}
		json.Unmarshal(raw, &cb)
		if cb.Event == "message" {
			api("send_message", map[string]any{"receiver": cb.Sender.ID, "sender": map[string]string{"name": "Громада"},
				"type": "text", "text": "Вітаємо, " + cb.Sender.Name + "!"})
		}
	}))
	defer bot.Close()

	api("set_webhook", map[string]any{"url": bot.URL, "send_name": true})
	if _, err := s.Text(vibertest.User{ID: "01234567890A=", Name: "Олена"}, "привіт"); err != nil {
		fmt.Println(err)
		return
	}
	m, err := s.WaitFor(context.Background(), nil)
	fmt.Println(m.Receiver, m.Text, err)
	// Output: 01234567890A= Вітаємо, Олена! <nil>
}
