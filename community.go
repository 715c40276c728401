package hromadabot

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Community is a territorial community (hromada).
type Community struct {
	ID int64 `json:"id" db:"id"`
	// Code is the KATOTTG code (UA…); empty for a community added by hand.
	Code     string `json:"katottg,omitempty" db:"katottg"`
	Name     string `json:"name" db:"name"`
	Type     string `json:"type,omitempty" db:"type"`
	FullName string `json:"full_name,omitempty" db:"full_name"`
	Oblast   string `json:"oblast,omitempty" db:"oblast"`
	Raion    string `json:"raion,omitempty" db:"raion"`
	Center   string `json:"center,omitempty" db:"center"`
	// Population is the 2022 population, 0 when unknown.
	Population int       `json:"population,omitempty" db:"population"`
	CreatedAt  time.Time `json:"-" db:"created_at"`
}

// MaxNameLength bounds community names and other short free text.
const MaxNameLength = 100

// Validate reports the first problem with the community.
func (c *Community) Validate() error {
	c.Name = strings.TrimSpace(c.Name)
	c.Oblast = strings.TrimSpace(c.Oblast)
	switch {
	case c.Name == "":
		return FieldErrorf("name", "community_name_required", "community name is required")
	case utf8.RuneCountInString(c.Name) > MaxNameLength:
		return FieldErrorf("name", "community_name_too_long", "community name is longer than %d characters", MaxNameLength)
	case utf8.RuneCountInString(c.Oblast) > MaxNameLength:
		return FieldErrorf("oblast", "community_oblast_too_long", "oblast is longer than %d characters", MaxNameLength)
	case c.Population < 0:
		return FieldErrorf("population", "community_population_invalid", "population must not be negative")
	}
	return nil
}

// Label is the name with the oblast, which tells apart same-named
// communities: "Миколаївська (Одеська обл.)".
func (c *Community) Label() string {
	if c.Oblast == "" {
		return c.Name
	}
	return c.Name + " (" + c.Oblast + " обл.)"
}

// Ref is how files and URLs name the community: its KATOTTG code, stable
// across databases, or its id when it has none (a community added by hand).
func (c *Community) Ref() string {
	if c.Code != "" {
		return c.Code
	}
	return strconv.FormatInt(c.ID, 10)
}

// SearchKey is the normalized text a search query is matched against.
func (c *Community) SearchKey() string {
	return SearchKey(c.Name + " " + c.Center + " " + c.Oblast + " " + c.Raion)
}

//go:embed data/hromadas.csv
var hromadasCSV []byte

// Hromadas returns all 1,469 territorial communities of Ukraine from the
// embedded KATOTTG list (data/hromadas.csv).
func Hromadas() ([]Community, error) {
	return ParseHromadasCSV(bytes.NewReader(hromadasCSV))
}

// ParseHromadasCSV reads communities in the format of data/hromadas.csv.
func ParseHromadasCSV(r io.Reader) ([]Community, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	want := []string{"katottg", "name", "type", "full_name", "oblast", "raion", "center", "population_2022"}
	if strings.Join(header, ",") != strings.Join(want, ",") {
		return nil, Errorf(EINVALID, "import_header", "unexpected header %q, want %q", strings.Join(header, ","), strings.Join(want, ","))
	}
	var out []Community
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", line, err)
		}
		pop, err := strconv.Atoi(rec[7])
		if err != nil {
			return nil, Errorf(EINVALID, "import_cell", "row %d, column population_2022: %q is not a number", line, rec[7])
		}
		c := Community{Code: rec[0], Name: rec[1], Type: rec[2], FullName: rec[3], Oblast: rec[4], Raion: rec[5], Center: rec[6], Population: pop}
		if err := c.Validate(); err != nil {
			return nil, Errorf(EINVALID, "import_cell", "row %d: %s", line, ErrorMessage(err))
		}
		out = append(out, c)
	}
}
