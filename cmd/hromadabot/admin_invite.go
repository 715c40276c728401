package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hromadabot/hromadabot"
)

// cmdInvite prints a one-time code that makes whoever sends it to the bot
// the community's CDTO. Only the code's hash is stored, so it is shown once.
func cmdInvite(ctx context.Context, e *env, args []string) error {
	fs := newFlags("invite")
	dbPath := dbFlag(fs, e)
	ref := fs.String("community", "", "the community: its `ID_OR_NAME` or KATOTTG code (required)")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := required(fs, "community"); err != nil {
		return err
	}
	db, c, err := openCommunity(ctx, *dbPath, *ref)
	if err != nil {
		return err
	}
	defer db.Close()
	code, err := db.CreateInvite(ctx, c.ID, actorCLI)
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	expires := time.Now().Add(hromadabot.InviteTTL).In(hromadabot.Kyiv)
	fmt.Fprintf(e.stdout, "Invite code for %s: %s\n", c.Label(), code)
	fmt.Fprintf(e.stdout, "Valid once, until %s (Kyiv time).\n", expires.Format("2006-01-02 15:04"))
	fmt.Fprintf(e.stdout, "The CDTO sends /join %s to the bot.\n", code)
	return nil
}
