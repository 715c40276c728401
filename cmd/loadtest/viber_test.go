package main_test

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot/bot/vibertest"
	main "github.com/hromadabot/hromadabot/cmd/loadtest"
)

func TestChannelFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		channel string
		conns   int
		wantErr string
	}{
		{"DefaultIsTelegramPolling", nil, "telegram", 64, ""},
		{"Viber", []string{"-channel", "viber"}, "viber", 64, ""},
		{"TelegramWebhook", []string{"-channel", "telegram-webhook"}, "telegram-webhook", 64, ""},
		{"BothWithConns", []string{"-channel", "both", "-viber-conns", "128"}, "both", 128, ""},
		{"QuickKeepsTheChannel", []string{"-quick", "-channel", "both"}, "both", 64, ""},
		{"ErrUnknown", []string{"-channel", "whatsapp"}, "", 0, "-channel"},
		{"ErrNoConns", []string{"-channel", "viber", "-viber-conns", "0"}, "", 0, "-viber-conns"},
		{"ErrEchoOnlyOnPolling", []string{"-channel", "viber", "-only", "echo"}, "", 0, "-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			channel, conns, err := main.ChannelFlags(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || channel != tt.channel || conns != tt.conns {
				t.Errorf("-channel, -viber-conns = %q, %d, %v; want %q, %d", channel, conns, err, tt.channel, tt.conns)
			}
		})
	}
}

func TestPathsOf(t *testing.T) {
	tests := []struct {
		channel         string
		telegram, viber bool
	}{
		{"telegram", false, false},
		{"viber", false, true},
		{"telegram-webhook", true, false},
		{"both", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			if tg, vb := main.PathsOf(tt.channel); tg != tt.telegram || vb != tt.viber {
				t.Errorf("PathsOf(%q) = %v, %v; want %v, %v", tt.channel, tg, vb, tt.telegram, tt.viber)
			}
		})
	}
}

func TestViberID(t *testing.T) {
	shape := regexp.MustCompile(`^[A-Za-z0-9+/]{22}==$`)
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 9999, 10000, 123456789} {
		id := main.ViberID(i)
		if !shape.MatchString(id) {
			t.Errorf("ViberID(%d) = %q, not shaped as a Viber id", i, id)
		}
		if seen[id] {
			t.Errorf("ViberID(%d) = %q twice", i, id)
		}
		seen[id] = true
	}
}

func TestHasButton(t *testing.T) {
	kb := &vibertest.Keyboard{Buttons: []vibertest.Button{
		{ActionType: "reply", ActionBody: "btn:r", Text: "🏆 Рейтинг"},
		{ActionType: "open-url", ActionBody: "https://example.org", Text: "Сайт"},
	}}
	tests := []struct {
		name  string
		kb    *vibertest.Keyboard
		label string
		want  bool
	}{
		{"Reply", kb, "🏆 Рейтинг", true},
		{"LinkIsNotPressable", kb, "Сайт", false},
		{"Missing", kb, "Пропустити", false},
		{"NoKeyboard", nil, "🏆 Рейтинг", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := main.HasButton(tt.kb, tt.label); got != tt.want {
				t.Errorf("HasButton(%q) = %v, want %v", tt.label, got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name            string
		telegram, viber [][2]float64
		offered         int
		ratio           float64
		bothKeptUp      bool
	}{
		{"BothKeptUp", [][2]float64{{500, 500}, {1000, 999}}, [][2]float64{{500, 499}, {1000, 1000}}, 2, 1000.0 / 999, true},
		{"ViberSaturated", [][2]float64{{1000, 1000}, {2000, 2000}}, [][2]float64{{1000, 1000}, {2000, 1500}}, 2, 0.75, false},
		{"TelegramStoppedEarly", [][2]float64{{1000, 1000}, {2000, 1200}}, [][2]float64{{1000, 1000}, {2000, 2000}, {3000, 2900}}, 3, 2900.0 / 1200, false},
		{"NoTelegramAnswers", nil, [][2]float64{{500, 500}}, 1, 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ratio, both := main.Compare(main.Steps(tt.telegram...), main.Steps(tt.viber...), tt.offered)
			if math.Abs(ratio-tt.ratio) > 1e-9 || both != tt.bothKeptUp {
				t.Errorf("Compare = %v, %v; want %v, %v", ratio, both, tt.ratio, tt.bothKeptUp)
			}
		})
	}
}

func TestStepAt(t *testing.T) {
	steps := main.Steps([2]float64{250, 250}, [2]float64{1000, 990})
	tests := []struct {
		name string
		rate float64
		want float64
	}{
		{"Found", 1000, 1000},
		{"NotOffered", 2000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := main.StepAt(steps, tt.rate); got != tt.want {
				t.Errorf("StepAt(%v) = %v, want %v", tt.rate, got, tt.want)
			}
		})
	}
}
