package broadcast_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/broadcast"
)

// BenchmarkSendPending measures the engine alone: a job of 10,000
// recipients sent through a sender that never waits or fails, with a rate
// limit far above what the engine reaches. It reports messages per second,
// which bounds how fast any real channel can be fed.
func BenchmarkSendPending(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	clock := broadcast.SystemClock{}
	db, _ := MustOpenDB(b, clock)
	users := make([]*hromadabot.User, n)
	for i := range users {
		u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, strconv.Itoa(100000+i), "uk")
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u
	}
	snd := &FakeSender{Clock: clock}
	s := MustService(b, db, clock, snd, func(c *broadcast.Config) { c.Rate = 1_000_000 })

	var sent int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rs := make([]hromadabot.Recipient, n)
		for j, u := range users {
			rs[j] = hromadabot.Recipient{UserID: u.ID, Platform: u.Platform, PlatformID: u.PlatformID,
				Text: "Щотижневий дайджест громади", Buttons: `[[{"Text":"🔕 Відписатися","Payload":"/unsubscribe"}]]`}
		}
		job := &hromadabot.Broadcast{Kind: hromadabot.BroadcastAnnouncement, Key: "announce:bench-" + strconv.Itoa(i), CreatedBy: "cli"}
		if _, err := db.CreateBroadcast(ctx, job, rs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.SendPending(ctx); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	b.StopTimer()
	if got := len(snd.Deliveries()); got != sent {
		b.Fatalf("%d delivered, want %d", got, sent)
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
}
