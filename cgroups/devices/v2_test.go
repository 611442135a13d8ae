package devices

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const v2Root = "/sys/fs/cgroup/unified"

func needCgroup2(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups and load eBPF")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(v2Root, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skipf("needs a cgroup2 hierarchy at %s", v2Root)
	}
}

// nookProgramIDs lists the nook device filters attached to dir.
func nookProgramIDs(t *testing.T, dir string) []uint32 {
	t.Helper()
	cg, err := openCgroup2(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cg)
	progs, err := nookPrograms(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFDs(progs)
	var ids []uint32
	for _, p := range progs {
		id, _, err := programInfo(p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func timedSetV2(t *testing.T, dir string, rules []specs.LinuxDeviceCgroup) {
	t.Helper()
	start := time.Now()
	if err := SetV2(dir, rules); err != nil {
		t.Fatal(err)
	}
	t.Logf("SetV2 with %d rules took %v", len(rules), time.Since(start))
}

func TestSetV2RealCgroup(t *testing.T) {
	needCgroup2(t)
	dir := makeTestCgroup(t, v2Root)
	h := startHelper(t)
	h.joinCgroup(t, dir)

	first := []specs.LinuxDeviceCgroup{allow("c", 1, 3, "rwm"), {Type: "c", Major: num(1), Minor: num(5), Access: "rwm"}}
	timedSetV2(t, dir, first)
	expectAccess(t, h, map[string]string{
		"open /dev/null rw": "ok",
		"open /dev/zero r":  "EPERM",
		"open /dev/full r":  "EPERM", // default deny
	})
	ids := nookProgramIDs(t, dir)
	if len(ids) != 1 {
		t.Fatalf("%d nook programs attached, want 1", len(ids))
	}

	// Replacing the rules on the live cgroup.
	second := []specs.LinuxDeviceCgroup{allow("c", 1, 5, "r"), allow("c", 1, 7, "rwm")}
	timedSetV2(t, dir, second)
	expectAccess(t, h, map[string]string{
		"open /dev/null r": "EPERM",
		"open /dev/zero r": "ok",
		"open /dev/zero w": "EPERM",
		"open /dev/full w": "ok",
	})
	ids2 := nookProgramIDs(t, dir)
	if len(ids2) != 1 || ids2[0] == ids[0] {
		t.Fatalf("after replacing: nook programs %v (before %v), want exactly one new one", ids2, ids)
	}

	// Allow-all needs no program at all.
	timedSetV2(t, dir, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}})
	if ids := nookProgramIDs(t, dir); len(ids) != 0 {
		t.Fatalf("allow-all left programs %v attached", ids)
	}
	expectAccess(t, h, map[string]string{"open /dev/null r": "ok", "open /dev/zero rw": "ok"})

	// The rules every container gets: default deny plus the defaults.
	timedSetV2(t, dir, Rules(nil))
	expectAccess(t, h, map[string]string{"open /dev/null rw": "ok", "open /dev/zero r": "ok"})
	if ids := nookProgramIDs(t, dir); len(ids) != 1 {
		t.Fatalf("%d nook programs attached, want 1", len(ids))
	}
}

// Programs someone else attached to the cgroup are left alone.
func TestSetV2KeepsForeignPrograms(t *testing.T) {
	needCgroup2(t)
	dir := makeTestCgroup(t, v2Root)
	cg, err := openCgroup2(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cg)
	foreign, err := loadDeviceProgram("other_devices", buildProgram(mustParse(t, []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}})))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(foreign)
	if err := attachDeviceProgram(cg, foreign); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := SetV2(dir, Rules(nil)); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := attachedDeviceProgramIDs(cg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || len(nookProgramIDs(t, dir)) != 1 {
		t.Fatalf("attached programs %v, want the foreign one and one nook filter", ids)
	}
}

// The kernel's answers for a spread of devices and policies agree with
// Allowed, on cgroup v2 and, for policies v1 can express, on cgroup v1.
func TestKernelAgreesWithAllowed(t *testing.T) {
	policies := [][]specs.LinuxDeviceCgroup{
		{allow("c", 1, 3, "rwm"), {Type: "c", Major: num(1), Minor: num(5), Access: "rwm"}},
		{{Allow: true, Access: "rwm"}, {Type: "c", Major: num(1), Access: "w"}, allow("c", 1, 7, "w"), {Type: "b", Access: "r"}},
		{{Access: "rwm"}, allow("c", 1, -1, "r"), allow("c", -1, 5, "w"), allow("b", 7, -1, "rwm"), allow("c", 4000, 5, "m")},
		{{Allow: true, Access: "rwm"}, {Type: "c", Major: num(1), Minor: num(5), Access: "rw"}, {Type: "b", Access: "m"}},
		Rules([]specs.LinuxDeviceCgroup{{Access: "rwm"}, allow("b", 7, 250, "rwm")}),
	}
	t.Run("v2", func(t *testing.T) {
		needCgroup2(t)
		nodes := makeNodes(t)
		dir := makeTestCgroup(t, v2Root)
		h := startHelper(t)
		h.joinCgroup(t, dir)
		for _, rules := range policies {
			if err := SetV2(dir, rules); err != nil {
				t.Fatal(err)
			}
			checkMatrix(t, h, nodes, rules)
		}
	})
	t.Run("v1", func(t *testing.T) {
		needV1Devices(t)
		nodes := makeNodes(t)
		dir := makeTestCgroup(t, v1DevicesRoot)
		h := startHelper(t)
		h.joinCgroup(t, dir)
		enforced := 0
		for _, rules := range policies {
			if err := SetV1(dir, rules); err != nil {
				if strings.Contains(err.Error(), "cgroup v1 cannot enforce it") {
					continue
				}
				t.Fatal(err)
			}
			enforced++
			checkMatrix(t, h, nodes, rules)
		}
		if enforced < 3 {
			t.Errorf("only %d policies enforced on v1", enforced)
		}
	})
}

func TestSetV2WithoutCapabilities(t *testing.T) {
	needCgroup2(t)
	dir := makeTestCgroup(t, v2Root)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=setv2-nocap", "NOOK_DEVICES_TEST_DIR="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	msg := strings.TrimSpace(string(out))
	if !strings.HasPrefix(msg, "linux.resources.devices: ") || !strings.Contains(msg, "operation not permitted") || !strings.Contains(msg, "CAP_SYS_ADMIN") {
		t.Fatalf("SetV2 without capabilities: got %q, want a permission error naming CAP_SYS_ADMIN", msg)
	}
	t.Logf("error without capabilities: %s", msg)
	if ids := nookProgramIDs(t, dir); len(ids) != 0 {
		t.Fatalf("programs %v attached anyway", ids)
	}
}

func TestSetV2NotCgroup2(t *testing.T) {
	err := SetV2(t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "is not a cgroup2 directory") {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkSetV2(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(v2Root, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		b.Skipf("needs a cgroup2 hierarchy at %s", v2Root)
	}
	dir := makeTestCgroup(b, v2Root)
	rules := Rules([]specs.LinuxDeviceCgroup{{Access: "rwm"}})
	for b.Loop() {
		if err := SetV2(dir, rules); err != nil {
			b.Fatal(err)
		}
	}
}
