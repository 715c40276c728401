package sqlite

import (
	"context"
	"fmt"
	"sync"
)

const sqlSelectChanges = `SELECT c.n, u.n FROM catalog_changes c, user_changes u WHERE c.id = 1 AND u.id = 1`

// changes are the counters that triggers move on every change to the
// catalogue (communities and their own targets) and to users, whichever
// process makes it. What a process keeps in memory of either is current
// while its counter stands still.
type changes struct {
	catalog, users int64
}

// turnKey marks a context as one turn of a conversation with db.
type turnKey struct{ db *DB }

// turnChanges are the counters as read once in a turn; a write the turn
// commits forgets them, so that the turn reads its own changes.
type turnChanges struct {
	mu   sync.Mutex
	read bool
	changes
}

// Turn returns a context for the handling of one event: under it, the
// store reads whether the catalogue and the users changed once, at the
// first call that needs to know, rather than at every call, and answers the
// rest of the turn from memory. Changes made by other processes during the
// turn show from the next one; the turn's own writes show at once.
func (db *DB) Turn(ctx context.Context) context.Context {
	return context.WithValue(ctx, turnKey{db}, &turnChanges{})
}

// changes returns the current counters: those read earlier in the turn of
// ctx, if any, else read now.
func (db *DB) changes(ctx context.Context) (changes, error) {
	t, _ := ctx.Value(turnKey{db}).(*turnChanges)
	if t == nil {
		return db.readChanges(ctx)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.read {
		c, err := db.readChanges(ctx)
		if err != nil {
			return changes{}, err
		}
		t.changes, t.read = c, true
	}
	return t.changes, nil
}

func (db *DB) readChanges(ctx context.Context) (changes, error) {
	var c changes
	if err := db.read.QueryRowContext(ctx, sqlSelectChanges).Scan(&c.catalog, &c.users); err != nil {
		return changes{}, fmt.Errorf("select changes: %w", err)
	}
	return c, nil
}

// forgetChanges makes the turn of ctx, if any, read the counters again: it
// has just committed a write that may have moved them.
func (db *DB) forgetChanges(ctx context.Context) {
	if t, _ := ctx.Value(turnKey{db}).(*turnChanges); t != nil {
		t.mu.Lock()
		t.read = false
		t.mu.Unlock()
	}
}
