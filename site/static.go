package site

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
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

func staticFiles() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
