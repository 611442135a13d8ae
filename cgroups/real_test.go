package cgroups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Tests on the real cgroups of this machine. Each uses a unique absolute
// cgroup path, and removes every cgroup and process it made.

const busybox = "/bin/busybox"

// realHost skips unless running as root with busybox, and returns the
// layout of this mount namespace.
func realHost(t testing.TB, modes ...string) layout {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates real cgroups")
	}
	if _, err := os.Stat(busybox); err != nil {
		t.Skip("needs " + busybox)
	}
	l, err := readLayout()
	if err != nil {
		t.Skip(err)
	}
	for _, m := range modes {
		if l.mode == m {
			return l
		}
	}
	t.Skipf("needs a host in mode %v; this one is %s", modes, l.mode)
	return l
}

// testBase returns a unique top cgroup path and removes it, in every
// hierarchy, when the test ends.
func testBase(t testing.TB, l layout) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	base := "/nook-test-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		for _, h := range hierarchiesOf(l) {
			d := filepath.Join(h.mountpoint, base)
			if err := removeTree(d); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return base
}

func hierarchiesOf(l layout) []hierarchy {
	var hs []hierarchy
	for _, h := range l.v1 {
		hs = append(hs, h)
	}
	if l.unified != nil {
		hs = append(hs, *l.unified)
	}
	return hs
}

// start runs a busybox applet, killed and reaped when the test ends.
func start(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(busybox, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// startHeld runs a busybox shell that waits for a line on stdin before
// running script, so that it does its work only once placed in a cgroup.
func startHeld(t testing.TB, script string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(busybox, "sh", "-c", "read x; "+script)
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, func() {
		w.Write([]byte("go\n"))
		w.Close()
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stop(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Kill()
	cmd.Wait()
}

// procCgroup returns /proc/pid/cgroup as controller → path.
func procCgroup(t testing.TB, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			m[""] = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			m[c] = parts[2]
		}
	}
	return m
}

// cpuTicks is utime+stime of pid from /proc/pid/stat.
func cpuTicks(t testing.TB, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	u, _ := strconv.ParseUint(fs[11], 10, 64)
	k, _ := strconv.ParseUint(fs[12], 10, 64)
	return u + k
}

func expectGone(t testing.TB, m Manager) {
	t.Helper()
	for c, d := range m.State().Paths {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s cgroup %s still exists after Destroy (%v)", hierName(c), d, err)
		}
	}
}

func TestRealLifecycle(t *testing.T) {
	l := realHost(t, ModeHybrid, ModeV1)
	base := testBase(t, l)
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: p64(64 << 20), Swap: p64(128 << 20), Reservation: p64(32 << 20), Swappiness: pu64(20)},
		CPU:    &specs.LinuxCPU{Shares: pu64(512), Quota: p64(20000), Period: pu64(100000), Cpus: "0", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: p64(64)},
	}
	if probe(filepath.Join(l.v1["blkio"].mountpoint, base), "blkio.weight") || probe(filepath.Join(l.v1["blkio"].mountpoint, base), "blkio.bfq.weight") {
		res.BlockIO = &specs.LinuxBlockIO{Weight: pu16(300)}
	} else {
		t.Log("no blkio.weight nor blkio.bfq.weight here: block I/O weight not tested")
	}
	ps := ""
	if sizes, _ := hugePageSizes(); len(sizes) > 0 {
		ps = sizes[0]
		res.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: ps, Limit: 4 << 20}}
	}
	m, err := New(Config{Name: "x", Path: base + "/c", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	st := m.State()
	if st.Mode != l.mode || st.Driver != DriverCgroupfs {
		t.Errorf("State() = %+v", st)
	}
	for c, d := range st.Paths {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("New created %s cgroup %s", hierName(c), d)
		}
	}
	// v1 charges memory and CPU to the cgroup a task is in when it uses
	// them: the shell execs sleep (a new address space) once placed.
	cmd, release := startHeld(t, "exec "+busybox+" sleep 1000")
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	release()
	waitFor(t, "the shell to exec sleep", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return strings.HasPrefix(string(b), busybox+"\x00sleep\x00")
	})

	// The process is in base/c in every hierarchy.
	in := procCgroup(t, pid)
	for c := range st.Paths {
		if got := in[c]; got != base+"/c" {
			t.Errorf("/proc/%d/cgroup: %s is %q, want %q", pid, hierName(c), got, base+"/c")
		}
	}
	expectFiles(t, st.Paths["memory"], map[string]string{
		"memory.limit_in_bytes": "67108864", "memory.memsw.limit_in_bytes": "134217728",
		"memory.soft_limit_in_bytes": "33554432", "memory.swappiness": "20",
	})
	expectFiles(t, st.Paths["cpu"], map[string]string{"cpu.shares": "512", "cpu.cfs_quota_us": "20000", "cpu.cfs_period_us": "100000"})
	expectFiles(t, st.Paths["cpuset"], map[string]string{"cpuset.cpus": "0", "cpuset.mems": "0"})
	expectFiles(t, st.Paths["pids"], map[string]string{"pids.max": "64"})
	if res.BlockIO != nil {
		f := "blkio.weight"
		if !exists(filepath.Join(st.Paths["blkio"], f)) {
			f = "blkio.bfq.weight"
		}
		if got := read(t, st.Paths["blkio"], f); !strings.Contains(got, "300") {
			t.Errorf("%s = %q, want 300", f, got)
		}
	}
	if ps != "" {
		if d := st.Paths["hugetlb"]; d != "" {
			expectFiles(t, d, map[string]string{"hugetlb." + ps + ".limit_in_bytes": "4194304"})
		} else {
			// Hybrid with hugetlb on cgroup2 only: enabled down the path.
			expectFiles(t, st.Paths[""], map[string]string{"hugetlb." + ps + ".max": "4194304"})
			if sc := read(t, filepath.Dir(st.Paths[""]), "cgroup.subtree_control"); !strings.Contains(sc, "hugetlb") {
				t.Errorf("cgroup.subtree_control of %s = %q, want hugetlb enabled", filepath.Dir(st.Paths[""]), sc)
			}
		}
	}
	// The default device policy (Set applies it even without rules).
	if d := st.Paths["devices"]; d != "" {
		if list := read(t, d, "devices.list"); strings.Contains(list, "a *:* rwm") {
			t.Errorf("devices.list still allows everything: %q", list)
		}
	}

	pids, err := m.Pids()
	if err != nil || len(pids) != 1 || pids[0] != pid {
		t.Errorf("Pids() = %v, %v; want [%d]", pids, err, pid)
	}

	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	var doc struct {
		CPU struct {
			Usage struct{ Total uint64 } `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
			Raw map[string]uint64 `json:"raw"`
		} `json:"memory"`
		Pids    struct{ Current, Limit uint64 } `json:"pids"`
		Hugetlb map[string]json.RawMessage      `json:"hugetlb"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Memory.Usage.Limit != 64<<20 || doc.Memory.Usage.Usage == 0 || len(doc.Memory.Raw) == 0 {
		t.Errorf("memory stats = %+v", doc.Memory)
	}
	if doc.Pids.Current != 1 || doc.Pids.Limit != 64 {
		t.Errorf("pids stats = %+v", doc.Pids)
	}
	if doc.CPU.Usage.Total == 0 {
		t.Errorf("cpu usage total is 0 in %s", b)
	}
	if _, ok := doc.Hugetlb[ps]; ps != "" && !ok {
		t.Errorf("hugetlb stats lack %s: %s", ps, b)
	}

	// Load gives back the same manager; an update goes through it.
	lm, err := Load(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p64(-1)}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, st.Paths["pids"], map[string]string{"pids.max": "max"})

	if err := KillAll(lm, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("after KillAll the sleep ended with %v", err)
	}
	if err := lm.Destroy(); err != nil {
		t.Fatal(err)
	}
	expectGone(t, lm)
	if err := lm.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestRealFreezeThaw(t *testing.T) {
	l := realHost(t, ModeHybrid, ModeV1, ModeV2)
	base := testBase(t, l)
	m, err := New(Config{Name: "x", Path: base + "/f"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := start(t, "sh", "-c", "while :; do :; done")
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	if fr, err := m.Frozen(); err != nil || fr {
		t.Fatalf("Frozen() = %v, %v before Freeze", fr, err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if fr, err := m.Frozen(); err != nil || !fr {
		t.Errorf("Frozen() = %v, %v after Freeze", fr, err)
	}
	a := cpuTicks(t, pid)
	time.Sleep(150 * time.Millisecond)
	if b := cpuTicks(t, pid); b != a {
		t.Errorf("frozen busy loop used CPU: %d -> %d ticks", a, b)
	}
	// kill --all on a paused container keeps it paused.
	if err := KillAll(m, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if fr, _ := m.Frozen(); !fr {
		t.Error("KillAll thawed a paused container")
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if fr, err := m.Frozen(); err != nil || fr {
		t.Errorf("Frozen() = %v, %v after Thaw", fr, err)
	}
	a = cpuTicks(t, pid)
	time.Sleep(150 * time.Millisecond)
	if b := cpuTicks(t, pid); b == a {
		t.Errorf("thawed busy loop used no CPU (%d ticks)", a)
	}
	if err := KillAll(m, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	expectGone(t, m)
}

func TestRealOOMEvent(t *testing.T) {
	l := realHost(t, ModeHybrid, ModeV1)
	base := testBase(t, l)
	// memory+swap equal to memory: the hog cannot swap its way out.
	res := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(32 << 20), Swap: p64(32 << 20)}}
	m, err := New(Config{Name: "x", Path: base + "/oom", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	// The hog waits for a line on stdin, so that it allocates only once
	// it is in the cgroup: dd's 128 MiB buffer is filled from /dev/zero.
	cmd, release := startHeld(t, "exec "+busybox+" dd if=/dev/zero of=/dev/null bs=128M count=1")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events, err := m.OOMEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	release()
	select {
	case _, ok := <-events:
		if !ok {
			t.Fatal("OOM event channel closed without an event")
		}
	case <-ctx.Done():
		t.Fatal("no OOM event within 20s")
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the hog ended with %v, want killed by SIGKILL", err)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// The peak reached the limit (failcnt is not counted by every
	// kernel's v1 memory controller).
	if s.Memory.Usage.Max != 32<<20 {
		t.Errorf("memory max usage is %d after an OOM, want the limit %d", s.Memory.Usage.Max, 32<<20)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	// Removing the cgroup ends the stream.
	select {
	case _, ok := <-events:
		for ok {
			_, ok = <-events
		}
	case <-time.After(5 * time.Second):
		t.Error("the OOM event stream did not end when the cgroup was removed")
	}
	expectGone(t, m)
}

func TestRealBadInputCreatesNothing(t *testing.T) {
	l := realHost(t, ModeHybrid, ModeV1)
	base := testBase(t, l)
	for want, cfg := range map[string]Config{
		"linux.resources.memory.limit: -5 is not a valid limit":        {Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(-5)}}},
		"linux.resources.cpu.shares: 1 is out of range":                {Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: pu64(1)}}},
		`linux.resources.cpu.cpus: "0-4095" is outside the available`:  {Resources: &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-4095"}}},
		`linux.resources.unified["memory.max"]`:                        {Resources: &specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}}},
		`linux.resources.hugepageLimits[0].pageSize: "3MB" is not`:     {Resources: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}}},
		`linux.cgroupsPath "/nook-x/../../..`:                          {Path: "/nook-x/../../../etc"},
		"linux.resources.pids.limit: -7 is not a valid limit":          {Resources: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p64(-7)}}},
		"linux.resources.blockIO.weight: 1001 is out of range (10-100": {Resources: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: pu16(1001)}}},
	} {
		cfg.Name = "bad"
		if cfg.Path == "" {
			cfg.Path = base + "/bad"
		}
		m, err := New(cfg)
		if err == nil {
			err = m.Apply(os.Getpid()) // must not happen; undo below
			t.Errorf("New accepted %q (%v)", want, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %q, want prefix %q", err, want)
		}
	}
	if l.mode == ModeHybrid {
		// unified keys on a hybrid host: fine for cgroup2's own controllers only.
		m, err := New(Config{Name: "u", Path: base + "/u", Resources: &specs.LinuxResources{Unified: map[string]string{"pids.max": "1"}}})
		if err == nil || !strings.Contains(err.Error(), "runs as cgroup v1") {
			t.Errorf("unified pids.max on hybrid: %v, %v", m, err)
		}
	}
	for _, h := range hierarchiesOf(l) {
		if _, err := os.Stat(filepath.Join(h.mountpoint, base)); !os.IsNotExist(err) {
			t.Errorf("refused configs created %s (%v)", filepath.Join(h.mountpoint, base), err)
		}
	}
}

func TestRealRelativePath(t *testing.T) {
	realHost(t, ModeHybrid, ModeV1)
	own, err := ownCgroups()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	top := "nook-test-" + hex.EncodeToString(b)
	rel := top + "/rel"
	m, err := New(Config{Name: "x", Path: rel})
	if err != nil {
		t.Fatal(err)
	}
	st := m.State()
	t.Cleanup(func() {
		for c, d := range st.Paths {
			for d != "/" && filepath.Base(d) != top {
				d = filepath.Dir(d)
			}
			if d != "/" {
				if err := removeTree(d); err != nil {
					t.Errorf("cleanup %s: %v", hierName(c), err)
				}
			}
		}
	})
	cmd := start(t, "sleep", "1000")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	in := procCgroup(t, cmd.Process.Pid)
	for c := range st.Paths {
		want := filepath.Join(own[c], rel)
		if c == "" {
			want = filepath.Join(filepath.Dir(own[c]), rel)
		}
		// What runtime-tools' linux_cgroups_relative_* tests check.
		if in[c] != want || !strings.Contains(in[c], rel) {
			t.Errorf("%s: /proc/pid/cgroup says %q, want %q", hierName(c), in[c], want)
		}
	}
	stop(t, cmd)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	expectGone(t, m)
}

// TestRealPrepareSetApply is the order create uses: the cgroup made and its
// resources set while the init starts, the init moved in afterwards.
func TestRealPrepareSetApply(t *testing.T) {
	l := realHost(t, ModeHybrid, ModeV1, ModeV2)
	base := testBase(t, l)
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: p64(64 << 20)},
		Pids:   &specs.LinuxPids{Limit: p64(32)},
		CPU:    &specs.LinuxCPU{Cpus: "0"},
	}
	m, err := New(Config{Name: "x", Path: base + "/prep", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := m.(Preparer)
	if !ok {
		t.Fatal("the cgroupfs manager is not a Preparer")
	}
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	st := m.State()
	for c, d := range st.Paths {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("Prepare did not make the %s cgroup: %v", hierName(c), err)
		}
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("a prepared cgroup holds %v (%v)", pids, err)
	}
	if err := m.Set(res); err != nil {
		t.Fatalf("Set on a prepared, empty cgroup: %v", err)
	}
	cmd := start(t, "sleep", "1000")
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	in := procCgroup(t, cmd.Process.Pid)
	for c := range st.Paths {
		if got := in[c]; got != base+"/prep" {
			t.Errorf("%s: pid in %q, want %q", hierName(c), got, base+"/prep")
		}
	}
	if l.mode == ModeV2 {
		expectFiles(t, st.Paths[""], map[string]string{"memory.max": "67108864", "pids.max": "32", "cpuset.cpus": "0"})
	} else {
		expectFiles(t, st.Paths["memory"], map[string]string{"memory.limit_in_bytes": "67108864"})
		expectFiles(t, st.Paths["pids"], map[string]string{"pids.max": "32"})
		expectFiles(t, st.Paths["cpuset"], map[string]string{"cpuset.cpus": "0"})
	}
	stop(t, cmd)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	expectGone(t, m)
}

// TestRealDestroyRemovesSubCgroups: cgroups a container made under its own
// (systemd in a container, `exec --cgroup`) go with it, innermost first.
func TestRealDestroyRemovesSubCgroups(t *testing.T) {
	l := realHost(t, ModeHybrid, ModeV1, ModeV2)
	base := testBase(t, l)
	m, err := New(Config{Name: "x", Path: base + "/withsubs"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.(Preparer).Prepare(); err != nil {
		t.Fatal(err)
	}
	for _, d := range m.State().Paths {
		if err := os.MkdirAll(filepath.Join(d, "a", "b"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(d, "c"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	expectGone(t, m)
	// And a cgroup already gone is not an error.
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}
