package site_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
)

// agronomichna is a community of the fixture that never reported: its
// rank, last report and values are null.
const agronomichna = "UA05020010000053508"

// contract is the API's OpenAPI document as the site serves it, with a
// router that finds a request's operation in it.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

// mustContract loads and validates the document the site serves at
// /api/v1/openapi.json.
func mustContract(tb testing.TB, f *fixture) *contract {
	tb.Helper()
	resp, body := f.do(tb, http.MethodGet, "/api/v1/openapi.json")
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /api/v1/openapi.json: %d\n%s", resp.StatusCode, clipBody(string(body)))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		tb.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableMultiError()); err != nil {
		tb.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("router: %v", err)
	}
	return &contract{doc: doc, router: router}
}

// check validates an answer of the site against the operation the document
// gives its request: status, headers and body. A status the operation does
// not list is an error too.
func (c *contract) check(method, path string, resp *http.Response, body []byte) error {
	req := httptest.NewRequest(method, path, nil)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkRequest validates a request against its operation: its parameters
// are those the document lists, with the values it allows.
func (c *contract) checkRequest(path string) error {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route})
}

// schema returns the document's schema of an operation's answer.
func (c *contract) schema(tb testing.TB, path string, status int) *openapi3.Schema {
	tb.Helper()
	item := c.doc.Paths.Value(path)
	if item == nil || item.Get == nil {
		tb.Fatalf("the document has no GET %s", path)
	}
	res := item.Get.Responses.Status(status)
	if res == nil || res.Value.Content.Get("application/json") == nil {
		tb.Fatalf("the document has no JSON answer %d for GET %s", status, path)
	}
	return res.Value.Content.Get("application/json").Schema.Value
}

// undocumented lists the fields of v, at any depth, that schema s does not
// describe: the validator lets them pass, a reader of the document would
// not know them.
func undocumented(s *openapi3.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		collectProperties(s, props)
		var extra *openapi3.Schema
		if ap := s.AdditionalProperties.Schema; ap != nil {
			extra = ap.Value
		}
		free := len(props) == 0 || (s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			switch p, ok := props[k]; {
			case ok:
				out = append(out, undocumented(p, v[k], at+"."+k)...)
			case extra != nil:
				out = append(out, undocumented(extra, v[k], at+"."+k)...)
			case !free:
				out = append(out, at+"."+k)
			}
		}
	case []any:
		if s.Items != nil {
			for i, x := range v {
				out = append(out, undocumented(s.Items.Value, x, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	}
	return out
}

func collectProperties(s *openapi3.Schema, into map[string]*openapi3.Schema) {
	for k, p := range s.Properties {
		into[k] = p.Value
	}
	for _, sub := range s.AllOf {
		collectProperties(sub.Value, into)
	}
}

// handAdded adds a community without a KATOTTG code, type, oblast or
// population: its reference is its id, and its optional fields are absent.
func (f *fixture) handAdded(tb testing.TB) *hromadabot.Community {
	tb.Helper()
	c := &hromadabot.Community{Name: "Тестова"}
	if err := f.db.CreateCommunity(context.Background(), c, "test"); err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestOpenAPIDocument(t *testing.T) {
	f := newFixture(t)
	c := mustContract(t, f)

	t.Run("Version", func(t *testing.T) {
		if c.doc.OpenAPI != "3.1.0" || !c.doc.IsOpenAPI31OrLater() {
			t.Errorf("openapi %q, want 3.1.0", c.doc.OpenAPI)
		}
		if c.doc.Info.Version != "1" || c.doc.Info.Title == "" {
			t.Errorf("info: title %q, version %q", c.doc.Info.Title, c.doc.Info.Version)
		}
		for _, s := range []string{"/data/communities.csv", "/data/indicators.csv", "/data/values.csv", "/data/scores.csv", "/data/opendata.json", "/data/opendata.xlsx", "open"} {
			if !strings.Contains(c.doc.Info.Description, s) {
				t.Errorf("info.description does not mention %q", s)
			}
		}
	})

	// The years the document allows are those the site takes: the plan's
	// target years.
	t.Run("YearsArePlanYears", func(t *testing.T) {
		want := targetYears(f.db.DefaultPlan())
		p := c.doc.Components.Parameters["year"]
		if p == nil {
			t.Fatal("no year parameter")
		}
		var got []int
		for _, v := range p.Value.Schema.Value.Enum {
			n, _ := v.(float64)
			got = append(got, int(n))
		}
		if !slices.Equal(got, want) {
			t.Errorf("year enum %v, want the plan's years %v", got, want)
		}
		if span := strconv.Itoa(want[0]) + "–" + strconv.Itoa(want[len(want)-1]); !strings.Contains(p.Value.Description, span) {
			t.Errorf("the year's description does not say %s: %q", span, p.Value.Description)
		}
		for _, y := range want {
			if !strings.Contains(c.doc.Info.Description, strconv.Itoa(y)) {
				t.Errorf("info.description does not name the year %d", y)
			}
		}
	})

	// The validator must reject what the document forbids, or every other
	// test here passes for nothing.
	t.Run("SchemasReject", func(t *testing.T) {
		path := "/api/v1/communities/" + agronomichna
		resp, body := f.do(t, http.MethodGet, path)
		if err := c.check(http.MethodGet, path, resp, body); err != nil {
			t.Fatalf("the unchanged answer does not validate: %v", err)
		}
		for _, tc := range []struct {
			name   string
			change func(m map[string]any)
		}{
			{"RankNotANumber", func(m map[string]any) { m["rank"] = "1" }},
			{"RankZero", func(m map[string]any) { m["rank"] = 0 }},
			{"IndexAbove100", func(m map[string]any) { m["index"] = 100.5 }},
			{"IndexNull", func(m map[string]any) { m["index"] = nil }},
			{"LastReportMissing", func(m map[string]any) { delete(m, "last_report") }},
			{"LastReportNotATime", func(m map[string]any) { m["last_report"] = "yesterday" }},
			{"NameMissing", func(m map[string]any) { delete(m, "name") }},
			{"ValueNotANumber", func(m map[string]any) { m["indicators"].([]any)[0].(map[string]any)["value"] = "50" }},
			{"ValueMissing", func(m map[string]any) { delete(m["indicators"].([]any)[0].(map[string]any), "value") }},
			{"StatusUnknown", func(m map[string]any) { m["indicators"].([]any)[0].(map[string]any)["status"] = "late" }},
			{"CompletionAbove1", func(m map[string]any) { m["indicators"].([]any)[0].(map[string]any)["completion"] = 50 }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil {
					t.Fatal(err)
				}
				tc.change(m)
				changed, _ := json.Marshal(m)
				if err := c.check(http.MethodGet, path, resp, changed); err == nil {
					t.Errorf("validates: %s", clipBody(string(changed)))
				}
			})
		}
		t.Run("HeaderMissing", func(t *testing.T) {
			h := resp.Header.Clone()
			h.Del("ETag")
			if err := c.check(http.MethodGet, path, &http.Response{StatusCode: resp.StatusCode, Header: h}, body); err == nil {
				t.Error("an answer without ETag validates")
			}
		})
		t.Run("FieldUndocumented", func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			m["extra"] = 1
			m["indicators"].([]any)[2].(map[string]any)["weight"] = 1
			got := undocumented(c.schema(t, "/api/v1/communities/{ref}", http.StatusOK), m, "$")
			if want := []string{"$.extra", "$.indicators[2].weight"}; !slices.Equal(got, want) {
				t.Errorf("undocumented fields %v, want %v", got, want)
			}
		})
		t.Run("StatusUndocumented", func(t *testing.T) {
			if err := c.check(http.MethodGet, path, &http.Response{StatusCode: http.StatusTeapot, Header: resp.Header}, body); err == nil {
				t.Error("status 418 validates")
			}
		})
	})
}

// TestAPIRoutesDocumented checks that the routes the site serves under
// /api/ and the document's paths are the same. The site's mux is not
// exported: its GET patterns are read from the package's source.
func TestAPIRoutesDocumented(t *testing.T) {
	f := newFixture(t)
	c := mustContract(t, f)
	served := servedAPIRoutes(t)
	if len(served) == 0 {
		t.Fatal("no GET /api/ pattern found in the package's source")
	}
	documented := slices.Sorted(func(yield func(string) bool) {
		for path, item := range c.doc.Paths.Map() {
			if item.Get != nil && !yield(path) {
				return
			}
		}
	})
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("GET %s is served but not documented", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("GET %s is documented but not served", p)
		}
	}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			if method != http.MethodGet {
				t.Errorf("%s %s is documented: the API is read-only", method, path)
			}
		}
	}
}

// servedAPIRoutes returns the paths of the package's "GET /api/…" patterns.
func servedAPIRoutes(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		tb.Fatal(err)
	}
	var paths []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			tb.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && strings.HasPrefix(s, "GET /api/") {
				paths = append(paths, strings.TrimPrefix(s, "GET "))
			}
			return true
		})
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// TestAPIAnswersMatchDocument requests every documented path, with every
// kind of community for {ref} and with each year for a ?year, and checks
// that the request is one the document allows and the answer is 200,
// validates against the document (headers and body), has no field the
// document does not describe, is the same body without gzip, is answered
// 304 when asked again with its ETag, and 200 without a body to HEAD.
func TestAPIAnswersMatchDocument(t *testing.T) {
	f := newFixture(t)
	hand := f.handAdded(t)
	c := mustContract(t, f)
	refs := []struct{ name, ref string }{
		{"Reported", f.bucha.Code},
		{"NoReport", agronomichna},
		{"NoCode", strconv.FormatInt(hand.ID, 10)},
	}
	type request struct{ name, path string }
	var requests []request
	for _, path := range c.doc.Paths.InMatchingOrder() {
		op := c.doc.Paths.Value(path).Get
		if op == nil {
			continue
		}
		variants := []request{{path, path}}
		if strings.Contains(path, "{ref}") {
			variants = nil
			for _, r := range refs {
				variants = append(variants, request{path + "/" + r.name, strings.ReplaceAll(path, "{ref}", r.ref)})
			}
		}
		for _, v := range variants {
			requests = append(requests, v)
			if op.Parameters.GetByInAndName(openapi3.ParameterInQuery, "year") != nil {
				for _, y := range targetYears(f.db.DefaultPlan()) {
					requests = append(requests, request{v.name + "?year=" + strconv.Itoa(y), v.path + "?year=" + strconv.Itoa(y)})
				}
			}
		}
	}
	if len(requests) < 6 {
		t.Fatalf("only %d requests from the document", len(requests))
	}
	for _, rq := range requests {
		t.Run(strings.TrimPrefix(rq.name, "/api/v1/"), func(t *testing.T) {
			if err := c.checkRequest(rq.path); err != nil {
				t.Errorf("the request does not match the document: %v", err)
			}
			resp, body := f.do(t, http.MethodGet, rq.path, "Accept-Encoding: gzip")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d\n%s", rq.path, resp.StatusCode, clipBody(string(body)))
			}
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			if err := c.check(http.MethodGet, rq.path, resp, body); err != nil {
				t.Errorf("GET %s does not match the document: %v", rq.path, err)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			route, _, _ := c.router.FindRoute(httptest.NewRequest(http.MethodGet, rq.path, nil))
			if extra := undocumented(c.schema(t, route.Path, http.StatusOK), v, "$"); len(extra) > 0 {
				t.Errorf("GET %s: fields the document does not describe: %v", rq.path, extra[:min(len(extra), 10)])
			}

			plain, same := f.do(t, http.MethodGet, rq.path, "Accept-Encoding: identity")
			if plain.StatusCode != http.StatusOK || plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(same, body) ||
				plain.Header.Get("ETag") != resp.Header.Get("ETag") {
				t.Errorf("without gzip: %d, Content-Encoding %q, ETag %s, the same body %v", plain.StatusCode,
					plain.Header.Get("Content-Encoding"), plain.Header.Get("ETag"), bytes.Equal(same, body))
			}
			again, rest := f.do(t, http.MethodGet, rq.path, "If-None-Match: "+resp.Header.Get("ETag"))
			if again.StatusCode != http.StatusNotModified || len(rest) != 0 || again.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("If-None-Match: %d with %d bytes, Access-Control-Allow-Origin %q; want 304, no body and *",
					again.StatusCode, len(rest), again.Header.Get("Access-Control-Allow-Origin"))
			}
			head, rest := f.do(t, http.MethodHead, rq.path)
			if head.StatusCode != http.StatusOK || len(rest) != 0 || head.Header.Get("ETag") != resp.Header.Get("ETag") {
				t.Errorf("HEAD: %d with %d bytes and ETag %s, want 200, no body and %s", head.StatusCode, len(rest), head.Header.Get("ETag"), resp.Header.Get("ETag"))
			}
		})
	}
}

// TestAPIErrors checks that what the API cannot answer is the error object
// in JSON, with the status in it and CORS, and matches the document where
// the path is documented.
func TestAPIErrors(t *testing.T) {
	f := newFixture(t)
	c := mustContract(t, f)
	errorSchema := c.doc.Components.Schemas["Error"].Value
	for _, tc := range []struct {
		name, method, path string
		status             int
		// documented: the answer is one of the path's documented answers.
		documented bool
		message    string
	}{
		{"BadYear", http.MethodGet, "/api/v1/ranking?year=1999", 400, true, `parameter year: "1999" is not a valid value`},
		{"YearNotANumber", http.MethodGet, "/api/v1/scores?year=next", 400, true, `parameter year: "next" is not a valid value`},
		{"YearPastThePlan", http.MethodGet, "/api/v1/communities/" + agronomichna + "?year=2028", 400, true, `parameter year: "2028" is not a valid value`},
		{"UnknownRef", http.MethodGet, "/api/v1/communities/UA00000000000000000", 404, true, "Not Found"},
		{"UnknownID", http.MethodGet, "/api/v1/communities/999999", 404, true, "Not Found"},
		{"UnknownPath", http.MethodGet, "/api/v1/nope", 404, false, "Not Found"},
		{"UnknownVersion", http.MethodGet, "/api/v2/ranking", 404, false, "Not Found"},
		{"Post", http.MethodPost, "/api/v1/ranking", 405, false, "Method Not Allowed"},
		{"Delete", http.MethodDelete, "/api/v1/communities/" + agronomichna, 405, false, "Method Not Allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, tc.method, tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %d, want %d\n%s", tc.method, tc.path, resp.StatusCode, tc.status, clipBody(string(body)))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Access-Control-Allow-Origin %q, Cache-Control %q; want * and no-store",
					resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Cache-Control"))
			}
			if tc.documented {
				if err := c.check(tc.method, tc.path, resp, body); err != nil {
					t.Errorf("does not match the document: %v", err)
				}
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, body)
			}
			if err := errorSchema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("not the error object: %v\n%s", err, body)
			}
			var e struct {
				Error struct {
					Status  int
					Message string
				}
			}
			_ = json.Unmarshal(body, &e)
			if e.Error.Status != tc.status || e.Error.Message != tc.message {
				t.Errorf("error %+v, want status %d and message %q", e.Error, tc.status, tc.message)
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
		})
	}
}

// TestAPICORS checks that any origin may read every answer, and that a
// browser's preflight is answered with what it may send.
func TestAPICORS(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/v1/ranking", "/api/v1/communities", "/api/v1/communities/" + f.bucha.Code, "/api/v1/indicators", "/api/v1/scores", "/api/v1/openapi.json"} {
		t.Run("GET"+strings.TrimPrefix(path, "/api/v1"), func(t *testing.T) {
			resp, _ := f.do(t, http.MethodGet, path, "Origin: https://example.org")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%d, Access-Control-Allow-Origin %q, want 200 and *", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			// A poller in a browser reads the ETag to ask with If-None-Match.
			if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "ETag") {
				t.Errorf("Access-Control-Expose-Headers %q, want ETag in it", got)
			}
		})
		t.Run("Preflight"+strings.TrimPrefix(path, "/api/v1"), func(t *testing.T) {
			resp, body := f.do(t, http.MethodOptions, path, "Origin: https://example.org", "Access-Control-Request-Method: GET",
				"Access-Control-Request-Headers: if-none-match")
			if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
				t.Fatalf("OPTIONS %s: %d with %d bytes, want 204 and no body", path, resp.StatusCode, len(body))
			}
			for k, want := range map[string]string{
				"Access-Control-Allow-Origin":  "*",
				"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
				"Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
				"Access-Control-Max-Age":       "86400",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestCORSOnErrors checks that a script of another origin can read why the
// API, a download or a chart was refused.
func TestCORSOnErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v1/ranking?year=1999", http.StatusBadRequest},
		{"/api/v1/communities/nothing", http.StatusNotFound},
		{"/data/nothing.csv", http.StatusNotFound},
		{"/data/scores.csv?year=1999", http.StatusBadRequest},
		{"/chart/" + f.bucha.Code + "/1999.png", http.StatusBadRequest},
	} {
		resp, _ := f.do(t, http.MethodGet, tc.path, "Origin: https://example.org")
		if resp.StatusCode != tc.status || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: %d, Access-Control-Allow-Origin %q, want %d and *", tc.path, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), tc.status)
		}
	}
}

// TestAPIFigures checks the API's figures against the records'.
func TestAPIFigures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reported := map[int64]bool{f.bucha.ID: true, f.lviv.ID: true, f.irpin.ID: true}
	last, err := f.db.LastReportTimes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	years := targetYears(f.db.DefaultPlan())
	for _, tc := range []struct {
		name  string
		query string
		year  int
	}{
		{"DefaultYear", "", hromadabot.CurrentYear(testNow)},
		{"2025", "?year=2025", 2025},
		{"2026", "?year=2026", 2026},
		{"2027", "?year=2027", 2027},
	} {
		if !slices.Contains(years, tc.year) {
			t.Fatalf("%d is not a year of the plan %v", tc.year, years)
		}
		ranking, err := f.db.Ranking(ctx, tc.year)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("Ranking/"+tc.name, func(t *testing.T) {
			var got struct {
				Year            int
				Total, Reported int
				Communities     []struct {
					ID              int64   `json:"community_id"`
					Index           float64 `json:"index"`
					PlanFulfillment float64 `json:"plan_fulfillment"`
					Rank            *int    `json:"rank"`
					Reported        bool    `json:"reported"`
					LastReport      *string `json:"last_report"`
				}
			}
			mustGetJSON(t, f, "/api/v1/ranking"+tc.query, &got)
			if got.Year != tc.year || got.Total != len(ranking) || got.Reported != len(reported) || len(got.Communities) != len(ranking) {
				t.Fatalf("year %d, total %d, reported %d, %d communities; want %d, %d, %d, %d",
					got.Year, got.Total, got.Reported, len(got.Communities), tc.year, len(ranking), len(reported), len(ranking))
			}
			seen := map[int64]bool{}
			silent := false // whether a community that has not reported came yet
			for _, e := range got.Communities {
				if seen[e.ID] {
					t.Errorf("community %d listed twice", e.ID)
				}
				seen[e.ID] = true
				want, ok := ranking.Find(e.ID)
				if !ok {
					t.Errorf("community %d is not in the records' ranking", e.ID)
					continue
				}
				if e.Index != want.Index || e.PlanFulfillment != want.PlanFulfillment {
					t.Errorf("community %d: index %v, plan fulfillment %v; the records give %v, %v", e.ID, e.Index, e.PlanFulfillment, want.Index, want.PlanFulfillment)
				}
				if e.Reported != reported[e.ID] {
					t.Errorf("community %d: reported %v", e.ID, e.Reported)
				}
				if e.Reported && silent {
					t.Errorf("community %d has reported but comes after one that has not", e.ID)
				}
				silent = silent || !e.Reported
				switch {
				case reported[e.ID]:
					if e.Rank == nil || *e.Rank != want.Rank {
						t.Errorf("community %d: rank %v, the records give %d", e.ID, e.Rank, want.Rank)
					}
					if e.LastReport == nil || *e.LastReport != last[e.ID].UTC().Format(time.RFC3339) {
						t.Errorf("community %d: last report %v, the records give %v", e.ID, e.LastReport, last[e.ID])
					}
					score, err := f.db.Score(ctx, e.ID, tc.year)
					if err != nil {
						t.Fatal(err)
					}
					if e.Index != score.Index || e.PlanFulfillment != score.PlanFulfillment {
						t.Errorf("community %d: index %v, plan fulfillment %v; its score gives %v, %v", e.ID, e.Index, e.PlanFulfillment, score.Index, score.PlanFulfillment)
					}
				default:
					if e.Rank != nil || e.LastReport != nil {
						t.Errorf("community %d has not reported: rank %d, last report %v, want null", e.ID, deref(e.Rank), e.LastReport)
					}
				}
			}
		})
		t.Run("Community/"+tc.name, func(t *testing.T) {
			for _, c := range []*hromadabot.Community{f.bucha, f.lviv, f.irpin, mustFind(t, f, agronomichna)} {
				var got struct {
					Ref             string  `json:"community"`
					ID              int64   `json:"community_id"`
					Year            int     `json:"year"`
					Index           float64 `json:"index"`
					PlanFulfillment float64 `json:"plan_fulfillment"`
					Rank            *int    `json:"rank"`
					Of              int     `json:"of"`
					Reported        bool    `json:"reported"`
					Indicators      []struct {
						ID         int               `json:"id"`
						Value      *float64          `json:"value"`
						Completion float64           `json:"completion"`
						Target     float64           `json:"target"`
						Status     hromadabot.Status `json:"status"`
						Unit       hromadabot.Unit   `json:"unit"`
						ReportedAt *time.Time        `json:"reported_at"`
					} `json:"indicators"`
				}
				mustGetJSON(t, f, "/api/v1/communities/"+c.Code+tc.query, &got)
				score, err := f.db.Score(ctx, c.ID, tc.year)
				if err != nil {
					t.Fatal(err)
				}
				if got.Ref != c.Code || got.ID != c.ID || got.Year != tc.year || got.Of != len(ranking) {
					t.Errorf("%s: community %q, id %d, year %d, of %d", c.Name, got.Ref, got.ID, got.Year, got.Of)
				}
				if got.Index != score.Index || got.PlanFulfillment != score.PlanFulfillment {
					t.Errorf("%s: index %v, plan fulfillment %v; its score gives %v, %v", c.Name, got.Index, got.PlanFulfillment, score.Index, score.PlanFulfillment)
				}
				entry, _ := ranking.Find(c.ID)
				switch {
				case got.Reported != reported[c.ID]:
					t.Errorf("%s: reported %v", c.Name, got.Reported)
				case reported[c.ID] && (got.Rank == nil || *got.Rank != entry.Rank):
					t.Errorf("%s: rank %v, the records give %d", c.Name, got.Rank, entry.Rank)
				case !reported[c.ID] && got.Rank != nil:
					t.Errorf("%s has not reported: rank %d, want null", c.Name, *got.Rank)
				}
				if len(got.Indicators) != len(score.Indicators) {
					t.Fatalf("%s: %d indicators, its score has %d", c.Name, len(got.Indicators), len(score.Indicators))
				}
				for i, want := range score.Indicators {
					g := got.Indicators[i]
					if g.ID != want.ID || g.Completion != want.Completion || g.Target != want.Target || g.Status != want.Status ||
						(g.Value == nil) != (want.Value == nil) || (g.Value != nil && *g.Value != *want.Value) {
						t.Errorf("%s: indicator %+v, its score gives %+v", c.Name, g, want)
					}
					if (g.ReportedAt == nil) != (want.Value == nil) {
						t.Errorf("%s: indicator %d: reported at %v with value %v", c.Name, g.ID, g.ReportedAt, want.Value)
					}
				}
			}
		})
	}
}

// TestAPIScores checks /api/v1/scores against the open data's scores
// table, row for row and cell for cell.
func TestAPIScores(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		query string
		year  int
	}{
		{"DefaultYear", "", hromadabot.CurrentYear(testNow)},
		{"2025", "?year=2025", 2025},
		{"2026", "?year=2026", 2026},
		{"2027", "?year=2027", 2027},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := opendata.Assemble(ctx, f.db, tc.year, testNow)
			if err != nil {
				t.Fatal(err)
			}
			table, err := d.Table(opendata.TableScores)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Year   int                          `json:"year"`
				Scores []map[string]json.RawMessage `json:"scores"`
			}
			mustGetJSON(t, f, "/api/v1/scores"+tc.query, &got)
			if got.Year != tc.year {
				t.Errorf("year %d, want %d", got.Year, tc.year)
			}
			if len(got.Scores) != len(table.Rows) {
				t.Fatalf("%d rows, the open data has %d", len(got.Scores), len(table.Rows))
			}
			for i, row := range table.Rows {
				if len(got.Scores[i]) != len(table.Header) {
					t.Errorf("row %d: fields %v, the open data's columns are %v", i, slices.Sorted(maps.Keys(got.Scores[i])), table.Header)
				}
				for j, col := range table.Header {
					want, err := json.Marshal(row[j])
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got.Scores[i][col], want) {
						t.Errorf("row %d, %s: %s, the open data has %s", i, col, got.Scores[i][col], want)
					}
				}
			}
		})
	}
}

// targetYears are the years the plan has targets for, ascending: the
// years the site takes.
func targetYears(p hromadabot.Plan) []int {
	var years []int
	for _, ind := range p.Indicators {
		years = append(years, ind.Targets.Years()...)
	}
	slices.Sort(years)
	return slices.Compact(years)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func mustFind(tb testing.TB, f *fixture, ref string) *hromadabot.Community {
	tb.Helper()
	c, err := f.db.FindCommunity(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustGetJSON fetches a path that must answer 200 and decodes its body
// into v.
func mustGetJSON(tb testing.TB, f *fixture, path string, v any) {
	tb.Helper()
	resp, body := f.do(tb, http.MethodGet, path, "Accept-Encoding: gzip")
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, clipBody(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

// TestAPIRankingAgreesWithScores checks that the two lists of a year's
// places give every community the same place in the same order: a
// community that has not reported has none in either.
func TestAPIRankingAgreesWithScores(t *testing.T) {
	f := newFixture(t)
	for _, year := range targetYears(f.db.DefaultPlan()) {
		t.Run(strconv.Itoa(year), func(t *testing.T) {
			q := "?year=" + strconv.Itoa(year)
			var ranking struct {
				Communities []struct {
					ID       int64 `json:"community_id"`
					Rank     *int  `json:"rank"`
					Reported bool  `json:"reported"`
				} `json:"communities"`
			}
			var scores struct {
				Scores []struct {
					ID   int64 `json:"community_id"`
					Rank *int  `json:"rank"`
				} `json:"scores"`
			}
			mustGetJSON(t, f, "/api/v1/ranking"+q, &ranking)
			mustGetJSON(t, f, "/api/v1/scores"+q, &scores)
			if len(ranking.Communities) != len(scores.Scores) {
				t.Fatalf("ranking has %d communities, scores %d", len(ranking.Communities), len(scores.Scores))
			}
			silent := 0
			for i, r := range ranking.Communities {
				s := scores.Scores[i]
				if r.ID != s.ID || fmt.Sprint(deref(r.Rank)) != fmt.Sprint(deref(s.Rank)) {
					t.Errorf("place %d: ranking has community %d at rank %v, scores community %d at rank %v", i+1, r.ID, deref(r.Rank), s.ID, deref(s.Rank))
				}
				if r.Reported != (r.Rank != nil) {
					t.Errorf("community %d: reported %v with rank %v", r.ID, r.Reported, deref(r.Rank))
				}
				if !r.Reported {
					silent++
				}
			}
			if silent == 0 || silent == len(ranking.Communities) {
				t.Errorf("%d of %d communities have not reported: the fixture should have both kinds", silent, len(ranking.Communities))
			}
		})
	}
}

// TestAPIEvidence checks how the API shows a value's evidence: a link as
// itself, a file sent to the bot only as there being one, never its id.
func TestAPIEvidence(t *testing.T) {
	f := newFixture(t)
	const fileID = "telegram:file:AgACAgIAAxkBAAIC"
	if err := f.db.CreateReports(context.Background(), []hromadabot.Report{{CommunityID: f.lviv.ID, IndicatorID: 7, Value: 40,
		Source: hromadabot.SourceImport, CreatedAt: testNow.AddDate(0, 0, -1), Evidence: fileID}}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c         *hromadabot.Community
		indicator int
		link      string
		file      bool
	}{
		{f.bucha, 11, "https://bucha.example/metadata?a=1&b=2", false},
		{f.lviv, 7, "", true},
		{f.lviv, 2, "", false},
	} {
		type indicator struct {
			ID           int    `json:"id"`
			Evidence     string `json:"evidence"`
			EvidenceFile bool   `json:"evidence_file"`
		}
		var got struct {
			Indicators []indicator `json:"indicators"`
		}
		resp, body := f.do(t, http.MethodGet, "/api/v1/communities/"+tc.c.Code)
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", tc.c.Name, resp.StatusCode, err)
		}
		if bytes.Contains(body, []byte("AgACAgIAAxkBAAIC")) {
			t.Errorf("%s: the file's id is published", tc.c.Name)
		}
		i := slices.IndexFunc(got.Indicators, func(ind indicator) bool { return ind.ID == tc.indicator })
		if i < 0 {
			t.Fatalf("%s: no indicator %d", tc.c.Name, tc.indicator)
		}
		if g := got.Indicators[i]; g.Evidence != tc.link || g.EvidenceFile != tc.file {
			t.Errorf("%s, indicator %d: evidence %q, file %v; want %q, %v", tc.c.Name, tc.indicator, g.Evidence, g.EvidenceFile, tc.link, tc.file)
		}
	}
}
