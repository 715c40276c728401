package locales

import (
	"io/fs"
	"slices"
)

// Load is load for tests: catalogues made up to show a behaviour.
func Load(fsys fs.FS) (*Catalog, error) { return load(fsys) }

// Format is format for tests, which render through go-i18n to compare.
var Format = format

// TextTemplateKeys lists the messages in lang that text/template renders
// because some form has an action other than {{.Name}}.
func (c *Catalog) TextTemplateKeys(lang string) []string {
	var keys []string
	for key, msg := range c.catalogue(lang).messages {
		for _, t := range msg {
			if t != nil && t.text != nil {
				keys = append(keys, key)
				break
			}
		}
	}
	slices.Sort(keys)
	return keys
}
