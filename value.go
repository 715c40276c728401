package hromadabot

import (
	"math"
	"strconv"
	"strings"
)

// ParseValue reads a value as a person types it: for a percent indicator
// "55", "55,5", "55.5%" or " 55,5 % " (0 to 100); for a yes/no indicator
// "так"/"ні" or "yes"/"no" (any case), returned as 1 or 0. The error is an
// EINVALID *Error whose Reason tells the locales what to say.
func ParseValue(unit Unit, s string) (float64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, FieldErrorf("value", "value_empty", "value is empty")
	}
	switch unit {
	case UnitYesNo:
		switch s {
		case "так", "yes", "y", "т", "✅":
			return 1, nil
		case "ні", "no", "n", "н", "❌":
			return 0, nil
		}
		if _, err := parsePercent(s); err == nil {
			return 0, FieldErrorf("value", "value_not_yesno", "value %q is a number, but this indicator takes yes or no", s)
		}
		return 0, FieldErrorf("value", "value_not_yesno", "value %q is not yes or no", s)
	case UnitPercent:
		switch s {
		case "так", "yes", "ні", "no":
			return 0, FieldErrorf("value", "value_yesno_for_percent", "value %q is yes/no, but this indicator takes a percentage from 0 to 100", s)
		}
		v, err := parsePercent(s)
		if err != nil {
			return 0, FieldErrorf("value", "value_not_number", "value %q is not a number from 0 to 100", s)
		}
		if v < 0 || v > 100 {
			return 0, FieldErrorf("value", "value_out_of_range", "value %s is out of range: a percentage must be from 0 to 100", strconv.FormatFloat(v, 'f', -1, 64))
		}
		return v, nil
	}
	return 0, Errorf(EINVALID, "unit_unknown", "unknown unit %q", unit)
}

func parsePercent(s string) (float64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	s = strings.ReplaceAll(s, ",", ".")
	s = strings.ReplaceAll(s, " ", "")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, strconv.ErrSyntax
	}
	return v, nil
}

// ValidateValue checks a value already in numeric form against the unit.
func ValidateValue(unit Unit, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return FieldErrorf("value", "value_not_number", "value is not a number")
	}
	switch unit {
	case UnitYesNo:
		if v != 0 && v != 1 {
			return FieldErrorf("value", "value_not_yesno", "a yes/no value must be 1 or 0, got %g", v)
		}
	case UnitPercent:
		if v < 0 || v > 100 {
			return FieldErrorf("value", "value_out_of_range", "value %g is out of range: a percentage must be from 0 to 100", v)
		}
	default:
		return Errorf(EINVALID, "unit_unknown", "unknown unit %q", unit)
	}
	return nil
}

// FormatNumber writes x with at most `decimals` decimals, trailing zeros
// dropped, using a comma as the decimal separator in Ukrainian ("47,3") and a
// point otherwise.
func FormatNumber(x float64, decimals int, lang string) string {
	s := strconv.FormatFloat(roundTo(x, math.Pow10(-decimals)), 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	if lang != LangEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
