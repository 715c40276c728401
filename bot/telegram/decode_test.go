package telegram

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

func TestLeadingUpdateID(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		id   int
		okay bool
	}{
		{`{"update_id":123,"message":{}}`, 123, true},
		{`{"update_id":7}`, 7, true},
		{`{"update_id":12a,"message":{}}`, 0, false},
		{`{"update_id":"5"}`, 0, false},
		{`{"update_id":}`, 0, false},
		{`{"update_id":123`, 0, false},
		{`{"message":{},"update_id":5}`, 0, false},
		{`{ "update_id":5}`, 0, false},
		{`{"update_id":1234567890123456789}`, 0, false},
		{``, 0, false},
	} {
		id, ok := leadingUpdateID(json.RawMessage(tc.raw))
		if id != tc.id || ok != tc.okay {
			t.Errorf("leadingUpdateID(%s) = %d, %v; want %d, %v", tc.raw, id, ok, tc.id, tc.okay)
		}
	}
}

// TestDecodeUpdates: updates in flight are only split off, new ones are
// decoded, and one the library cannot read carries its error and id.
func TestDecodeUpdates(t *testing.T) {
	result := json.RawMessage(`[
		{"update_id":10,"message":{"message_id":1,"date":0,"chat":{"id":5,"type":"private"},"text":"в обробці"}},
		{"update_id":11,"message":{"message_id":2,"date":0,"chat":{"id":5,"type":"private"},"text":"нове"}},
		{"message":{"message_id":3,"date":0,"chat":{"id":5,"type":"private"},"text":"id в кінці"},"update_id":12},
		{"update_id":13,"message":{"message_id":"не число"}}
	]`)
	inFlight := func(id int) bool { return id == 10 }
	got, err := decodeUpdates(result, inFlight)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d updates, want 4", len(got))
	}
	if got[0].id != 10 || got[0].update.Message != nil || got[0].err != nil {
		t.Errorf("update in flight = %+v, want its id only", got[0])
	}
	if got[1].id != 11 || got[1].update.Message == nil || got[1].update.Message.Text != "нове" {
		t.Errorf("new update = %+v, want it decoded", got[1])
	}
	if got[2].id != 12 || got[2].update.Message == nil || got[2].update.Message.Text != "id в кінці" {
		t.Errorf("update with its id last = %+v, want it decoded", got[2])
	}
	if got[3].id != 13 || got[3].err == nil {
		t.Errorf("unreadable update = %+v, want its id and an error", got[3])
	}
	if _, err := decodeUpdates(json.RawMessage(`{"not":"a list"}`), nil); err == nil {
		t.Error("an answer that is not a list of updates decoded without error")
	}
}

// TestParseUpdateReadsWhatTheLibraryReads: decoding only the fields the bot
// reads gives every fixture the same event, chat and callback id as the
// library's whole Update does.
func TestParseUpdateReadsWhatTheLibraryReads(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("fixtures: %v, %v", paths, err)
	}
	now := time.Unix(1_700_000_000, 0)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var full tgbotapi.Update
			if err := json.Unmarshal(raw, &full); err != nil {
				t.Fatal(err)
			}
			slim, err := parseUpdate(raw)
			if err != nil {
				t.Fatal(err)
			}
			wantEv, wantOK := toEvent(full, now)
			gotEv, gotOK := toEvent(slim, now)
			if gotOK != wantOK || !reflect.DeepEqual(gotEv, wantEv) {
				t.Errorf("event %+v, %v; the library's update gives %+v, %v", gotEv, gotOK, wantEv, wantOK)
			}
			if full.CallbackQuery != nil && (slim.CallbackQuery == nil || slim.CallbackQuery.ID != full.CallbackQuery.ID) {
				t.Errorf("callback %+v, want id %q", slim.CallbackQuery, full.CallbackQuery.ID)
			}
		})
	}
	if _, err := parseUpdate([]byte(`{"update_id":"x"}`)); err == nil {
		t.Error("an update_id that is not a number was read")
	}
}
