package viber

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
)

// mediaSigner signs the paths of served pictures: a path carries the
// file's id, when it expires and a MAC of both, so that any process of the
// bot (they share the token and the records) serves it without keeping a
// list, and nobody can make a path that the bot did not hand out.
type mediaSigner struct {
	key []byte
}

// path is base + "<id>.<expires>.<mac>.png".
func (m mediaSigner) path(base, id string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return base + id + "." + exp + "." + m.mac(id, exp) + ".png"
}

func (m mediaSigner) mac(id, exp string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(id + "." + exp))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// check returns the file id a served name stands for, false when the name
// was not made by path or has expired. The MAC is compared in constant time.
func (m mediaSigner) check(name string, now time.Time) (string, bool) {
	rest, ok := strings.CutSuffix(name, ".png")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return "", false
	}
	id, exp, mac := parts[0], parts[1], parts[2]
	if !hmac.Equal([]byte(mac), []byte(m.mac(id, exp))) {
		return "", false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.After(time.Unix(unix, 0)) {
		return "", false
	}
	return id, true
}

// MediaHandler serves the pictures that messages point Viber to, at the
// paths of MediaPattern; a path that is not signed, or has expired, is 404.
func (c *Channel) MediaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := c.media.check(r.PathValue("name"), c.now())
		if !ok {
			http.NotFound(w, r)
			return
		}
		f := c.served.get(id)
		var err error
		if f == nil {
			f, err = c.cfg.Files.File(r.Context(), id)
		}
		if err != nil {
			if hromadabot.ErrorCode(err) != hromadabot.ENOTFOUND {
				c.log.ErrorContext(r.Context(), "viber: read picture", "file", id, "err", err)
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(f.Data)))
		h.Set("Cache-Control", "public, max-age=86400, immutable")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(f.Data)
		}
	})
}
