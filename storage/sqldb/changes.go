package sqldb

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	// after is the moment, on db's clock, the turn began or last committed
	// a write: only a read begun later is current enough for it.
	after uint64
	changes
}

// changeReads shares reads of the counters between turns. A read sees every
// commit made before it began, so it serves every turn that began, and made
// its last write, before that: under load most turns find one taken while
// they waited for their chat, rather than each reading the counters again.
type changeReads struct {
	// clock orders the turns' beginnings, their commits and the reads.
	clock atomic.Uint64
	mu    sync.Mutex
	// began is the clock when the latest read began (0: none yet), and
	// latest what it read.
	began  uint64
	latest changes
}

// since returns the latest read if it began after the moment after.
func (r *changeReads) since(after uint64) (changes, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest, r.began > after
}

// keep records a read begun at began, unless a later one is kept already.
func (r *changeReads) keep(began uint64, c changes) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if began > r.began {
		r.began, r.latest = began, c
	}
}

// Turn returns a context for the handling of one event: under it, the
// store reads whether the catalogue and the users changed at most once, at
// the first call that needs to know, and answers the rest of the turn from
// memory; a read another turn began after this one began serves it too.
// Changes that other processes commit before the turn begins show in it;
// the turn's own writes show at once.
func (db *DB) Turn(ctx context.Context) context.Context {
	return context.WithValue(ctx, turnKey{db}, &turnChanges{after: db.reads.clock.Add(1)})
}

// changes returns the current counters: those read earlier in the turn of
// ctx or since it began, if any, else read now.
func (db *DB) changes(ctx context.Context) (changes, error) {
	t, _ := ctx.Value(turnKey{db}).(*turnChanges)
	if t == nil {
		return db.readChanges(ctx)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.read {
		return t.changes, nil
	}
	c, ok := db.reads.since(t.after)
	if !ok {
		began := db.reads.clock.Add(1)
		var err error
		if c, err = db.readChanges(ctx); err != nil {
			return changes{}, err
		}
		db.reads.keep(began, c)
	}
	t.changes, t.read = c, true
	return c, nil
}

func (db *DB) readChanges(ctx context.Context) (changes, error) {
	var c changes
	if err := db.read.QueryRowContext(ctx, sqlSelectChanges).Scan(&c.catalog, &c.users); err != nil {
		return changes{}, fmt.Errorf("select changes: %w", err)
	}
	return c, nil
}

// forgetChanges makes the turn of ctx, if any, read the counters again,
// or take a read begun after now: it has just committed a write that may
// have moved them.
func (db *DB) forgetChanges(ctx context.Context) {
	if t, _ := ctx.Value(turnKey{db}).(*turnChanges); t != nil {
		t.mu.Lock()
		t.read, t.after = false, db.reads.clock.Add(1)
		t.mu.Unlock()
	}
}
