package site

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
)

//go:embed openapi.json
var openAPI []byte

// The API's answers: field names are the open data's columns where both
// have one.

type apiCommunity struct {
	Ref        string `json:"community"`
	ID         int64  `json:"community_id"`
	Name       string `json:"name"`
	NameLatin  string `json:"name_latin"`
	Type       string `json:"type,omitempty"`
	FullName   string `json:"full_name,omitempty"`
	Oblast     string `json:"oblast,omitempty"`
	Raion      string `json:"raion,omitempty"`
	Center     string `json:"center,omitempty"`
	Population int    `json:"population,omitempty"`
	URL        string `json:"url"`
}

type apiRankEntry struct {
	Ref             string  `json:"community"`
	ID              int64   `json:"community_id"`
	Name            string  `json:"name"`
	NameLatin       string  `json:"name_latin"`
	Oblast          string  `json:"oblast,omitempty"`
	Type            string  `json:"type,omitempty"`
	Index           float64 `json:"index"`
	PlanFulfillment float64 `json:"plan_fulfillment"`
	// Rank is null for a community that has not reported: it has no place.
	Rank       *int       `json:"rank"`
	Reported   bool       `json:"reported"`
	LastReport *time.Time `json:"last_report"`
}

type apiRanking struct {
	Year        int            `json:"year"`
	GeneratedAt time.Time      `json:"generated_at"`
	Total       int            `json:"total"`
	Reported    int            `json:"reported"`
	Communities []apiRankEntry `json:"communities"`
}

type apiIndicator struct {
	ID         int               `json:"id"`
	Title      hromadabot.Text   `json:"title"`
	Unit       hromadabot.Unit   `json:"unit"`
	Value      *float64          `json:"value"`
	Completion float64           `json:"completion"`
	Target     float64           `json:"target"`
	Status     hromadabot.Status `json:"status"`
	ReportedAt *time.Time        `json:"reported_at"`
	Evidence   string            `json:"evidence,omitempty"`
	// EvidenceFile tells that the evidence is a file kept by the bot.
	EvidenceFile bool `json:"evidence_file,omitempty"`
}

type apiCommunityScore struct {
	apiCommunity
	Year            int            `json:"year"`
	Index           float64        `json:"index"`
	PlanFulfillment float64        `json:"plan_fulfillment"`
	Rank            *int           `json:"rank"`
	Of              int            `json:"of"`
	Reported        bool           `json:"reported"`
	LastReport      *time.Time     `json:"last_report"`
	Indicators      []apiIndicator `json:"indicators"`
}

func (s *Site) apiRoutes() {
	s.api("GET /api/v1/ranking", yearParam, s.apiRanking)
	s.api("GET /api/v1/communities", nil, s.apiCommunities)
	s.api("GET /api/v1/communities/{ref}", yearParam, s.apiCommunity)
	s.api("GET /api/v1/indicators", nil, s.apiIndicators)
	s.api("GET /api/v1/scores", yearParam, s.apiScores)
	// The document is the binary's own: it needs no records.
	doc := newAnswer(&result{status: http.StatusOK, contentType: "application/json; charset=utf-8", body: openAPI, cors: true}, s.cfg.Now())
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) { s.send(w, r, doc) })
	s.mux.HandleFunc("OPTIONS /api/", preflight)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusNotFound
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			status = http.StatusMethodNotAllowed
			w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		}
		s.send(w, r, newAnswer(apiError(status, errors.New(http.StatusText(status))), s.cfg.Now()))
	})
}

// preflight answers a browser's CORS preflight: any origin may GET.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// api mounts a JSON endpoint; its errors are JSON too.
func (s *Site) api(pattern string, params []string, fn func(ctx context.Context, r *http.Request, snap *snapshot) (any, error)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serveCached(w, r, params, func(ctx context.Context, r *http.Request, snap *snapshot) (*result, error) {
			v, err := fn(ctx, r, snap)
			if err != nil {
				return nil, err
			}
			body, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			return &result{status: http.StatusOK, contentType: "application/json; charset=utf-8", body: body, cors: true}, nil
		}, func(r *http.Request, status int, err error) *result {
			return apiError(status, err)
		})
	})
}

func apiError(status int, err error) *result {
	msg := http.StatusText(status)
	var bad *badRequest
	if errors.As(err, &bad) {
		msg = bad.Error()
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"status": status, "message": msg}})
	return &result{status: status, contentType: "application/json; charset=utf-8", body: body, cors: true}
}

func (s *Site) toAPICommunity(r *http.Request, snap *snapshot, i int) apiCommunity {
	c := &snap.communities[i]
	return apiCommunity{Ref: snap.refs[i], ID: c.ID, Name: c.Name, NameLatin: hromadabot.Latin(c.Name), Type: c.Type, FullName: c.FullName,
		Oblast: c.Oblast, Raion: c.Raion, Center: c.Center, Population: c.Population, URL: s.origin(r) + s.communityHref(snap, i, hromadabot.LangUK)}
}

func (s *Site) apiRanking(ctx context.Context, r *http.Request, snap *snapshot) (any, error) {
	year, err := s.year(r)
	if err != nil {
		return nil, err
	}
	rk := snap.rankings[year]
	out := apiRanking{Year: year, GeneratedAt: snap.taken.UTC(), Total: len(rk.entries), Reported: len(snap.lastReport),
		Communities: make([]apiRankEntry, 0, len(rk.entries))}
	var silent []apiRankEntry
	for _, e := range rk.entries {
		i, ok := snap.byID[e.CommunityID]
		if !ok {
			continue
		}
		c := &snap.communities[i]
		a := apiRankEntry{Ref: snap.refs[i], ID: c.ID, Name: c.Name, NameLatin: hromadabot.Latin(c.Name), Oblast: c.Oblast, Type: c.Type,
			Index: e.Index, PlanFulfillment: e.PlanFulfillment}
		if at, ok := snap.lastReport[c.ID]; ok {
			rank, at := e.Rank, at.UTC()
			a.Rank, a.Reported, a.LastReport = &rank, true, &at
			out.Communities = append(out.Communities, a)
		} else {
			silent = append(silent, a)
		}
	}
	out.Communities = append(out.Communities, silent...)
	return out, nil
}

func (s *Site) apiCommunities(ctx context.Context, r *http.Request, snap *snapshot) (any, error) {
	out := make([]apiCommunity, len(snap.communities))
	for i := range snap.communities {
		out[i] = s.toAPICommunity(r, snap, i)
	}
	return out, nil
}

func (s *Site) apiCommunity(ctx context.Context, r *http.Request, snap *snapshot) (any, error) {
	d, year, err := s.requestedCommunity(ctx, r, snap)
	if err != nil {
		return nil, err
	}
	out := apiCommunityScore{apiCommunity: s.toAPICommunity(r, snap, snap.byRef[d.ref]), Year: year, Index: d.score.Index,
		PlanFulfillment: d.score.PlanFulfillment, Of: d.total, Reported: d.reported}
	if d.reported {
		rank, at := d.rank.Rank, d.last.UTC()
		out.Rank, out.LastReport = &rank, &at
	}
	for _, is := range d.score.Indicators {
		ind, _ := d.plan.Indicator(is.ID)
		a := apiIndicator{ID: is.ID, Title: ind.Title, Unit: ind.Unit, Value: is.Value, Completion: is.Completion, Target: is.Target, Status: is.Status}
		if rep, ok := d.latest[is.ID]; ok {
			at := rep.CreatedAt.UTC()
			a.ReportedAt = &at
			var file string
			a.Evidence, file = evidence(rep.Evidence)
			a.EvidenceFile = file != ""
		}
		out.Indicators = append(out.Indicators, a)
	}
	return out, nil
}

func (s *Site) apiIndicators(ctx context.Context, r *http.Request, snap *snapshot) (any, error) {
	return snap.plan.Indicators, nil
}

// apiScores is the open data's table of scores, as objects.
func (s *Site) apiScores(ctx context.Context, r *http.Request, snap *snapshot) (any, error) {
	d, err := s.requestedDataset(ctx, r, snap)
	if err != nil {
		return nil, err
	}
	t, err := d.Table(opendata.TableScores)
	if err != nil {
		return nil, err
	}
	rows := make([]map[string]any, len(t.Rows))
	for i, row := range t.Rows {
		m := make(map[string]any, len(row))
		for j, v := range row {
			m[t.Header[j]] = v
		}
		rows[i] = m
	}
	return map[string]any{"year": d.Year, "generated_at": snap.taken.UTC(), "scores": rows}, nil
}
