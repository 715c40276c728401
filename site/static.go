package site

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/hromadabot/hromadabot"
)

//go:embed static
var staticFS embed.FS

// assetVersion changes with the style sheet, so that it may be cached for
// long: pages link it with ?v=.
var assetVersion = func() string {
	css, err := staticFS.ReadFile("static/site.css")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(css)
	return hex.EncodeToString(sum[:6])
}()

func (s *Site) staticFiles() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			// No listings: the site's files are linked from its pages.
			s.errorPage(w, r, hromadabot.LangUK, http.StatusNotFound, "")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
