package centers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// rawCenter is one center as written in the file. Pointers tell an absent field (which takes
// its default) from an explicit zero: the acceptance configuration sets "minLeadMinutes": 0,
// and that must not become 120. openingHours is decoded separately so that every error can
// name the day and the range.
type rawCenter struct {
	CenterID       *string         `json:"centerId"`
	Name           *string         `json:"name"`
	Address        *string         `json:"address"`
	Timezone       *string         `json:"timezone"`
	Lanes          *int            `json:"lanes"`
	SlotMinutes    *int            `json:"slotMinutes"`
	MinLeadMinutes *int            `json:"minLeadMinutes"`
	MaxAdvanceDays *int            `json:"maxAdvanceDays"`
	OpeningHours   json.RawMessage `json:"openingHours"`
}

// Load reads and parses the --centers file. Errors are prefixed with the path, so that the
// start-up message says which file and which field is wrong.
func Load(path string) ([]Center, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is added below, once
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// Parse reads a --centers file ({"centers":[...]}, API.md "Center configuration file").
// centerId, timezone and openingHours are required; the other fields default to the built-in
// center's values. A day missing from openingHours is closed, like "sun": [].
//
// Unknown fields are refused at every level, so that a typo ("lanse", "monday") stops the
// start instead of silently running with a default. Every error names the field as a path,
// e.g. `centers[0].openingHours.mon[1]: "25:00" is not a time (HH:MM, 00:00–24:00)`.
//
// The centers returned are validated and prepared; NewCatalog accepts them as they are.
func Parse(data []byte) ([]Center, error) {
	var file struct {
		Centers []json.RawMessage `json:"centers"`
	}
	if err := decodeStrict(data, &file, "", "an object {\"centers\": [...]}"); err != nil {
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, se)
		}
		return nil, err
	}
	if len(file.Centers) == 0 {
		return nil, errors.New("centers: at least one center is required")
	}
	out := make([]Center, 0, len(file.Centers))
	for i, raw := range file.Centers {
		c, err := parseCenter(raw, fmt.Sprintf("centers[%d]", i))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	// NewCatalog repeats the per-center checks (cheap) and adds the duplicate-id check, so
	// Parse and NewCatalog cannot disagree.
	cat, err := NewCatalog(out)
	if err != nil {
		return nil, err
	}
	return cat.List(), nil
}

// parseCenter decodes one center, applies the defaults and validates it.
func parseCenter(raw json.RawMessage, at string) (Center, error) {
	var rc rawCenter
	if err := decodeStrict(raw, &rc, at, "an object"); err != nil {
		return Center{}, err
	}
	c := Center{
		Name:           DefaultName,
		Address:        DefaultAddress,
		Lanes:          DefaultLanes,
		SlotMinutes:    DefaultSlotMinutes,
		MinLeadMinutes: DefaultMinLeadMinutes,
		MaxAdvanceDays: DefaultMaxAdvanceDays,
	}
	setStr := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setStr(&c.CenterID, rc.CenterID)
	setStr(&c.Name, rc.Name)
	setStr(&c.Address, rc.Address)
	setStr(&c.Timezone, rc.Timezone)
	setInt(&c.Lanes, rc.Lanes)
	setInt(&c.SlotMinutes, rc.SlotMinutes)
	setInt(&c.MinLeadMinutes, rc.MinLeadMinutes)
	setInt(&c.MaxAdvanceDays, rc.MaxAdvanceDays)

	if oh := bytes.TrimSpace(rc.OpeningHours); len(oh) > 0 && !bytes.Equal(oh, []byte("null")) {
		hours, err := parseOpeningHours(oh, at+".openingHours")
		if err != nil {
			return Center{}, err
		}
		c.OpeningHours = hours
	}
	return prepare(c, at)
}

// parseOpeningHours decodes the openingHours object into the Center field shape, checking the
// shape of each range (exactly two strings) so the message can point at it; the times
// themselves are checked by prepare.
func parseOpeningHours(data []byte, at string) (map[string][][2]string, error) {
	var days map[string]json.RawMessage
	if err := decodeStrict(data, &days, at, "an object with keys "+strings.Join(Days, ", ")); err != nil {
		return nil, err
	}
	hours := make(map[string][][2]string, len(days))
	for day, raw := range days {
		dayAt := at + "." + day
		if _, ok := dayWeekday[day]; !ok {
			return nil, fmt.Errorf("%s: unknown day (want one of %s)", dayAt, strings.Join(Days, ", "))
		}
		var ranges []json.RawMessage
		if err := decodeStrict(raw, &ranges, dayAt, `a list of ["HH:MM", "HH:MM"] ranges`); err != nil {
			return nil, err
		}
		list := make([][2]string, 0, len(ranges))
		for i, r := range ranges {
			rAt := fmt.Sprintf("%s[%d]", dayAt, i)
			var pair []string
			if err := decodeStrict(r, &pair, rAt, `a range ["HH:MM", "HH:MM"]`); err != nil {
				return nil, err
			}
			if len(pair) != 2 {
				return nil, fmt.Errorf(`%s: want a range ["HH:MM", "HH:MM"], got %d values`, rAt, len(pair))
			}
			list = append(list, [2]string{pair[0], pair[1]})
		}
		hours[day] = list
	}
	return hours, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown object fields and trailing data,
// and turns encoding/json's errors into messages that name the field path (at, plus the field
// inside v). want describes v for a wrong-type error on v itself.
func decodeStrict(data []byte, v any, at, want string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &te):
		field := join(at, te.Field)
		if te.Field == "" {
			return fmt.Errorf("%s: want %s, got a JSON %s", orTop(field), want, te.Value)
		}
		return fmt.Errorf("%s: want %s, got a JSON %s", field, kind(te.Type.String()), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("%s: %w", orTop(at), err)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s: empty, want %s", orTop(at), want)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown field (misspelt?)", join(at, strings.Trim(name, `"`)))
	}
	return fmt.Errorf("%s: %s", orTop(at), strings.TrimPrefix(msg, "json: "))
}

// kind names a Go field type the way a configuration author thinks of it.
func kind(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "int":
		return "an integer"
	case "string":
		return "a string"
	case "[]json.RawMessage":
		return "a list"
	}
	return goType
}

func join(at, field string) string {
	switch {
	case at == "":
		return field
	case field == "":
		return at
	}
	return at + "." + field
}

func orTop(at string) string {
	if at == "" {
		return "centers file"
	}
	return at
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
