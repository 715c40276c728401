package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/broadcast"
)

// cmdBroadcastSend stores an announcement with its audience and returns:
// the running bot picks the job up within a few seconds and sends it.
func cmdBroadcastSend(ctx context.Context, e *env, args []string) error {
	fs := newFlags("broadcast send")
	dbPath := dbFlag(fs, e)
	audience := fs.String("audience", "", "who gets it: `cdto` (every CDTO), residents (subscribed residents) or all (required)")
	ref := fs.String("community", "", "only the audience of this community: its `ID_OR_NAME` or KATOTTG code")
	text := fs.String("text", "", "the message, plain `TEXT` (required)")
	now := fs.Bool("now", false, "send during quiet hours too")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := required(fs, "audience", "text"); err != nil {
		return err
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	a := broadcast.Announcement{Audience: *audience, Text: *text, Now: *now, Actor: actorCLI}
	scope := "every community"
	if *ref != "" {
		c, err := findCommunity(ctx, db, *ref)
		if err != nil {
			return err
		}
		a.CommunityID, scope = c.ID, c.Label()
	}
	job, err := broadcast.Announce(ctx, db, a)
	if err != nil {
		return onField(fs, err)
	}
	fmt.Fprintf(e.stdout, "Broadcast %d stored: %s to %d %s (%s, %s).\n",
		job.ID, job.Kind, job.Total, plural(job.Total, "recipient", "recipients"), *audience, scope)
	switch {
	case job.Total == 0:
		fmt.Fprintln(e.stdout, "Nobody to send it to: the job is done.")
	case *now:
		fmt.Fprintln(e.stdout, "The running bot sends it within a few seconds, quiet hours or not.")
	default:
		fmt.Fprintln(e.stdout, "The running bot sends it within a few seconds, or after quiet hours (QUIET_HOURS).")
	}
	fmt.Fprintf(e.stdout, "Follow it with: hromadabot broadcast status --job %d\n", job.ID)
	return nil
}

// cmdBroadcastStatus prints the progress of one broadcast, or of the
// latest ones.
func cmdBroadcastStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlags("broadcast status")
	dbPath := dbFlag(fs, e)
	id := fs.Int64("job", 0, "the broadcast's `ID`; without it, the latest broadcasts")
	limit := fs.Int("limit", 10, "how many of the latest broadcasts to list (`N`)")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if *id < 0 {
		return onFlag("--job", fmt.Errorf("%d is not a broadcast id", *id))
	}
	if *limit < 1 {
		return onFlag("--limit", fmt.Errorf("%d must be at least 1", *limit))
	}
	rate, err := broadcastRate(e)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	if *id > 0 {
		p, err := db.BroadcastProgress(ctx, *id)
		if err != nil {
			return onFlag("--job", err)
		}
		printProgress(e.stdout, p, rate)
		return nil
	}
	ps, err := db.Broadcasts(ctx, *limit)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(e.stdout, "No broadcasts yet.")
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tSTATUS\tSENT\tFAILED\tBLOCKED\tPENDING\tETA\tCREATED (KYIV)\tKEY")
	for _, p := range ps {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%s\t%s\t%s\n", p.ID, p.Kind, p.Status, p.Sent, p.Total,
			p.Failed, p.Blocked, p.Pending, eta(p, rate), kyivTime(p.CreatedAt), p.Key)
	}
	return w.Flush()
}

// broadcastRate is BROADCAST_RATE, or its default, for the time left.
func broadcastRate(e *env) (int, error) {
	v := strings.TrimSpace(e.getenv("BROADCAST_RATE"))
	if v == "" {
		return DefaultBroadcastRate, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxBroadcastRate {
		return 0, fmt.Errorf("BROADCAST_RATE: %q must be a whole number of messages per second from 1 to %d", v, MaxBroadcastRate)
	}
	return n, nil
}

func printProgress(w io.Writer, p *hromadabot.BroadcastProgress, rate int) {
	fmt.Fprintf(w, "Broadcast %d (%s, %s): %s\n", p.ID, p.Kind, p.Key, p.Status)
	fmt.Fprintf(w, "Created %s (Kyiv time) by %s", kyivTime(p.CreatedAt), p.CreatedBy)
	if p.StartedAt != nil {
		fmt.Fprintf(w, "; started %s", kyivTime(*p.StartedAt))
	}
	if p.FinishedAt != nil {
		fmt.Fprintf(w, "; finished %s", kyivTime(*p.FinishedAt))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Sent %d of %d, failed %d, blocked %d, pending %d", p.Sent, p.Total, p.Failed, p.Blocked, p.Pending)
	if p.Pending > 0 {
		fmt.Fprintf(w, "; about %s left at %d a second", eta(*p, rate), rate)
	}
	fmt.Fprintln(w)
	if len(p.ByPlatform) > 1 {
		for _, platform := range slices.Sorted(maps.Keys(p.ByPlatform)) {
			c := p.ByPlatform[platform]
			fmt.Fprintf(w, "  %s: sent %d, failed %d, blocked %d, pending %d\n", platform, c.Sent, c.Failed, c.Blocked, c.Pending)
		}
	}
	if p.OverrideQuiet {
		fmt.Fprintln(w, "Sent during quiet hours too (--now).")
	}
}

// eta is the time left to send p's pending messages at rate, "-" when done.
func eta(p hromadabot.BroadcastProgress, rate int) string {
	if p.Pending == 0 {
		return "-"
	}
	return broadcast.ETA(p.Pending, rate).String()
}

func kyivTime(t time.Time) string {
	return t.In(hromadabot.Kyiv).Format("2006-01-02 15:04")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
