package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"github.com/klauspost/compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot"
)

// result is what a handler produces: kept, compressed, while the data
// version stands.
type result struct {
	status      int
	contentType string
	body        []byte
	// disposition, when set, is the Content-Disposition of a download.
	disposition string
	// cors marks an answer any origin may read (the API and the data).
	cors bool
	// location is where a redirect points.
	location string
}

// answer is a result ready to serve.
type answer struct {
	result
	gz       []byte // the body, gzipped
	etag     string
	modified time.Time
}

func newAnswer(res *result, modified time.Time) *answer {
	a := &answer{result: *res, modified: modified}
	var buf bytes.Buffer
	buf.Grow(len(res.body)/4 + 64)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(res.body)
	_ = zw.Close()
	gzipWriters.Put(zw)
	a.gz = buf.Bytes()
	sum := sha256.Sum256(res.body)
	a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	// Only the compressed body is kept; the rare caller that takes no gzip
	// gets it decompressed as it is sent.
	a.body = nil
	return a
}

// gzipWriters are reused: a new one allocates most of a megabyte.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// producer makes a result from a snapshot.
type producer func(ctx context.Context, r *http.Request, snap *snapshot) (*result, error)

// errNotFound is a page or record that does not exist.
var errNotFound = errors.New("not found")

// serveCached serves what produce makes, from the cache while the data
// version stands; a cache miss is produced once however many ask at once.
// produce sees only the query parameters named in params, so that others
// (a tracker's, a cache buster) neither change the answer nor make a new
// one. onError renders an error as the route's kind of answer (a page,
// JSON).
func (s *Site) serveCached(w http.ResponseWriter, r *http.Request, params []string, produce producer, onError func(r *http.Request, status int, err error) *result) {
	ctx := r.Context()
	r = withParams(r, params)
	snap, err := s.snap.get(ctx)
	if err != nil {
		s.cfg.Log.ErrorContext(ctx, "site: records unreadable", "err", err)
		s.send(w, r, newAnswer(onError(r, http.StatusServiceUnavailable, err), s.cfg.Now()))
		return
	}
	key := r.URL.Path + "?" + r.URL.RawQuery
	if s.base == nil {
		// The answer's links are made from the request's Host, so one Host
		// must not get another's.
		key = s.origin(r) + key
	}
	if k, ok := s.cache.get(snap.version, key); ok {
		defer s.cache.release(k)
		s.write(w, r, &k.answer, k.size, k.reader(s.cache.mem))
		return
	}
	v, _, _ := s.cache.flight.Do(strconv.FormatInt(snap.version, 10)+" "+key, func() (any, error) {
		// As many answers are made at once as there are cores: more would
		// only hold more of the records in memory at a time, not finish
		// sooner.
		s.making <- struct{}{}
		defer func() { <-s.making }()
		res, err := produce(context.WithoutCancel(ctx), r, snap)
		var bad *badRequest
		var moved *movedTo
		switch {
		case errors.As(err, &moved):
			res = &result{status: http.StatusMovedPermanently, contentType: "text/plain; charset=utf-8", location: moved.path(r), cors: true}
		case errors.As(err, &bad):
			res = onError(r, http.StatusBadRequest, err)
		case errors.Is(err, errNotFound):
			res = onError(r, http.StatusNotFound, err)
		case err != nil:
			s.cfg.Log.ErrorContext(ctx, "site: answer not made", "path", r.URL.Path, "err", err)
			// Not kept: the next request tries again.
			return newAnswer(onError(r, http.StatusInternalServerError, err), snap.taken), nil
		}
		a := newAnswer(res, snap.taken)
		s.cache.put(snap.version, key, a)
		return a, nil
	})
	s.send(w, r, v.(*answer))
}

// cached is serveCached for a route whose errors are pages in Ukrainian,
// which any origin may read, as it may the route's answers (a chart, the
// data).
func (s *Site) cached(params []string, produce producer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.serveCached(w, r, params, produce, func(r *http.Request, status int, err error) *result {
			res := s.errorResult(r, hromadabot.LangUK, status, err)
			res.cors = true
			return res
		})
	}
}

// withParams returns r with only the named query parameters, each with its
// first value, in a canonical order.
func withParams(r *http.Request, params []string) *http.Request {
	if r.URL.RawQuery == "" {
		return r
	}
	q := r.URL.Query()
	kept := url.Values{}
	for _, p := range params {
		if v, ok := q[p]; ok {
			kept.Set(p, v[0])
		}
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = kept.Encode()
	r2.URL = &u
	return r2
}

// movedTo is a community asked for by another of its references (its id,
// its code in lower case): it is answered with a redirect to its own.
type movedTo struct{ from, to string }

func (m *movedTo) Error() string { return "community " + m.from + " is " + m.to }

// path is the request's path with the reference replaced, and its query.
func (m *movedTo) path(r *http.Request) string {
	segs := strings.Split(r.URL.Path, "/")
	for i, seg := range segs {
		if seg == m.from {
			segs[i] = m.to
			break
		}
	}
	for i := range segs {
		segs[i] = url.PathEscape(segs[i])
	}
	p := strings.Join(segs, "/")
	if r.URL.RawQuery != "" {
		p += "?" + r.URL.RawQuery
	}
	return p
}

// send writes an answer made for this request.
func (s *Site) send(w http.ResponseWriter, r *http.Request, a *answer) {
	s.write(w, r, a, len(a.gz), bytes.NewReader(a.gz))
}

// write writes an answer whose gzipped body of size bytes gz reads: 304
// when the caller has it, gzipped when it takes gzip.
func (s *Site) write(w http.ResponseWriter, r *http.Request, a *answer, size int, gz io.Reader) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Vary", "Accept-Encoding")
	if a.cors {
		h.Set("Access-Control-Allow-Origin", "*")
		// Last-Modified is readable cross-origin anyway; these are not.
		h.Set("Access-Control-Expose-Headers", "ETag, Content-Disposition")
	}
	if a.location != "" {
		h.Set("Location", a.location)
	}
	if a.status == http.StatusOK {
		h.Set("ETag", a.etag)
		h.Set("Last-Modified", a.modified.UTC().Format(http.TimeFormat))
		// Always asked again, and answered 304 while nothing changed.
		h.Set("Cache-Control", "no-cache")
		if a.disposition != "" {
			h.Set("Content-Disposition", a.disposition)
		}
		if notModified(r, a) {
			h.Del("Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else {
		h.Set("Cache-Control", "no-store")
	}
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(size))
		w.WriteHeader(a.status)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, gz)
		}
		return
	}
	w.WriteHeader(a.status)
	if r.Method == http.MethodHead {
		return
	}
	zr, err := gzip.NewReader(gz)
	if err == nil {
		_, _ = io.Copy(w, zr)
	}
}

func notModified(r *http.Request, a *answer) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == a.etag || tag == "*" {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !a.modified.Truncate(time.Second).After(t)
	}
	return false
}

// acceptsGzip reads Accept-Encoding, honouring "gzip;q=0".
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
