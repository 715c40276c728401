package site_test

import (
	"os"
	"strings"
	"testing"
)

func TestDumpScratch(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/", "/en/", "/hromada/" + f.bucha.Code, "/methodology", "/about", "/oblast/kyivska", "/sitemap.xml", "/robots.txt", "/en/about"} {
		_, body := f.get(t, p)
		os.WriteFile("/tmp/dump/"+strings.ReplaceAll(p, "/", "_")+".html", []byte(body), 0o644)
	}
}
