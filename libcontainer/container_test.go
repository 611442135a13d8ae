package libcontainer

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/state"
)

// saved makes container id under rt with status and pid, and returns its
// handle, still locked (the caller closes it).
func saved(t *testing.T, rt Root, id string, status specs.ContainerState, pid int, start uint64) *state.Handle {
	t.Helper()
	h, err := rt.Store().Create(id)
	if err != nil {
		t.Fatal(err)
	}
	r := &state.Record{State: specs.State{ID: id, Status: status, Pid: pid}, InitStartTime: start}
	if err := h.Save(r); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestListStatuses: List derives each status as State does, without locking
// a container past creating, and still tells a create in progress (its lock
// held) from one that died.
func TestListStatuses(t *testing.T) {
	rt := OpenRoot(t.TempDir())
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// This test process stands for a live init; the fifo makes it created.
	saved(t, rt, "created", state.Created, os.Getpid(), self.StartTime).Close()
	if err := os.WriteFile(filepath.Join(rt.Store().Dir("created"), state.FifoName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	saved(t, rt, "gone", state.Created, os.Getpid(), self.StartTime+1).Close() // another process's start time
	saved(t, rt, "died-creating", state.Creating, 0, 0).Close()
	inProgress := saved(t, rt, "creating", state.Creating, 0, 0) // lock held: a create at work
	defer inProgress.Close()

	all, err := rt.List()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]specs.ContainerState{}
	for _, st := range all {
		got[st.ID] = st.Status
		if st.Status == state.Stopped && st.Pid != 0 {
			t.Errorf("%s: stopped with pid %d, want 0 (as runc)", st.ID, st.Pid)
		}
	}
	want := map[string]specs.ContainerState{
		"created": state.Created, "gone": state.Stopped, "died-creating": state.Stopped, "creating": state.Creating,
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("list: %s is %q, want %q", id, got[id], w)
		}
		st, err := rt.State(id)
		if err != nil || st.Status != w {
			t.Errorf("state %s: %v, %v; want %q as list says", id, st, err, w)
		}
	}
	if len(all) != len(want) {
		t.Errorf("list has %d containers, want %d", len(all), len(want))
	}
}

// The start time is field 22 counted after the command's last ')': a
// command may hold spaces and parentheses of its own.
func TestParseProcStat(t *testing.T) {
	line := "4242 (a b) (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 0\n"
	st, err := parseProcStat(4242, []byte(line))
	if err != nil || st.State != 'S' || st.StartTime != 987654 {
		t.Fatalf("parseProcStat = %+v, %v; want state S, start time 987654", st, err)
	}
	// Field 22 last, with the newline after it.
	st, err = parseProcStat(1, []byte("1 (x) Z 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55\n"))
	if err != nil || st.State != 'Z' || st.StartTime != 55 {
		t.Fatalf("parseProcStat = %+v, %v; want state Z, start time 55", st, err)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 0 1", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 notanumber"} {
		if _, err := parseProcStat(1, []byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) took it", bad)
		}
	}
}
