package site

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
)

// snapshot is what every page and answer is derived from, read from the
// records at one data version.
type snapshot struct {
	version int64
	// taken is when the version was first seen: the Last-Modified of
	// everything derived from it.
	taken       time.Time
	plan        hromadabot.Plan
	communities []hromadabot.Community // in the listing order
	refs        []string               // of communities, by index
	byRef       map[string]int
	byID        map[int64]int
	lastReport  map[int64]time.Time
	rankings    map[int]*yearRanking
	oblasts     []oblast
	types       []string
}

// yearRanking is a year's ranking with each community's place in it.
type yearRanking struct {
	entries hromadabot.Ranking
	byID    map[int64]int
}

func (y *yearRanking) entry(id int64) (hromadabot.RankEntry, bool) {
	i, ok := y.byID[id]
	if !ok {
		return hromadabot.RankEntry{}, false
	}
	return y.entries[i], true
}

// oblast is an oblast with its communities, by index into the snapshot's.
type oblast struct {
	Name    string
	Slug    string
	members []int
}

// community finds a community by its reference. Asked for by another
// reference it has (its id when it has a code, its code in other case), it
// answers *movedTo.
func (s *snapshot) community(ref string) (*hromadabot.Community, error) {
	if i, ok := s.byRef[ref]; ok {
		return &s.communities[i], nil
	}
	i, ok := s.byRef[strings.ToUpper(ref)]
	if !ok {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil || strconv.FormatInt(id, 10) != ref {
			return nil, errNotFound
		}
		if i, ok = s.byID[id]; !ok {
			return nil, errNotFound
		}
	}
	return nil, &movedTo{from: ref, to: s.refs[i]}
}

func (s *snapshot) oblast(slug string) (*oblast, bool) {
	for i := range s.oblasts {
		if s.oblasts[i].Slug == slug {
			return &s.oblasts[i], true
		}
	}
	return nil, false
}

// slug is a name in URLs and query values, in Latin letters: "Київська"
// → "kyivska", "міська" → "miska".
func slug(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(hromadabot.Latin(name)), "-"))
}

func takeSnapshot(ctx context.Context, rec Records, version int64, years []int, now time.Time) (*snapshot, error) {
	s := &snapshot{version: version, taken: now.Truncate(time.Second), plan: rec.DefaultPlan(), rankings: map[int]*yearRanking{}}
	var err error
	if s.communities, err = rec.Communities(ctx); err != nil {
		return nil, fmt.Errorf("communities: %w", err)
	}
	if s.lastReport, err = rec.LastReportTimes(ctx); err != nil {
		return nil, fmt.Errorf("last reports: %w", err)
	}
	for _, y := range years {
		r, err := rec.FreshRanking(ctx, y)
		if err != nil {
			return nil, fmt.Errorf("ranking %d: %w", y, err)
		}
		yr := &yearRanking{entries: r, byID: make(map[int64]int, len(r))}
		for i, e := range r {
			yr.byID[e.CommunityID] = i
		}
		s.rankings[y] = yr
	}
	s.refs = make([]string, len(s.communities))
	s.byRef = make(map[string]int, len(s.communities))
	s.byID = make(map[int64]int, len(s.communities))
	byOblast := map[string]*oblast{}
	types := map[string]bool{}
	for i := range s.communities {
		c := &s.communities[i]
		s.refs[i] = opendata.CommunityRef(c)
		s.byRef[s.refs[i]] = i
		s.byID[c.ID] = i
		if c.Type != "" {
			types[c.Type] = true
		}
		if c.Oblast == "" {
			continue
		}
		o := byOblast[c.Oblast]
		if o == nil {
			o = &oblast{Name: c.Oblast, Slug: slug(c.Oblast)}
			byOblast[c.Oblast] = o
		}
		o.members = append(o.members, i)
	}
	for _, o := range byOblast {
		s.oblasts = append(s.oblasts, *o)
	}
	slices.SortFunc(s.oblasts, func(a, b oblast) int { return hromadabot.CompareUkrainian(a.Name, b.Name) })
	for t := range types {
		s.types = append(s.types, t)
	}
	slices.SortFunc(s.types, func(a, b string) int { return cmp.Or(hromadabot.CompareUkrainian(a, b), cmp.Compare(a, b)) })
	return s, nil
}

// snapshots keeps the current snapshot: the data version is read at most
// once per interval, by the request that finds it due, and a new snapshot
// taken when it moved. Requests meanwhile are served the one before.
type snapshots struct {
	rec   Records
	every time.Duration
	now   func() time.Time
	log   *slog.Logger
	years []int

	mu      sync.Mutex
	cur     *snapshot
	checked time.Time
	// taking is held by whoever reads the version or takes a snapshot.
	taking sync.Mutex
}

func newSnapshots(rec Records, every time.Duration, now func() time.Time, log *slog.Logger, years []int) *snapshots {
	return &snapshots{rec: rec, every: every, now: now, log: log, years: years}
}

// get returns the current snapshot.
func (s *snapshots) get(ctx context.Context) (*snapshot, error) {
	s.mu.Lock()
	cur, due := s.cur, s.cur == nil || s.every < 0 || s.now().Sub(s.checked) >= s.every
	s.mu.Unlock()
	if !due {
		return cur, nil
	}
	if cur != nil && !s.taking.TryLock() {
		// Someone else is checking: the last snapshot is current enough.
		return cur, nil
	}
	if cur == nil {
		s.taking.Lock()
	}
	defer s.taking.Unlock()
	s.mu.Lock()
	cur = s.cur
	s.mu.Unlock()
	// Taken without the request's cancellation: a snapshot serves everyone.
	ctx = context.WithoutCancel(ctx)
	v, err := s.rec.DataVersion(ctx)
	if err != nil {
		if cur != nil {
			s.log.WarnContext(ctx, "site: data version not read; serving the last snapshot", "err", err)
			return cur, nil
		}
		return nil, err
	}
	now := s.now()
	if cur == nil || v != cur.version {
		next, err := takeSnapshot(ctx, s.rec, v, s.years, now)
		if err != nil {
			if cur != nil {
				s.log.WarnContext(ctx, "site: snapshot not taken; serving the last one", "err", err)
				return cur, nil
			}
			return nil, err
		}
		cur = next
	}
	s.mu.Lock()
	s.cur, s.checked = cur, now
	s.mu.Unlock()
	return cur, nil
}

// source is the open data's source at a snapshot: its rankings are the
// snapshot's, as new as its data version.
type source struct {
	Records
	snap *snapshot
}

func (s source) Ranking(ctx context.Context, year int) (hromadabot.Ranking, error) {
	if r, ok := s.snap.rankings[year]; ok {
		return r.entries, nil
	}
	return s.Records.FreshRanking(ctx, year)
}
