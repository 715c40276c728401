package opendata

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
)

// WriteCSV writes one table as comma-separated UTF-8 text with a header row.
func WriteCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return fmt.Errorf("write %s header: %w", t.Name, err)
	}
	rec := make([]string, len(t.Header))
	for _, row := range t.Rows {
		for i, v := range row {
			rec[i] = cellText(v)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write %s: %w", t.Name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write %s: %w", t.Name, err)
	}
	return nil
}

// WriteJSON writes the dataset as one JSON document: the year, the time it
// was generated and every table as an array of objects whose keys are the
// table's columns, in column order.
func WriteJSON(w io.Writer, d *Dataset) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\n  \"year\": %d,\n  \"generated_at\": %q", d.Year, d.GeneratedAt.UTC().Format(time.RFC3339))
	for _, t := range d.Tables() {
		fmt.Fprintf(bw, ",\n  %q: [", t.Name)
		for i, row := range t.Rows {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n    {")
			for j, v := range row {
				if j > 0 {
					bw.WriteString(", ")
				}
				k, err := json.Marshal(t.Header[j])
				if err != nil {
					return fmt.Errorf("write %s: %w", t.Name, err)
				}
				val, err := json.Marshal(v)
				if err != nil {
					return fmt.Errorf("write %s, column %s: %w", t.Name, t.Header[j], err)
				}
				bw.Write(k)
				bw.WriteString(": ")
				bw.Write(val)
			}
			bw.WriteByte('}')
		}
		if len(t.Rows) > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteByte(']')
	}
	bw.WriteString("\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// WriteXLSX writes the dataset as a workbook with one sheet per table, in
// TableNames order, header rows frozen.
func WriteXLSX(w io.Writer, d *Dataset) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("xlsx style: %w", err)
	}
	for i, t := range d.Tables() {
		if i == 0 {
			if err := f.SetSheetName(f.GetSheetName(0), t.Name); err != nil {
				return fmt.Errorf("xlsx sheet %s: %w", t.Name, err)
			}
		} else if _, err := f.NewSheet(t.Name); err != nil {
			return fmt.Errorf("xlsx sheet %s: %w", t.Name, err)
		}
		if err := writeSheet(f, t, bold); err != nil {
			return fmt.Errorf("xlsx sheet %s: %w", t.Name, err)
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}

func writeSheet(f *excelize.File, t Table, headerStyle int) error {
	sw, err := f.NewStreamWriter(t.Name)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	header := make([]any, len(t.Header))
	for i, h := range t.Header {
		header[i] = excelize.Cell{StyleID: headerStyle, Value: h}
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	for i, row := range t.Rows {
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	return sw.Flush()
}
