package codecs

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// optional lists the data fields of catalog examples that may be absent.
var optional = map[string][]string{
	TypeInspectionCheckpointCompleted: {"notes", "photos"},
	TypeNotificationSent:              {"subject", "providerMessageId"},
}

type schemaDoc struct {
	Schema     string                     `json:"$schema"`
	Title      string                     `json:"title"`
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
	Defs       map[string]json.RawMessage `json:"$defs"`
}

type dataSchema struct {
	Required             []string                   `json:"required"`
	Properties           map[string]json.RawMessage `json:"properties"`
	AdditionalProperties bool                       `json:"additionalProperties"`
}

func loadSchema(t *testing.T, typ string) (schemaDoc, dataSchema) {
	t.Helper()
	b, ok := Schema(typ)
	if !ok {
		t.Fatalf("Schema(%q) missing", typ)
	}
	var doc schemaDoc
	var data dataSchema
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc.Properties["data"], &data); err != nil {
		t.Fatal(err)
	}
	return doc, data
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSchemaFilesMatchTypes(t *testing.T) {
	entries, err := os.ReadDir("schemas")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, strings.TrimSuffix(e.Name(), ".json"))
	}
	want := slices.Sorted(slices.Values(Types()))
	if !slices.Equal(files, want) {
		t.Errorf("schema files %v, want one per type %v", files, want)
	}
	if _, ok := Schema("user.deleted"); ok {
		t.Error("Schema(unknown) reported a schema")
	}
}

func TestSchemaIsACopy(t *testing.T) {
	a, _ := Schema(TypeUserRegistered)
	clear(a)
	b, _ := Schema(TypeUserRegistered)
	if !json.Valid(b) {
		t.Error("changing a returned schema changed the package's copy")
	}
}

// The envelope is repeated in every file so each can be served alone; this
// keeps the copies identical.
func TestSchemasShareTheEnvelope(t *testing.T) {
	first, _ := loadSchema(t, TypeUserRegistered)
	for _, typ := range Types() {
		doc, _ := loadSchema(t, typ)
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.Title != typ {
			t.Errorf("%s: $schema %q, title %q", typ, doc.Schema, doc.Title)
		}
		if c := compact(t, doc.Properties["eventType"]); c != `{"const":"`+typ+`"}` {
			t.Errorf("%s: eventType %s", typ, c)
		}
		if !slices.Equal(doc.Required, []string{"eventType", "eventId", "timestamp", "version", "data"}) {
			t.Errorf("%s: envelope requires %v", typ, doc.Required)
		}
		for _, p := range []string{"eventId", "timestamp", "version"} {
			if compact(t, doc.Properties[p]) != compact(t, first.Properties[p]) {
				t.Errorf("%s: %s differs from %s's", typ, p, TypeUserRegistered)
			}
		}
		for name, def := range doc.Defs {
			if other, ok := first.Defs[name]; ok && compact(t, other) != compact(t, def) {
				t.Errorf("%s: $defs/%s differs from %s's", typ, name, TypeUserRegistered)
			}
		}
	}
}

// Every field of a catalog example is required unless listed as optional, the
// schema knows no field the Go type lacks, and data stays open to fields that
// a later 1.x adds.
func TestSchemasCoverExamplesAndTypes(t *testing.T) {
	for _, tc := range examples {
		_, data := loadSchema(t, tc.typ)
		if !data.AdditionalProperties {
			t.Errorf("%s: data does not allow additional properties", tc.typ)
		}
		var ex struct{ Data map[string]any }
		if err := json.Unmarshal(example(t, tc.typ), &ex); err != nil {
			t.Fatal(err)
		}
		var required []string
		for f := range ex.Data {
			if !slices.Contains(optional[tc.typ], f) {
				required = append(required, f)
			}
		}
		if got := slices.Sorted(slices.Values(data.Required)); !slices.Equal(got, slices.Sorted(slices.Values(required))) {
			t.Errorf("%s: required %v, want %v", tc.typ, got, slices.Sorted(slices.Values(required)))
		}
		var fields []string
		rt := reflect.TypeOf(tc.want)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
		}
		if got := slices.Sorted(maps.Keys(data.Properties)); !slices.Equal(got, slices.Sorted(slices.Values(fields))) {
			t.Errorf("%s: schema properties %v, Go fields %v", tc.typ, got, fields)
		}
	}
}
