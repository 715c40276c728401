package console_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/console"
)

// menuBot answers every event with what it got and a menu of three
// buttons, one of them a link.
func menuBot(got *[]bot.Event) bot.Handler {
	return bot.HandlerFunc(func(_ context.Context, ev bot.Event) ([]bot.Reply, error) {
		*got = append(*got, ev)
		text := "текст: <b>" + ev.Text + "</b>"
		if ev.Payload != "" {
			text = "кнопка: " + ev.Payload
		}
		return []bot.Reply{{
			Text: text,
			Buttons: [][]bot.Button{
				{{Text: "Так", Payload: "p-yes"}, {Text: "Ні", Payload: "p-no"}},
				{{Text: "Сайт", URL: "https://example.org"}},
			},
		}}, nil
	})
}

func TestScriptedConversation(t *testing.T) {
	var got []bot.Event
	in := strings.NewReader("/start\n2\n\n3\n4\n'1\r\n/score Буча\n")
	var out strings.Builder
	c := console.New(menuBot(&got), in, &out, console.Options{Platform: "telegram", UserID: "42", LanguageCode: "en"})
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	transcript := out.String()
	for _, want := range []string{
		"> /start\nтекст: /start\n  [1] Так [2] Ні\n  [3] Сайт\n",
		"> 2\nкнопка: p-no\n",
		"> 3\nhttps://example.org\n",
		"> 4\nтекст: 4\n",
		"> '1\nтекст: 1\n",
		"> /score Буча\nтекст: /score Буча\n",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript)
		}
	}
	if len(got) != 5 {
		t.Fatalf("handler got %d events, want 5 (the link button sends none, the blank line is skipped)", len(got))
	}
	ids := map[string]bool{}
	for _, ev := range got {
		if ev.Platform != "telegram" || ev.UserID != "42" || ev.ChatID != "42" || ev.LanguageCode != "en" || ev.UpdateID == "" || ids[ev.UpdateID] {
			t.Errorf("event %+v: want telegram user 42 in chat 42 with a distinct update id", ev)
		}
		ids[ev.UpdateID] = true
	}
	if got[1].Payload != "p-no" || got[1].Text != "" || got[1].MenuID == "" {
		t.Errorf("pressing [2] sent %+v", got[1])
	}
}

func TestDefaultsAndPrompt(t *testing.T) {
	var got []bot.Event
	var out strings.Builder
	c := console.New(menuBot(&got), strings.NewReader("привіт\n"), &out, console.Options{Interactive: true})
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Platform != "console" || got[0].UserID != "local" || got[0].LanguageCode != "uk" {
		t.Fatalf("events = %+v, want one from console:local in uk", got)
	}
	if !strings.HasPrefix(out.String(), "> текст: привіт") || strings.Contains(out.String(), "> привіт") {
		t.Errorf("interactive output = %q: want a prompt and no echo", out.String())
	}
}

func TestCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var got []bot.Event
	done := make(chan error)
	go func() {
		done <- console.New(menuBot(&got), r, io.Discard, console.Options{}).Run(ctx)
	}()
	if _, err := io.WriteString(w, "перше\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

func TestReadError(t *testing.T) {
	var got []bot.Event
	err := console.New(menuBot(&got), io.MultiReader(strings.NewReader("рядок\n"), errReader{}), io.Discard, console.Options{}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "read: disk gone") {
		t.Errorf("Run = %v, want the read error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }
