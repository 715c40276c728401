package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hromadabot/hromadabot"
)

// communityColumns selects a community into hromadabot.Community.
const communityColumns = `id, COALESCE(katottg, '') AS katottg, name, type, full_name, oblast, raion, center, population, created_at`

const (
	sqlSelectCommunity        = `SELECT ` + communityColumns + ` FROM communities WHERE id = ?`
	sqlSelectCommunityByCode  = `SELECT ` + communityColumns + ` FROM communities WHERE katottg = ?`
	sqlSelectCommunities      = `SELECT ` + communityColumns + ` FROM communities`
	sqlCountCommunities       = `SELECT COUNT(*) FROM communities`
	sqlCommunityExists        = `SELECT COUNT(*) FROM communities WHERE id = ?`
	sqlSelectCommunitiesNamed = `SELECT id, name, oblast FROM communities WHERE search_key LIKE ? ESCAPE '\'`

	sqlInsertCommunity = `
INSERT INTO communities (katottg, name, type, full_name, oblast, raion, center, population, search_key, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`

	sqlUpdateCommunity = `
UPDATE communities
SET katottg = ?, name = ?, type = ?, full_name = ?, oblast = ?, raion = ?, center = ?, population = ?, search_key = ?
WHERE id = ?`

	sqlSelectHandAdded = `
SELECT ` + communityColumns + ` FROM communities WHERE katottg IS NULL AND name = ? AND oblast = ? ORDER BY id LIMIT 1`

	sqlSelectSearchKeys = `SELECT id, name, center, oblast, raion, search_key FROM communities`
	sqlUpdateSearchKey  = `UPDATE communities SET search_key = ? WHERE id = ?`
)

// maxSearchWords bounds the LIKE terms of one search.
const maxSearchWords = 8

// CreateCommunity adds a community and sets c.ID and c.CreatedAt. A
// community with the same KATOTTG code, or with the same name in the same
// oblast, is an ECONFLICT error.
func (db *DB) CreateCommunity(ctx context.Context, c *hromadabot.Community, actor string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := createCommunity(ctx, tx, c, actor); err != nil {
		return db.formatError(err)
	}
	return tx.commit()
}

func createCommunity(ctx context.Context, tx *txn, c *hromadabot.Community, actor string) error {
	if err := validateCommunity(c); err != nil {
		return err
	}
	if c.Code != "" {
		var existing hromadabot.Community
		switch err := tx.GetContext(ctx, &existing, sqlSelectCommunityByCode, c.Code); {
		case err == nil:
			return hromadabot.Errorf(hromadabot.ECONFLICT, "community_exists",
				"community with KATOTTG code %s already exists: %s", c.Code, existing.Label())
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("select community: %w", err)
		}
	}
	if other, err := sameNamed(ctx, tx, c); err != nil {
		return err
	} else if other != nil {
		return hromadabot.Errorf(hromadabot.ECONFLICT, "community_exists",
			"community %s already exists (id %d)", other.Label(), other.ID)
	}

	c.CreatedAt = tx.now
	if err := insertCommunity(ctx, tx, c); err != nil {
		return err
	}
	return insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: actor, Action: "community.create", Entity: "community",
		EntityID: strconv.FormatInt(c.ID, 10), NewValue: describeCommunity(c),
	})
}

// validateCommunity is c.Validate plus what search needs: a name that
// leaves something to search by.
func validateCommunity(c *hromadabot.Community) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.Code = strings.TrimSpace(c.Code)
	if hromadabot.SearchKey(c.Name) == "" {
		return hromadabot.FieldErrorf("name", "community_name_invalid",
			"community name %q has no letters or digits besides words such as \"громада\"", c.Name)
	}
	return nil
}

// sameNamed returns a stored community with c's name in c's oblast, compared
// as search keys so that case, apostrophes and "громада" do not matter.
func sameNamed(ctx context.Context, tx *txn, c *hromadabot.Community) (*hromadabot.Community, error) {
	name, oblast := hromadabot.SearchKey(c.Name), hromadabot.SearchKey(c.Oblast)
	var rows []hromadabot.Community
	if err := tx.SelectContext(ctx, &rows, sqlSelectCommunitiesNamed, likePattern(name)); err != nil {
		return nil, fmt.Errorf("select communities: %w", err)
	}
	for i := range rows {
		if rows[i].ID != c.ID && hromadabot.SearchKey(rows[i].Name) == name && hromadabot.SearchKey(rows[i].Oblast) == oblast {
			return &rows[i], nil
		}
	}
	return nil, nil
}

func insertCommunity(ctx context.Context, tx *txn, c *hromadabot.Community) error {
	if err := tx.QueryRowContext(ctx, sqlInsertCommunity,
		nullString(c.Code), c.Name, c.Type, c.FullName, c.Oblast, c.Raion, c.Center, c.Population,
		c.SearchKey(), formatTime(c.CreatedAt),
	).Scan(&c.ID); err != nil {
		return fmt.Errorf("insert community: %w", err)
	}
	return nil
}

func updateCommunity(ctx context.Context, tx *txn, c *hromadabot.Community) error {
	if _, err := tx.ExecContext(ctx, sqlUpdateCommunity,
		nullString(c.Code), c.Name, c.Type, c.FullName, c.Oblast, c.Raion, c.Center, c.Population,
		c.SearchKey(), c.ID,
	); err != nil {
		return fmt.Errorf("update community %d: %w", c.ID, err)
	}
	return nil
}

// describeCommunity is a community's audit form.
func describeCommunity(c *hromadabot.Community) string {
	s := c.Label()
	if c.Code != "" {
		s += " " + c.Code
	}
	return s
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// LoadHromadas stores the registry's communities in one transaction,
// matching them by KATOTTG code: new codes are added, changed ones updated,
// the rest left alone, so loading the same list twice changes nothing. A
// community added by hand with the same name and oblast takes the code
// instead of being duplicated. It returns how many communities were added;
// one audit row sums the load up. A community without a code or with a bad
// field fails the whole load, the error naming its 1-based row.
func (db *DB) LoadHromadas(ctx context.Context, cs []hromadabot.Community, actor string) (added int, err error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	if added, err = loadHromadas(ctx, tx, cs, actor); err != nil {
		return 0, db.formatError(err)
	}
	return added, tx.commit()
}

func loadHromadas(ctx context.Context, tx *txn, cs []hromadabot.Community, actor string) (added int, err error) {
	var stored []hromadabot.Community
	if err := tx.SelectContext(ctx, &stored, sqlSelectCommunities); err != nil {
		return 0, fmt.Errorf("select communities: %w", err)
	}
	byCode := make(map[string]hromadabot.Community, len(stored))
	for _, c := range stored {
		if c.Code != "" {
			byCode[c.Code] = c
		}
	}

	updated := 0
	for i := range cs {
		c := cs[i]
		if err := validateCommunity(&c); err != nil {
			return 0, tx.db.rowError(i, err)
		}
		if c.Code == "" {
			return 0, tx.db.rowError(i, hromadabot.FieldErrorf("katottg", "community_code_required", "KATOTTG code is required"))
		}
		old, ok := byCode[c.Code]
		if !ok {
			var hand hromadabot.Community
			switch err := tx.GetContext(ctx, &hand, sqlSelectHandAdded, c.Name, c.Oblast); {
			case err == nil:
				old, ok = hand, true
			case !errors.Is(err, sql.ErrNoRows):
				return 0, fmt.Errorf("select community: %w", err)
			}
		}
		switch {
		case !ok:
			c.CreatedAt = tx.now
			if err := insertCommunity(ctx, tx, &c); err != nil {
				return 0, tx.db.rowError(i, err)
			}
			added++
		case sameCommunity(&old, &c):
		default:
			c.ID, c.CreatedAt = old.ID, old.CreatedAt
			if err := updateCommunity(ctx, tx, &c); err != nil {
				return 0, tx.db.rowError(i, err)
			}
			updated++
		}
		byCode[c.Code] = c
	}
	if added == 0 && updated == 0 {
		return 0, nil
	}
	return added, insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: actor, Action: "community.load", Entity: "community",
		NewValue: fmt.Sprintf("%d rows: %d added, %d updated", len(cs), added, updated),
	})
}

func sameCommunity(a, b *hromadabot.Community) bool {
	return a.Code == b.Code && a.Name == b.Name && a.Type == b.Type && a.FullName == b.FullName &&
		a.Oblast == b.Oblast && a.Raion == b.Raion && a.Center == b.Center && a.Population == b.Population
}

// rowError prefixes err with the 1-based row of a batch, keeping its code,
// reason and field.
func (db *DB) rowError(i int, err error) error {
	var e *hromadabot.Error
	if errors.As(db.formatError(err), &e) {
		return &hromadabot.Error{Code: e.Code, Reason: e.Reason, Field: e.Field,
			Message: fmt.Sprintf("row %d: %s", i+1, e.Message)}
	}
	return fmt.Errorf("row %d: %w", i+1, err)
}

// refreshSearchKeys rewrites stored search keys that differ from what
// hromadabot.SearchKey makes of the community today, so that a change in the
// normalization reaches existing rows.
func refreshSearchKeys(ctx context.Context, tx *txn) error {
	var rows []struct {
		ID        int64  `db:"id"`
		Name      string `db:"name"`
		Center    string `db:"center"`
		Oblast    string `db:"oblast"`
		Raion     string `db:"raion"`
		SearchKey string `db:"search_key"`
	}
	if err := tx.SelectContext(ctx, &rows, sqlSelectSearchKeys); err != nil {
		return fmt.Errorf("select search keys: %w", err)
	}
	for _, r := range rows {
		c := hromadabot.Community{Name: r.Name, Center: r.Center, Oblast: r.Oblast, Raion: r.Raion}
		if key := c.SearchKey(); key != r.SearchKey {
			if _, err := tx.ExecContext(ctx, sqlUpdateSearchKey, key, r.ID); err != nil {
				return fmt.Errorf("update search key: %w", err)
			}
		}
	}
	return nil
}

// Community returns the community with the given id, or ENOTFOUND.
func (db *DB) Community(ctx context.Context, id int64) (*hromadabot.Community, error) {
	return db.directory.community(ctx, db, id)
}

// checkCommunity returns ENOTFOUND unless the community exists.
func checkCommunity(ctx context.Context, tx *txn, id int64) error {
	var n int
	if err := tx.GetContext(ctx, &n, sqlCommunityExists, id); err != nil {
		return fmt.Errorf("select community: %w", err)
	}
	if n == 0 {
		return errNotFound("community_not_found", "community %d not found", id)
	}
	return nil
}

// Communities returns every community in Ukrainian alphabetical order of
// name, then of oblast.
func (db *DB) Communities(ctx context.Context) ([]hromadabot.Community, error) {
	var cs []hromadabot.Community
	if err := db.read.SelectContext(ctx, &cs, sqlSelectCommunities); err != nil {
		return nil, fmt.Errorf("select communities: %w", err)
	}
	slices.SortFunc(cs, func(a, b hromadabot.Community) int {
		if c := hromadabot.CompareUkrainian(a.Name, b.Name); c != 0 {
			return c
		}
		if c := hromadabot.CompareUkrainian(a.Oblast, b.Oblast); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return cs, nil
}

// CountCommunities returns the number of communities.
func (db *DB) CountCommunities(ctx context.Context) (int, error) {
	var n int
	if err := db.read.GetContext(ctx, &n, sqlCountCommunities); err != nil {
		return 0, fmt.Errorf("count communities: %w", err)
	}
	return n, nil
}

// searchResult is a community with its hromadabot.SearchMatch score.
type searchResult struct {
	hromadabot.Community
	score int
}

// SearchCommunities returns up to limit communities (all when limit <= 0)
// matching every word of the query in Ukrainian or in Latin transliteration,
// best match first (hromadabot.SearchMatch), then by population, descending,
// then by name. A query with nothing to search by returns no communities.
func (db *DB) SearchCommunities(ctx context.Context, query string, limit int) ([]hromadabot.Community, error) {
	rs, err := db.search(ctx, query)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(rs) > limit {
		rs = rs[:limit]
	}
	cs := make([]hromadabot.Community, len(rs))
	for i := range rs {
		cs[i] = rs[i].Community
	}
	return cs, nil
}

// search returns the scored matches of query, best first; they are shared
// with the directory, so callers copy what they hand out.
func (db *DB) search(ctx context.Context, query string) ([]searchResult, error) {
	key := hromadabot.SearchKey(query)
	words := strings.Fields(key)
	if len(words) == 0 {
		return nil, nil
	}
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
		key = strings.Join(words, " ")
	}
	return db.directory.search(ctx, db, key)
}

// likePattern matches s anywhere in a column, with LIKE's wildcards in s
// escaped.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// maxAmbiguous is how many candidates an ambiguous reference lists.
const maxAmbiguous = 5

// FindCommunity resolves a reference typed by a person: a numeric id, a
// KATOTTG code ("UA32…"), or a name or centre query whose best match is one
// community. Several equally good matches are an EINVALID error with reason
// "community_ambiguous" listing up to five of them with oblast and id; no
// match is ENOTFOUND "community_not_found".
func (db *DB) FindCommunity(ctx context.Context, ref string) (*hromadabot.Community, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, hromadabot.FieldErrorf("community", "community_required", "community is required")
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return db.Community(ctx, id)
	}
	if isKATOTTG(ref) {
		var c hromadabot.Community
		if err := db.read.GetContext(ctx, &c, sqlSelectCommunityByCode, strings.ToUpper(ref)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, errNotFound("community_not_found", "no community with KATOTTG code %s", ref)
			}
			return nil, fmt.Errorf("select community: %w", err)
		}
		return &c, nil
	}

	rs, err := db.search(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errNotFound("community_not_found", "no community matches %q", ref)
	}
	n := 1
	for n < len(rs) && rs[n].score == rs[0].score {
		n++
	}
	if n == 1 {
		c := rs[0].Community
		return &c, nil
	}
	labels := make([]string, 0, maxAmbiguous)
	for i := 0; i < n && i < maxAmbiguous; i++ {
		labels = append(labels, fmt.Sprintf("%s [id %d]", rs[i].Label(), rs[i].ID))
	}
	more := ""
	if n > maxAmbiguous {
		more = fmt.Sprintf(" and %d more", n-maxAmbiguous)
	}
	return nil, &hromadabot.Error{Code: hromadabot.EINVALID, Reason: "community_ambiguous", Field: "community",
		Message: fmt.Sprintf("%q matches %d communities: %s%s; add the oblast or use the id", ref, n, strings.Join(labels, ", "), more)}
}

// isKATOTTG reports whether s looks like a KATOTTG code: "UA" and digits.
func isKATOTTG(s string) bool {
	if len(s) < 3 || !strings.EqualFold(s[:2], "UA") {
		return false
	}
	for _, r := range s[2:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
