package libcontainer

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/stateout"
)

// summaryRecord is a created container's record as create saves it.
func summaryRecord(id string) *state.Record {
	spec := &specs.Spec{
		Process: &specs.Process{Args: []string{"sh"}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
		}},
	}
	return &state.Record{
		State: specs.State{
			Version: specs.Version, ID: id, Status: state.Created, Pid: 4242, Bundle: "/b",
			Annotations: map[string]string{"a<b>": "x&y", "u": "\u2028\n"},
		},
		Rootfs: "/b/rootfs", InitStartTime: 777, Created: time.Unix(1, 5).UTC(), Owner: "root",
		Config: state.NewConfig(spec),
		Cgroup: &cgroups.State{Driver: cgroups.DriverCgroupfs, Mode: cgroups.ModeHybrid, Paths: map[string]string{
			"freezer": "/sys/fs/cgroup/freezer/nook/" + id, "": "/sys/fs/cgroup/unified/nook/" + id,
		}},
	}
}

// summaryFields splits a summary into its lines up to head, and the head,
// tail and row blobs.
func summaryFields(t *testing.T, b []byte) (lines []string, head, tail, row string) {
	t.Helper()
	s := string(b)
	for !strings.HasPrefix(s, "head ") {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			t.Fatalf("summary has no head: %q", b)
		}
		lines, s = append(lines, line), rest
	}
	blob := func(word string) string {
		line, rest, _ := strings.Cut(s, "\n")
		n, err := strconv.Atoi(strings.TrimPrefix(line, word+" "))
		if err != nil || len(rest) < n+1 || rest[n] != '\n' {
			t.Fatalf("summary: bad %s in %q", word, b)
		}
		s = rest[n+1:]
		return rest[:n]
	}
	head, tail, row = blob("head"), blob("tail"), blob("row")
	if s != "" {
		t.Fatalf("summary: %q after the row", s)
	}
	return lines, head, tail, row
}

// The C side prints head, pid, status, tail: that must be what the Go side
// prints for every pid and status.
func TestSummaryRendersStateAroundPidAndStatus(t *testing.T) {
	r := summaryRecord("sum")
	b, ok := renderSummary(r)
	if !ok {
		t.Fatal("no summary for a created container")
	}
	lines, head, tail, row := summaryFields(t, b)
	if want := "/b\t1970-01-01T00:00:01.000000005Z\troot"; row != want {
		t.Errorf("list row %q, want %q", row, want)
	}
	want := []string{
		"nook-summary 1", "pid 4242", "start 777", "start-plain 1", "kill-init 1",
		"freezer v1 /sys/fs/cgroup/freezer/nook/sum", "delete-plain 1", "cgroup-dirs 2",
		"/sys/fs/cgroup/freezer/nook/sum", "/sys/fs/cgroup/unified/nook/sum",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("summary lines:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct {
		pid    int
		status string
	}{{4242, "created"}, {4242, "running"}, {4242, "paused"}, {0, "stopped"}} {
		st := stateOf(r)
		st.Pid, st.Status = c.pid, specs.ContainerState(c.status)
		goOut, err := stateout.Marshal(st.Output(false))
		if err != nil {
			t.Fatal(err)
		}
		cOut := head + strconv.Itoa(c.pid) + ",\n  \"status\": \"" + c.status + "\",\n  " + tail + "\n}"
		if cOut != string(goOut) {
			t.Errorf("%s: the C side would print\n%s\nthe Go side prints\n%s", c.status, cOut, goOut)
		}
	}
}

// What start, kill and delete would have to do besides what the C side does
// turns its flags off.
func TestSummaryFlags(t *testing.T) {
	r := summaryRecord("flags")
	spec, _ := r.Config.Spec()
	spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/x"}}, Poststop: []specs.Hook{{Path: "/y"}}}
	spec.Linux.Namespaces = nil
	r.Cgroup.Driver = "systemd"
	b, ok := renderSummary(r)
	if !ok {
		t.Fatal("no summary")
	}
	lines, _, _, _ := summaryFields(t, b)
	for _, want := range []string{"start-plain 0", "kill-init 0", "delete-plain 0", "cgroup-dirs 0"} {
		if !bytes.Contains(b, []byte("\n"+want+"\n")) {
			t.Errorf("summary lacks %q: %q", want, lines)
		}
	}
}

// A cell list's tabwriter would not pad by its byte count leaves the row out.
func TestSummaryRowOnlyForASCII(t *testing.T) {
	for _, bundle := range []string{"/b\tx", "/bü", "/b\n"} {
		r := summaryRecord("row")
		r.Bundle = bundle
		b, ok := renderSummary(r)
		if !ok {
			t.Fatalf("bundle %q: no summary", bundle)
		}
		if _, _, _, row := summaryFields(t, b); row != "" {
			t.Errorf("bundle %q: row %q, want none", bundle, row)
		}
	}
}

// No summary where the C side could not serve the container as Go would.
func TestNoSummary(t *testing.T) {
	for name, change := range map[string]func(r *state.Record){
		"creating":        func(r *state.Record) { r.Status = state.Creating },
		"no start time":   func(r *state.Record) { r.InitStartTime = 0 },
		"no pid":          func(r *state.Record) { r.Pid = 0 },
		"a long id":       func(r *state.Record) { r.ID = strings.Repeat("x", state.MaxDirName+1) },
		"a newline":       func(r *state.Record) { r.Cgroup.Paths["freezer"] = "/sys/fs/cgroup/freezer/a\nb" },
		"a relative path": func(r *state.Record) { r.Cgroup.Paths["freezer"] = "freezer/x" },
	} {
		r := summaryRecord("none")
		change(r)
		if b, ok := renderSummary(r); ok {
			t.Errorf("%s: a summary: %q", name, b)
		}
	}
}

// The summary is put in place only after the record that says created: the
// C side takes its presence to mean that.
func TestSummaryCommittedAfterRecord(t *testing.T) {
	rt := OpenRoot(t.TempDir())
	h, err := rt.Store().Create("order")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p := prepareCreated(h, summaryRecord("order"), false, false)
	if _, err := os.Stat(filepath.Join(h.Dir, SummaryFile)); !os.IsNotExist(err) {
		t.Fatalf("summary in place before commit: %v", err)
	}
	if err := p.commit(nil); err != nil {
		t.Fatal(err)
	}
	r, err := h.Load()
	if err != nil || r.Status != state.Created {
		t.Fatalf("record after commit: %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, SummaryFile)); err != nil {
		t.Fatalf("no summary after commit: %v", err)
	}
	entries, _ := os.ReadDir(h.Dir)
	if len(entries) != 2 {
		t.Errorf("state dir holds %d entries, want the record and the summary", len(entries))
	}

	// A record that cannot be put in place leaves no summary either.
	h2, err := rt.Store().Create("order-failed")
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	p2 := prepareCreated(h2, summaryRecord("order-failed"), false, false)
	tmps, _ := filepath.Glob(filepath.Join(h2.Dir, ".state.json.tmp*"))
	if len(tmps) != 1 {
		t.Fatalf("written record: %v", tmps)
	}
	os.Remove(tmps[0]) // its rename now fails
	if err := p2.commit(nil); err == nil {
		t.Fatal("commit of a record that is gone succeeded")
	}
	p2.discard()
	if _, err := os.Stat(filepath.Join(h2.Dir, SummaryFile)); !os.IsNotExist(err) {
		t.Errorf("a summary without its record: %v", err)
	}
}
