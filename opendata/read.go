package opendata

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/hromadabot/hromadabot"
)

// MaxFileSize bounds an imported file; a plan or a year of reports is a
// few kilobytes, so anything near this is a mistake.
const MaxFileSize = 32 << 20

// Sheet is a table read from a file: its header and its data rows.
type Sheet struct {
	Header []string
	// Rows are the data rows; Rows[i] is row Lines[i] of the file, counting
	// the header as row 1, as a spreadsheet does. Blank rows are left out.
	Rows  [][]string
	Lines []int
	// Digest identifies the file's content, so that importing the same
	// file twice stores its reports once.
	Digest string
}

// ReadSheet reads a CSV or XLSX file, chosen by the name's extension. A CSV
// may be separated by commas, semicolons (Excel in a Ukrainian locale) or
// tabs and may start with a byte order mark. From a workbook it reads the
// sheet named "values" if there is one (as the export writes), else the
// first sheet.
func ReadSheet(name string, r io.Reader) (*Sheet, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_too_large", "file is larger than %d MiB", MaxFileSize>>20)
	}
	var rows [][]string
	switch FormatOf(name) {
	case CSV:
		rows, err = readCSV(data)
	case XLSX:
		rows, err = readXLSX(data)
	default:
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_format", "file name must end in .csv or .xlsx")
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	s := &Sheet{Digest: hex.EncodeToString(sum[:8])}
	for i, row := range rows {
		for j := range row {
			row[j] = strings.TrimSpace(row[j])
		}
		if blank(row) {
			continue
		}
		if s.Header == nil {
			if i != 0 {
				return nil, cellErrorf(1, "", "the header must be in row 1")
			}
			s.Header = row
			continue
		}
		s.Rows = append(s.Rows, row)
		s.Lines = append(s.Lines, i+1)
	}
	if s.Header == nil {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_empty", "file is empty: it needs a header row and at least one data row")
	}
	return s, nil
}

func blank(row []string) bool {
	for _, c := range row {
		if c != "" {
			return false
		}
	}
	return true
}

func readCSV(data []byte) ([][]string, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = sniffComma(data)
	cr.FieldsPerRecord = -1
	var rows [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_csv", "row %d: malformed CSV: %v", pe.StartLine, pe.Err)
			}
			return nil, fmt.Errorf("read csv: %w", err)
		}
		// csv skips empty lines; keep row numbers those of the file.
		line, _ := cr.FieldPos(0)
		for len(rows) < line-1 {
			rows = append(rows, nil)
		}
		rows = append(rows, rec)
	}
}

// sniffComma picks the separator that occurs most often in the first line.
func sniffComma(data []byte) rune {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	best, n := ',', bytes.Count(first, []byte(","))
	for _, c := range []rune{';', '\t'} {
		if m := bytes.Count(first, []byte(string(c))); m > n {
			best, n = c, m
		}
	}
	return best
}

func readXLSX(data []byte) ([][]string, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: 4 * MaxFileSize, UnzipXMLSizeLimit: MaxFileSize})
	if err != nil {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_xlsx", "not a readable XLSX workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_xlsx", "the workbook has no sheets")
	}
	sheet := sheets[0]
	for _, s := range sheets {
		if strings.EqualFold(s, TableValues) {
			sheet = s
		}
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_xlsx", "sheet %q: %v", sheet, err)
	}
	return rows, nil
}
