package cgroups

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2ChildEnv marks the re-executed test binary that runs inside a private
// mount namespace whose /sys/fs/cgroup is a lone cgroup2 mount.
const v2ChildEnv = "NOOK_CGROUPS_TEST_PURE_V2"

// TestRealPureV2 checks the v2 driver on a pure cgroup2 view: on a v2 host
// directly, on a hybrid one by re-running itself under `unshare -m` after
// replacing /sys/fs/cgroup (in that namespace only) with a cgroup2 mount.
// The cgroup2 hierarchy is the host's, so everything made is removed.
func TestRealPureV2(t *testing.T) {
	if os.Getenv(v2ChildEnv) == "1" {
		pureV2Checks(t)
		return
	}
	l := realHost(t, ModeHybrid, ModeV2)
	if l.mode == ModeV2 {
		pureV2Checks(t)
		return
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	script := `mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-m", "sh", "-c", script, "sh",
		os.Args[0], "-test.run", "^TestRealPureV2$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), v2ChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("pure-v2 child:\n%s", out)
	if err != nil {
		t.Fatalf("pure-v2 child failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestRealPureV2") || strings.Contains(string(out), "--- SKIP") {
		t.Fatal("pure-v2 child did not pass")
	}
}

func pureV2Checks(t *testing.T) {
	l := realHost(t, ModeV2)
	if l.unified.mountpoint != "/sys/fs/cgroup" {
		t.Fatalf("cgroup2 at %s, want /sys/fs/cgroup", l.unified.mountpoint)
	}
	base := testBase(t, l)
	avail, _ := readFile("/sys/fs/cgroup", "cgroup.controllers")
	t.Logf("controllers at the root: %q", avail)
	ps := ""
	res := &specs.LinuxResources{}
	if sizes, _ := hugePageSizes(); len(sizes) > 0 && strings.Contains(avail, "hugetlb") {
		ps = sizes[0]
		res.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: ps, Limit: 6 << 20}}
	}
	m, err := New(Config{Name: "x", Path: base + "/c", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	st := m.State()
	dir := filepath.Join("/sys/fs/cgroup", base, "c")
	if st.Mode != ModeV2 || len(st.Paths) != 1 || st.Paths[""] != dir {
		t.Fatalf("State() = %+v, want v2 with only %s", st, dir)
	}
	cmd, release := startHeld(t, "while :; do :; done")
	pid := cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	release()
	if got := procCgroup(t, pid)[""]; got != base+"/c" {
		t.Errorf("/proc/pid/cgroup 0:: = %q, want %q", got, base+"/c")
	}
	// Every controller of the root is enabled down to the container.
	for _, d := range []string{"/sys/fs/cgroup", filepath.Dir(dir)} {
		sc := read(t, d, "cgroup.subtree_control")
		for _, c := range strings.Fields(avail) {
			if !strings.Contains(" "+sc+" ", " "+c+" ") {
				t.Errorf("%s/cgroup.subtree_control = %q, lacks %s", d, sc, c)
			}
		}
	}
	if ps != "" {
		expectFiles(t, dir, map[string]string{"hugetlb." + ps + ".max": "6291456"})
	}
	if !strings.Contains(avail, "memory") {
		err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p64(1 << 30)}})
		if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.memory: the memory controller is not available") {
			t.Errorf("memory limit without the controller: %v", err)
		}
		if _, err := m.OOMEvents(context.Background()); err == nil {
			t.Error("OOMEvents without a memory controller succeeded")
		}
	}

	pids, err := m.Pids()
	if err != nil || len(pids) != 1 || pids[0] != pid {
		t.Errorf("Pids() = %v, %v; want [%d]", pids, err, pid)
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
		t.Errorf("frozen busy loop used CPU: %d -> %d", a, b)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if fr, err := m.Frozen(); err != nil || fr {
		t.Errorf("Frozen() = %v, %v after Thaw", fr, err)
	}
	time.Sleep(50 * time.Millisecond)

	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	var doc map[string]json.RawMessage
	json.Unmarshal(b, &doc)
	for _, k := range []string{"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("stats JSON lacks %q: %s", k, b)
		}
	}
	if s.CPU.Usage.Total == 0 {
		t.Errorf("cpu usage is 0 for a busy loop: %s", b)
	}
	if _, ok := s.Hugetlb[ps]; ps != "" && !ok {
		t.Errorf("hugetlb stats lack %s: %s", ps, b)
	}

	if err := KillAll(m, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("after KillAll the loop ended with %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	expectGone(t, m)
}
