package tables

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

func entry(i int) Entry {
	return Entry{Input: fmt.Sprintf("topic/0/%d", i),
		Emits: []Emit{{Topic: "out", Key: fmt.Sprintf("k-%d", i), Value: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}}}
}

func TestJournalWithKeepsTheLatest16(t *testing.T) {
	var j Journal
	for i := 1; i <= 40; i++ {
		prev := j
		before, _ := json.Marshal(prev)
		j = j.With(entry(i))
		if after, _ := json.Marshal(prev); string(after) != string(before) {
			t.Fatalf("With(%d) modified the journal it was given", i)
		}
		want := min(i, 16)
		if len(j) != want {
			t.Fatalf("after %d inputs the journal holds %d, want %d", i, len(j), want)
		}
		for k, e := range j {
			if w := entry(i - want + 1 + k); !reflect.DeepEqual(e, w) {
				t.Fatalf("after %d inputs, entry %d = %+v, want %+v", i, k, e, w)
			}
		}
	}
}

// With never writes into the array of the journal it is called on — the row that journal
// came from still uses it — even when that array has room to spare.
func TestJournalWithLeavesTheCallersArray(t *testing.T) {
	for _, n := range []int{0, 1, 5, 15, 16, 17} {
		backing := make(Journal, n, 40)
		for i := range backing {
			backing[i] = entry(i)
		}
		a := backing.With(entry(100))
		b := backing.With(entry(200))
		if spare := backing[:n+1][n]; !reflect.DeepEqual(spare, Entry{}) {
			t.Errorf("len %d: With wrote %+v into the caller's array", n, spare)
		}
		for i := range backing {
			if !reflect.DeepEqual(backing[i], entry(i)) {
				t.Errorf("len %d: entry %d changed to %+v", n, i, backing[i])
			}
		}
		if a[len(a)-1].Input != "topic/0/100" || b[len(b)-1].Input != "topic/0/200" {
			t.Errorf("len %d: journals built from one share their array: %+v / %+v", n, a[len(a)-1], b[len(b)-1])
		}
		// Writing into the result does not reach the caller's array either.
		if len(a) > 1 {
			a[0].Input = "changed"
			if backing[len(backing)-len(a)+1].Input == "changed" {
				t.Errorf("len %d: With's result shares the caller's array", n)
			}
		}
	}
}

func TestJournalFind(t *testing.T) {
	var j Journal
	if _, ok := j.Find("topic/0/1"); ok {
		t.Error("Find in an empty journal = ok")
	}
	for i := 1; i <= 20; i++ {
		j = j.With(entry(i))
	}
	// Any of the latest 16 is found, the oldest as well as the latest.
	for _, i := range []int{5, 6, 12, 20} {
		e, ok := j.Find(fmt.Sprintf("topic/0/%d", i))
		if !ok || !reflect.DeepEqual(e, entry(i)) {
			t.Errorf("Find(%d) = %+v, %v; want %+v", i, e, ok, entry(i))
		}
	}
	// Those it dropped, and inputs never seen, are not.
	for _, in := range []string{"topic/0/1", "topic/0/4", "topic/0/21", "other/0/12", ""} {
		if e, ok := j.Find(in); ok {
			t.Errorf("Find(%q) = %+v, want none", in, e)
		}
	}
	// An entry without emits (a write that sent nothing) is found too.
	j = j.With(Entry{Input: "topic/1/7"})
	if e, ok := j.Find("topic/1/7"); !ok || e.Input != "topic/1/7" || len(e.Emits) != 0 {
		t.Errorf("Find of an entry without emits = %+v, %v", e, ok)
	}
}

// A journal keeps its entries through the row's JSON (the table's codec).
func TestJournalJSON(t *testing.T) {
	j := Journal{entry(1), {Input: "topic/0/2"}}
	b, err := json.Marshal(User{UserID: "u-1", Journaled: Journaled{Journal: j}})
	if err != nil {
		t.Fatal(err)
	}
	var u User
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u.Journal, j) {
		t.Errorf("journal through JSON = %+v, want %+v", u.Journal, j)
	}
	b, err = json.Marshal(User{UserID: "u-1"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["journal"]; ok {
		t.Errorf("a row without journal marshals one: %s", b)
	}
}
