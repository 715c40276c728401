package telegram_test

import (
	"testing"

	"github.com/hromadabot/hromadabot/bot/telegram"
)

// TestNewTransport: the channel keeps a connection open for every worker
// and the poller, so that concurrent sends reuse connections instead of
// opening one each.
func TestNewTransport(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		want    int
	}{
		{"OKDefaultWorkers", telegram.DefaultWorkers, telegram.DefaultWorkers + 1},
		{"OKOneWorker", 1, 2},
		{"OKNoWorkersGiven", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := telegram.NewTransport(tt.workers)
			if tr.MaxIdleConnsPerHost != tt.want {
				t.Errorf("MaxIdleConnsPerHost = %d, want %d", tr.MaxIdleConnsPerHost, tt.want)
			}
			if tr.Proxy == nil || tr.DialContext == nil {
				t.Error("the transport lost the default's proxy or dialer")
			}
		})
	}
}
