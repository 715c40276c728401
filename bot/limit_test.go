package bot_test

import (
	"math"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		name      string
		perSecond float64
		want      time.Duration
	}{
		{"OKWholeQuotient", 25, 40*time.Millisecond + time.Microsecond},
		// Rounded up, never down: 30 a second must not become 30.000001.
		{"OKRoundedUp", 30, 33333334*time.Nanosecond + time.Microsecond},
		{"OKSlowerThanOneASecond", 0.5, 2*time.Second + time.Microsecond},
		{"OKUnlimited", math.Inf(1), 0},
		{"OKZeroIsNoLimit", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.Interval(tc.perSecond); got != tc.want {
				t.Fatalf("Interval(%v) = %s, want %s", tc.perSecond, got, tc.want)
			}
		})
	}
}
