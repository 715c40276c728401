package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/hromadabot/hromadabot"
)

// cmdCommunityAdd adds one community by hand (one missing from the KATOTTG
// list, or a test community).
func cmdCommunityAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags("community add")
	dbPath := dbFlag(fs, e)
	name := fs.String("name", "", "the community's `NAME`, e.g. Бучанська (required)")
	oblast := fs.String("oblast", "", "the `OBLAST`, e.g. Київська")
	typ := fs.String("type", "", "the `TYPE`: міська, селищна or сільська")
	center := fs.String("center", "", "the administrative `CENTER`, e.g. Буча")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := required(fs, "name"); err != nil {
		return err
	}
	switch *typ {
	case "", "міська", "селищна", "сільська":
	default:
		return onFlag("--type", fmt.Errorf("%q is not міська, селищна or сільська", *typ))
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	c := hromadabot.Community{Name: *name, Oblast: *oblast, Type: *typ, Center: *center}
	if err := db.CreateCommunity(ctx, &c, actorCLI); err != nil {
		return onField(fs, fmt.Errorf("add community: %w", err))
	}
	fmt.Fprintf(e.stdout, "Added community %d: %s\n", c.ID, c.Label())
	return nil
}

// cmdCommunityList lists communities, optionally of one oblast.
func cmdCommunityList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("community list")
	dbPath := dbFlag(fs, e)
	oblast := fs.String("oblast", "", "only communities of this `OBLAST` (Київська, київська or Kyivska)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	all, err := db.Communities(ctx)
	if err != nil {
		return fmt.Errorf("list communities: %w", err)
	}
	list := all[:0:0]
	key := hromadabot.SearchKey(*oblast)
	for _, c := range all {
		if key == "" || hromadabot.SearchKey(c.Oblast) == key {
			list = append(list, c)
		}
	}
	if *asJSON {
		return writeJSON(e.stdout, list)
	}
	if len(list) == 0 {
		if len(all) == 0 {
			fmt.Fprintln(e.stderr, "No communities yet: load all of Ukraine's with 'hromadabot community load'.")
		} else {
			fmt.Fprintf(e.stderr, "No communities in oblast %q.\n", *oblast)
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tOBLAST\tCENTER\tPOPULATION")
	for _, c := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", c.ID, c.Name, c.Type, c.Oblast, c.Center, c.Population)
	}
	return tw.Flush()
}

// cmdCommunityLoad loads the embedded list of all territorial communities.
func cmdCommunityLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlags("community load")
	dbPath := dbFlag(fs, e)
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	cs, err := hromadabot.Hromadas()
	if err != nil {
		return fmt.Errorf("embedded communities: %w", err)
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	added, err := db.LoadHromadas(ctx, cs, actorCLI)
	if err != nil {
		return fmt.Errorf("load communities: %w", err)
	}
	total, err := db.CountCommunities(ctx)
	if err != nil {
		return fmt.Errorf("count communities: %w", err)
	}
	fmt.Fprintf(e.stdout, "Loaded %d communities: %d added, %d already there. The database has %d communities.\n", len(cs), added, len(cs)-added, total)
	return nil
}
