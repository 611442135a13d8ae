package state

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nookrt/nook/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"simple", "abc", true},
		{"single char", "a", true},
		{"digit first", "0abc", true},
		{"all allowed punctuation", "A-b_c.d+e", true},
		{"hex sha", "f0e1d2c3b4a5968778695a4b3c2d1e0f", true},
		{"1024 chars", strings.Repeat("a", 1024), true},
		{"empty", "", false},
		{"1025 chars", strings.Repeat("a", 1025), false},
		{"slash", "/", false},
		{"dotdot", "..", false},
		{"dot", ".", false},
		{"path", "a/b", false},
		{"absolute", "/abc", false},
		{"traversal", "../abc", false},
		{"leading dash", "-abc", false},
		{"leading dot", ".abc", false},
		{"leading underscore", "_abc", false},
		{"leading plus", "+abc", false},
		{"space inside", "a b", false},
		{"leading space", " abc", false},
		{"trailing space", "abc ", false},
		{"trailing newline", "abc\n", false},
		{"nul byte", "abc\x00", false},
		{"tab", "a\tb", false},
		{"unicode letter", "café", false},
		{"unicode only", "容器", false},
		{"colon", "a:b", false},
		{"backslash", `a\b`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID(tt.id)
			if tt.ok && err != nil {
				t.Fatalf("ValidateID(%q) = %v, want nil", tt.id, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("ValidateID(%q) = nil, want an error", tt.id)
			}
		})
	}
}

func TestValidateIDMessages(t *testing.T) {
	if err := ValidateID(""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty id: got %v, want an error saying it is empty", err)
	}
	err := ValidateID(strings.Repeat("a", 1025))
	if err == nil || !strings.Contains(err.Error(), "longer than 1024") {
		t.Errorf("long id: got %v, want an error saying it is longer than 1024", err)
	}
	// The message must not carry the whole 1025-character id.
	if err != nil && len(err.Error()) > 200 {
		t.Errorf("long id: message is %d bytes long; the id should be truncated", len(err.Error()))
	}
}

func newStore(t *testing.T) Store {
	t.Helper()
	return Store{Root: filepath.Join(t.TempDir(), "state")}
}

func TestCreateMakesPrivateDir(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.ID != "c1" || h.Dir != filepath.Join(s.Root, "c1") {
		t.Errorf("handle = {ID %q, Dir %q}, want {c1, %s}", h.ID, h.Dir, filepath.Join(s.Root, "c1"))
	}
	fi, err := os.Stat(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		t.Fatalf("%s is not a directory", h.Dir)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("container dir mode = %#o, want 0700", perm)
	}
	// The handle holds the lock exclusively.
	if _, err := s.TryLockShared("c1"); !errors.Is(err, ErrBusy) {
		t.Errorf("TryLockShared while Create's handle is open = %v, want ErrBusy", err)
	}
}

func TestCreateInvalidID(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"", "..", "a/b", "-x"} {
		if h, err := s.Create(id); err == nil {
			h.Close()
			t.Errorf("Create(%q) succeeded", id)
		}
	}
	entries, _ := os.ReadDir(s.Root)
	if len(entries) != 0 {
		t.Errorf("state root has entries after invalid creates: %v", entries)
	}
}

func TestCreateTwiceFailsAndLeavesFirst(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("dup")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := &Record{State: specs.State{Version: specs.Version, ID: "dup", Status: Created, Pid: 4242, Bundle: "/b"}, Owner: "root"}
	if err := h.Save(want); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(h.Dir)
	if err != nil {
		t.Fatal(err)
	}

	h2, err := s.Create("dup")
	if err == nil {
		h2.Close()
		t.Fatal("second Create of the same id succeeded")
	}
	if !errors.Is(err, ErrExist) {
		t.Fatalf("second Create error = %v, want ErrExist", err)
	}

	after, err := os.Stat(h.Dir)
	if err != nil {
		t.Fatalf("first container's dir is gone after the failed Create: %v", err)
	}
	if !os.SameFile(before, after) {
		t.Error("first container's dir was replaced by the failed Create")
	}
	got, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record after failed Create = %+v, want %+v", got, want)
	}
	// The first handle still holds its lock.
	if _, err := s.TryLockShared("dup"); !errors.Is(err, ErrBusy) {
		t.Errorf("TryLockShared = %v, want ErrBusy (first handle's lock must be intact)", err)
	}
}

func TestLockMissing(t *testing.T) {
	s := newStore(t)
	for _, exclusive := range []bool{true, false} {
		h, err := s.Lock("nope", exclusive)
		if err == nil {
			h.Close()
			t.Fatalf("Lock(nope, %v) succeeded", exclusive)
		}
		// Callers match the value literally.
		if err != ErrNotExist {
			t.Errorf("Lock(nope, %v) = %v, want exactly ErrNotExist", exclusive, err)
		}
	}
	if _, err := s.TryLockShared("nope"); err != ErrNotExist {
		t.Errorf("TryLockShared(nope) = %v, want ErrNotExist", err)
	}
	if _, err := s.Lock("../nope", true); err == nil || errors.Is(err, ErrNotExist) {
		t.Errorf("Lock(../nope) = %v, want an invalid-id error", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("rt")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	// Before any Save, the record is a Creating placeholder.
	r, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "rt" || r.Status != Creating || r.Pid != 0 {
		t.Errorf("Load before Save = %+v, want {ID rt, Status creating, Pid 0}", r)
	}

	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	want := &Record{
		State: specs.State{
			Version:     specs.Version,
			ID:          "rt",
			Status:      Running,
			Pid:         12345,
			Bundle:      "/path/to/bundle",
			Annotations: map[string]string{"a": "b", "c": "d"},
		},
		Rootfs:        "/path/to/bundle/rootfs",
		InitStartTime: 987654321,
		Created:       created,
		Owner:         "root",
		Namespaces:    map[string]string{"pid": "/proc/12345/ns/pid", "mnt": "/proc/12345/ns/mnt"},
		Config: NewConfig(&specs.Spec{
			Version:  specs.Version,
			Hostname: "box",
			Process:  &specs.Process{Args: []string{"sh", "-c", "echo hi"}, Cwd: "/"},
			Root:     &specs.Root{Path: "rootfs", Readonly: true},
			Hooks:    &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
			Linux:    &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}},
		}),
	}
	if err := h.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "Load after Save", got, want)
	fi, err := os.Stat(filepath.Join(h.Dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("state.json mode = %#o, want 0600", perm)
	}

	// Another handle (a later command) sees the same record.
	h.Close()
	h2, err := s.Lock("rt", false)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	got2, err := h2.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "Load through a new handle", got2, want)

	// The lifecycle view decodes the same hooks and namespaces as the spec.
	v, err := got2.Config.View()
	if err != nil {
		t.Fatal(err)
	}
	wantSpec, _ := want.Spec()
	if !v.HasProcess || !reflect.DeepEqual(v.Hooks, wantSpec.Hooks) || !v.HasNamespace(specs.MountNamespace) || v.HasNamespace(specs.PIDNamespace) {
		t.Errorf("View() = %+v", v)
	}
	// Saved again without decoding, the config is kept as it was.
	if err := h2.Save(got2); err != nil {
		t.Fatal(err)
	}
	got3, err := h2.Load()
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "Load after a Save that did not decode the config", got3, want)
}

// sameRecord compares records, their configs by decoded content.
func sameRecord(t *testing.T, what string, got, want *Record) {
	t.Helper()
	gs, err := got.Spec()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ws, _ := want.Spec()
	if !reflect.DeepEqual(gs, ws) {
		t.Errorf("%s: config\n got %+v\nwant %+v", what, gs, ws)
	}
	g, w := *got, *want
	g.Config, w.Config = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func TestConfigViewWithoutProcess(t *testing.T) {
	var c Config
	if err := c.UnmarshalJSON([]byte(`{"ociVersion":"1.3.0","process":null,"linux":{}}`)); err != nil {
		t.Fatal(err)
	}
	v, err := c.View()
	if err != nil || v.HasProcess || v.Hooks != nil || len(v.Namespaces) != 0 {
		t.Errorf("View() = %+v, %v", v, err)
	}
	if err := c.UnmarshalJSON([]byte(`{"hooks":`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.View(); err == nil {
		t.Error("View of a truncated config succeeded")
	}
}

func TestLoadCorrupt(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("bad")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := os.WriteFile(filepath.Join(h.Dir, stateFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Load(); err == nil {
		t.Fatal("Load of a corrupt state.json succeeded")
	}
}

// onlyStateFile fails unless dir holds exactly state.json.
func onlyStateFile(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != stateFile {
		t.Errorf("container dir holds %v, want only [%s] (temp files left behind?)", names, stateFile)
	}
}

func TestSaveLeavesNoTempFiles(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("tmp")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i := 0; i < 50; i++ {
		if err := h.Save(&Record{State: specs.State{ID: "tmp", Pid: i}}); err != nil {
			t.Fatal(err)
		}
	}
	onlyStateFile(t, h.Dir)
	r, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	if r.Pid != 49 {
		t.Errorf("Pid = %d, want the last saved 49", r.Pid)
	}
}

// TestSaveAtomicUnderConcurrentLoad has writers replace the record with ones
// of very different sizes while readers load it: every read must parse and be
// internally consistent (a torn write would mix two records or cut one).
func TestSaveAtomicUnderConcurrentLoad(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("race")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	record := func(i int) *Record {
		// Pid encodes the annotation size, and the annotation repeats the
		// writer's byte: a reader can check that the record is one whole.
		size := 1 + (i*7919)%(64<<10)
		b := byte('a' + i%26)
		return &Record{
			State: specs.State{ID: "race", Pid: size, Status: Running,
				Annotations: map[string]string{"fill": strings.Repeat(string(b), size)}},
			Owner: string(b),
		}
	}
	if err := h.Save(record(0)); err != nil {
		t.Fatal(err)
	}

	const iterations = 400
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 1; i <= iterations; i++ {
				if err := h.Save(record(i*2 + w)); err != nil {
					report(fmt.Errorf("save %d: %w", i, err))
					return
				}
			}
		}(w)
	}
	for rd := 0; rd < 4; rd++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < iterations; i++ {
				r, err := h.Load()
				if err != nil {
					report(fmt.Errorf("load %d: %w", i, err))
					return
				}
				fill := r.Annotations["fill"]
				if r.ID != "race" || r.Status != Running || len(fill) != r.Pid || len(r.Owner) != 1 ||
					fill != strings.Repeat(r.Owner, r.Pid) {
					report(fmt.Errorf("load %d: inconsistent record (pid %d, fill %d bytes, owner %q)",
						i, r.Pid, len(fill), r.Owner))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	onlyStateFile(t, h.Dir)
}

func TestTryLockShared(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("busy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TryLockShared("busy"); err != ErrBusy {
		t.Fatalf("TryLockShared under Create's exclusive lock = %v, want ErrBusy", err)
	}
	h.Close()

	ex, err := s.Lock("busy", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TryLockShared("busy"); err != ErrBusy {
		t.Fatalf("TryLockShared under Lock(exclusive) = %v, want ErrBusy", err)
	}
	ex.Close()

	sh1, err := s.TryLockShared("busy")
	if err != nil {
		t.Fatalf("TryLockShared after release = %v", err)
	}
	defer sh1.Close()
	// Shared locks coexist.
	sh2, err := s.TryLockShared("busy")
	if err != nil {
		t.Fatalf("second TryLockShared = %v, want success", err)
	}
	defer sh2.Close()
	if sh1.ID != "busy" || sh1.Dir != filepath.Join(s.Root, "busy") {
		t.Errorf("handle = {%q, %q}", sh1.ID, sh1.Dir)
	}
}

// TestExclusiveLockWaits checks that Lock(exclusive) really blocks behind a
// holder and goes on once it is released.
func TestExclusiveLockWaits(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("wait")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		h2, err := s.Lock("wait", true)
		if err == nil {
			h2.Close()
		}
		got <- err
	}()
	waitForBlockedFlock(t, h.Dir)
	select {
	case err := <-got:
		t.Fatalf("Lock returned (%v) while the exclusive lock was held", err)
	default:
	}
	h.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Lock after release = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not return after the holder released the lock")
	}
}

// waitForBlockedFlock waits until /proc/locks shows a waiter ("->") on dir's
// inode, so the test knows a Lock call is blocked in flock rather than merely
// not started.
func waitForBlockedFlock(t *testing.T, dir string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f, err := os.Open("/proc/locks")
		if err != nil {
			t.Logf("no /proc/locks (%v): falling back to a sleep", err)
			time.Sleep(200 * time.Millisecond)
			return
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 7 || fields[1] != "->" || fields[2] != "FLOCK" {
				continue
			}
			if strings.HasSuffix(fields[6], suffix) {
				f.Close()
				return
			}
		}
		f.Close()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no blocked flock waiter appeared on the container dir")
}

func TestLockWaiterSeesDestroy(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("gone")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		h2, err := s.Lock("gone", true)
		if err == nil {
			h2.Close()
		}
		got <- err
	}()
	waitForBlockedFlock(t, h.Dir)
	if err := h.Destroy(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != ErrNotExist {
			t.Fatalf("Lock waiting on a destroyed dir = %v, want ErrNotExist", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not return after Destroy")
	}
	if _, err := os.Stat(filepath.Join(s.Root, "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir still exists after Destroy: %v", err)
	}
}

// TestLockWaiterSeesRecreate: a waiter whose directory was destroyed and
// created again under the same id must end up with the lock of the new
// directory, not the old unlinked one.
func TestLockWaiterSeesRecreate(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("again")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Handle, 1)
	errc := make(chan error, 1)
	go func() {
		h2, err := s.Lock("again", true)
		if err != nil {
			errc <- err
			return
		}
		got <- h2
	}()
	waitForBlockedFlock(t, h.Dir)
	// Destroy and re-create while the waiter still waits: Destroy releases
	// the old lock, the new Create takes the new one.
	if err := os.RemoveAll(h.Dir); err != nil {
		t.Fatal(err)
	}
	h3, err := s.Create("again")
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	select {
	case h2 := <-got:
		h2.Close()
		t.Fatal("waiter got a lock while the re-created dir's lock was held")
	case err := <-errc:
		t.Fatalf("waiter failed: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	h3.Close()
	select {
	case h2 := <-got:
		defer h2.Close()
		var held, now unix.Stat_t
		if err := unix.Fstat(int(h2.dir.Fd()), &held); err != nil {
			t.Fatal(err)
		}
		if err := unix.Stat(h2.Dir, &now); err != nil {
			t.Fatal(err)
		}
		if held.Ino != now.Ino || held.Dev != now.Dev {
			t.Error("waiter holds the lock of the old, unlinked directory")
		}
	case err := <-errc:
		t.Fatalf("waiter failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("waiter did not get the re-created dir's lock")
	}
}

func TestDestroy(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("d")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Save(&Record{State: specs.State{ID: "d"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock("d", false); err != ErrNotExist {
		t.Errorf("Lock after Destroy = %v, want ErrNotExist", err)
	}
	// The id is free again.
	h2, err := s.Create("d")
	if err != nil {
		t.Fatalf("Create after Destroy = %v", err)
	}
	h2.Close()
}

func TestList(t *testing.T) {
	s := newStore(t)
	// A root that does not exist yet lists nothing, without error.
	ids, err := s.List()
	if err != nil || len(ids) != 0 {
		t.Fatalf("List of a missing root = %v, %v; want nothing", ids, err)
	}
	for _, id := range []string{"b", "a", "c-1"} {
		h, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		h.Close()
	}
	// Noise that is not a container.
	if err := os.WriteFile(filepath.Join(s.Root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{".hidden", "-dash", "_under", "sp ace", "ü"} {
		if err := os.Mkdir(filepath.Join(s.Root, bad), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(s.Root, "a"), filepath.Join(s.Root, "link")); err != nil {
		t.Fatal(err)
	}
	ids, err = s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c-1"} // os.ReadDir sorts by name
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("List = %q, want %q", ids, want)
	}
}

func TestStateRootMode(t *testing.T) {
	s := newStore(t)
	old := unix.Umask(0)
	defer unix.Umask(old)
	h, err := s.Create("x")
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	fi, err := os.Stat(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o711 {
		t.Errorf("state root mode = %#o, want 0711", perm)
	}
}

func TestWriteFileAtomicModes(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0o600, 0o644, 0o640, 0o400, 0o755, 0o666} {
		p := filepath.Join(dir, fmt.Sprintf("f%o", mode))
		data := []byte(fmt.Sprintf("mode %o", mode))
		if err := WriteFileAtomic(p, data, mode); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The mode is set by chmod, so the umask does not narrow it.
		if got := fi.Mode(); got != mode {
			t.Errorf("mode of %s = %v, want %v", p, got, mode)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(data) {
			t.Errorf("content of %s = %q, want %q", p, b, data)
		}
	}
	// Replacing a file changes its mode to the new one.
	p := filepath.Join(dir, "replace")
	if err := WriteFileAtomic(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("mode after replace = %v, want 0600", fi.Mode())
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("content after replace = %q, want two", b)
	}
}

func TestWriteFileAtomicFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	// Renaming a file over a non-empty directory fails after the temp file
	// was written: the temp file must not be left behind.
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(target, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(target, []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFileAtomic over a non-empty directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "target" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v after a failed write, want only [target]", names)
	}
	// A missing parent directory is an error, not a panic or a stray file.
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Error("WriteFileAtomic into a missing directory succeeded")
	}
}

// TestPeekMissing: Peek is what `state` falls back to while another command
// holds the lock. If that command was a delete, the directory is gone by the
// time Peek reads: that must be ErrNotExist, not a made-up "creating" record.
func TestPeekMissing(t *testing.T) {
	s := newStore(t)
	r, err := s.Peek("never-created")
	if err != ErrNotExist {
		t.Errorf("Peek of an id with no directory = (%+v, %v), want ErrNotExist", r, err)
	}
}

func TestPeekReadsWithoutLock(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("p")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Save(&Record{State: specs.State{ID: "p", Pid: 77, Status: Created}}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Peek("p") // h holds the exclusive lock
	if err != nil {
		t.Fatal(err)
	}
	if r.Pid != 77 || r.Status != Created {
		t.Errorf("Peek = %+v, want pid 77 created", r)
	}
}

// A Peeker reads record after record through one buffer, each record whole
// but its config and namespaces, which Load still has, and its cgroup only
// once asked for; a record larger than the buffer grows it, and what one
// peek read never shows in the next.
func TestPeekerReadsEveryRecordWithoutItsConfig(t *testing.T) {
	s := newStore(t)
	big := strings.Repeat("x", 10000) // beyond the first buffer
	for _, id := range []string{"a", "big", "c"} {
		h, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		r := &Record{
			State:      specs.State{ID: id, Pid: len(id), Status: Created, Bundle: "/b/" + id, Annotations: map[string]string{"k": id}},
			Owner:      "o-" + id,
			Config:     NewConfig(&specs.Spec{Hostname: id, Process: &specs.Process{Args: []string{"sh"}}}),
			Namespaces: map[string]string{"net": "/proc/1/ns/net"},
			Cgroup:     &cgroups.State{Driver: "cgroupfs", Mode: "v2", Paths: map[string]string{"": "/sys/fs/cgroup/" + id}},
		}
		if id == "big" {
			r.Annotations["big"] = big
		}
		if err := h.Save(r); err != nil {
			t.Fatal(err)
		}
		h.Close()
	}
	p := s.Peeker()
	for _, id := range []string{"a", "big", "c", "a"} {
		r, err := p.Peek(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != id || r.Pid != len(id) || r.Bundle != "/b/"+id || r.Owner != "o-"+id || r.Annotations["k"] != id {
			t.Errorf("Peek(%q) = %+v", id, r)
		}
		if _, has := r.Annotations["big"]; has != (id == "big") {
			t.Errorf("Peek(%q): annotation of another record's read: %v", id, has)
		}
		if r.Config != nil || r.Namespaces != nil || r.Cgroup != nil {
			t.Errorf("Peek(%q) decoded the config, namespaces or cgroup: %+v", id, r)
		}
		if err := r.DecodeCgroup(); err != nil || r.Cgroup == nil || r.Cgroup.Paths[""] != "/sys/fs/cgroup/"+id {
			t.Errorf("Peek(%q).DecodeCgroup: %+v, %v", id, r.Cgroup, err)
		}
	}
	// A record that has no cgroup, and one loaded whole: nothing to decode.
	loaded := loadShared(t, s, "a")
	if err := loaded.DecodeCgroup(); err != nil || loaded.Cgroup == nil || loaded.Cgroup.Paths[""] != "/sys/fs/cgroup/a" {
		t.Errorf("Load then DecodeCgroup: %+v, %v", loaded.Cgroup, err)
	}
	r := loadShared(t, s, "big")
	if spec, err := r.Config.Spec(); err != nil || spec.Hostname != "big" {
		t.Errorf("Load's config: %+v, %v", spec, err)
	}
}

// PrepareSave writes the next record where no reader sees it; Commit
// publishes it, Discard leaves the old one and nothing else.
func TestPrepareSaveCommitAndDiscard(t *testing.T) {
	s := newStore(t)
	h, err := s.Create("pending")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Save(&Record{State: specs.State{ID: "pending", Status: Creating, Pid: 1}}); err != nil {
		t.Fatal(err)
	}
	next, err := h.PrepareSave(&Record{State: specs.State{ID: "pending", Status: Created, Pid: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := h.Load(); err != nil || r.Status != Creating || r.Pid != 1 {
		t.Fatalf("before Commit: %+v, %v; want the old record", r, err)
	}
	if err := next.Commit(); err != nil {
		t.Fatal(err)
	}
	next.Discard() // after Commit: nothing to do
	if r, err := h.Load(); err != nil || r.Status != Created || r.Pid != 2 {
		t.Fatalf("after Commit: %+v, %v; want the new record", r, err)
	}
	onlyStateFile(t, h.Dir)

	dropped, err := h.PrepareSave(&Record{State: specs.State{ID: "pending", Status: Stopped, Pid: 3}})
	if err != nil {
		t.Fatal(err)
	}
	dropped.Discard()
	if r, err := h.Load(); err != nil || r.Pid != 2 {
		t.Fatalf("after Discard: %+v, %v; want the committed record", r, err)
	}
	onlyStateFile(t, h.Dir)
	var none *PendingFile
	none.Discard() // nil-safe, for defers before a failed prepare
}

// loadShared loads id's record under a shared lock, as a later command does.
func loadShared(t *testing.T, s Store, id string) *Record {
	t.Helper()
	h, err := s.Lock(id, false)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Only a regular file is exchanged for the new one (PendingFile.Commit):
// anything else at the path is what a rename makes of it. An empty
// directory stays (a rename refuses it; an exchange would have moved it
// aside), a symlink is replaced and its target left alone.
func TestWriteFileAtomicExchangesOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(empty, []byte("x"), 0o600); err == nil {
		t.Error("WriteFileAtomic over an empty directory succeeded")
	}
	if fi, err := os.Lstat(empty); err != nil || !fi.IsDir() {
		t.Errorf("the directory is gone after a write over it (%v)", err)
	}
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the symlink was not replaced by the file (%v, %v)", fi, err)
	}
	if b, _ := os.ReadFile(target); string(b) != "kept" {
		t.Errorf("the symlink's target holds %q, want it untouched", b)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("dir holds %d entries, want empty, link and target (no temp file)", len(entries))
	}
}
