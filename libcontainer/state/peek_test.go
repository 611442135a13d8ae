package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups"
)

// fullRecord has every field of Record set, so that a field Peek does not
// decode shows as a difference (TestPeekDecodesEveryListedField).
func fullRecord(t *testing.T, id string) *Record {
	t.Helper()
	r := &Record{
		State: specs.State{
			Version: "1.3.0", ID: id, Status: Created, Pid: 4242, Bundle: "/b/" + id,
			Annotations: map[string]string{"k": "v", "quote\"d": "\u00e9\\n"},
		},
		Rootfs:        "/b/" + id + "/rootfs",
		InitStartTime: 123456789,
		Created:       time.Date(2026, 1, 2, 3, 4, 5, 600700800, time.UTC),
		Owner:         "root",
		Namespaces:    map[string]string{"net": "/proc/4242/ns/net"},
		Config:        NewConfig(&specs.Spec{Hostname: id, Process: &specs.Process{Args: []string{"sh", "-c", "x"}}}),
		Cgroup:        &cgroups.State{Driver: "cgroupfs", Mode: "v2", Paths: map[string]string{"": "/sys/fs/cgroup/" + id}},
		ExitKeeper:    4243,
	}
	// A field added to Record must be set here (and decoded by Peek).
	for _, v := range []reflect.Value{reflect.ValueOf(r.State), reflect.ValueOf(*r)} {
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && v.Field(i).IsZero() {
				t.Fatalf("fullRecord leaves %s.%s unset", v.Type().Name(), f.Name)
			}
		}
	}
	return r
}

// Peek decodes every field of a record but its config and namespaces, as
// Load does, and the cgroup once asked.
func TestPeekDecodesEveryListedField(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("full")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Save(fullRecord(t, "full")); err != nil {
		t.Fatal(err)
	}
	h.Close()
	peeked, err := s.Peeker().Peek("full")
	if err != nil {
		t.Fatal(err)
	}
	if err := peeked.DecodeCgroup(); err != nil {
		t.Fatal(err)
	}
	loaded := loadShared(t, s, "full")
	loaded.Config, loaded.Namespaces = nil, nil
	samePeeked(t, "Peek", peeked, loaded)
}

// samePeeked compares two records' exported fields, Created as an instant
// and as list prints it.
func samePeeked(t *testing.T, what string, got, want *Record) {
	t.Helper()
	if !got.Created.Equal(want.Created) || got.Created.Format(time.RFC3339Nano) != want.Created.Format(time.RFC3339Nano) {
		t.Errorf("%s: created %v, want %v", what, got.Created, want.Created)
	}
	g, w := *got, *want
	g.Created, w.Created = time.Time{}, time.Time{}
	g.peekedCgroup, g.peeker, g.peekSeq = nil, nil, 0
	w.peekedCgroup, w.peeker, w.peekSeq = nil, nil, 0
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// The peek decoder agrees with encoding/json on what is a record and what
// is in it (but config and namespaces, which it drops), on records as
// nook writes them and on the edges a hand-made decoder could get wrong.
func TestPeekDecoderAgreesWithEncodingJSON(t *testing.T) {
	full, err := json.Marshal(fullRecord(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		string(full),
		`{}`,
		` {"id":"a"} `,
		`{"id":null,"pid":null,"annotations":null,"created":null,"cgroup":null,"status":null}`,
		`{"id":"a","id":"b"}`,                // duplicate: the last wins
		`{"i\u0064":"esc","p\u0069d":7}`,     // escaped names
		`{"annotations":{"a":"1","b":null}}`, // a null value is ""
		`{"annotations":{}}`,                 // empty, not nil
		`{"unknown":{"x":[1,2,{"y":null}]},"id":"u"}`,
		`{"config":{"bad"}}`, // a skipped value is still checked
		`{"namespaces":[1,2,]}`,
		`{"id":"a"} x`, // data after the record
		`{} {}`,
		"{\"id\":\"\xff\"}", // invalid UTF-8 becomes U+FFFD
		`{"id":"a"`,         // cut short
		`[]`, `null`, `"x"`, ``,
		`{"id":1}`, `{"pid":"1"}`, `{"pid":1.5}`, `{"pid":-3}`, `{"initStartTime":-1}`,
		`{"pid":99999999999999999999}`, `{"annotations":[]}`, `{"annotations":{"a":1}}`,
		`{"created":"yesterday"}`, `{"created":5}`, `{"status":{}}`,
		`{"id":"\ud800"}`, // a lone surrogate becomes U+FFFD
	} {
		var want Record
		wantErr := json.Unmarshal([]byte(in), &want)
		want.Config, want.Namespaces = nil, nil
		var cg []byte
		want.Cgroup, cg = nil, nil
		if wantErr == nil && strings.Contains(in, `"cgroup"`) {
			var m map[string]json.RawMessage
			json.Unmarshal([]byte(in), &m)
			cg = m["cgroup"]
		}
		var got Record
		var dec peekDecoder
		gotCg, gotErr := dec.decode(bytes.NewBufferString(in), &got)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%s: peek error %v, encoding/json error %v", in, gotErr, wantErr)
			continue
		}
		if gotErr != nil {
			continue
		}
		samePeeked(t, in, &got, &want)
		if !bytes.Equal(gotCg, cg) {
			t.Errorf("%s: cgroup %q, want %q", in, gotCg, cg)
		}
	}
}

// A record's cgroup stays in its Peeker's buffer until the next Peek:
// decoded after that, it is an error, never another record's cgroup.
func TestDecodeCgroupAfterTheNextPeekFails(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"a", "b"} {
		h, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Save(fullRecord(t, id)); err != nil {
			t.Fatal(err)
		}
		h.Close()
	}
	p := s.Peeker()
	a, err := p.Peek("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Peek("b"); err != nil {
		t.Fatal(err)
	}
	if err := a.DecodeCgroup(); err == nil || a.Cgroup != nil {
		t.Errorf("DecodeCgroup after the next Peek = %v, cgroup %+v; want an error", err, a.Cgroup)
	}
}

// BenchmarkPeeker is list's reading of one record: the read and the decode
// (go test -bench Peeker -benchmem).
func BenchmarkPeeker(b *testing.B) {
	s := Store{Root: b.TempDir()}
	h, err := s.Create("c")
	if err != nil {
		b.Fatal(err)
	}
	r := fullRecord(&testing.T{}, "c")
	spec, _ := r.Config.Spec()
	spec.Mounts = make([]specs.Mount, 20) // about a default config's size
	for i := range spec.Mounts {
		spec.Mounts[i] = specs.Mount{Destination: "/m", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}}
	}
	if err := h.Save(r); err != nil {
		b.Fatal(err)
	}
	h.Close()
	p := s.Peeker()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Peek("c"); err != nil {
			b.Fatal(err)
		}
	}
}
