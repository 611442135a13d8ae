package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCgroup2Only runs nook in a private mount namespace whose /sys/fs/cgroup
// is a single cgroup2 mount, as on a pure cgroup v2 host. Nothing is created
// on the host's cgroup tmpfs: the namespace only unmounts and mounts.
func TestCgroup2Only(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("cat", "/proc/self/mountinfo"))
	id := e.id()
	r := e.nookOnCgroup2("run", "--bundle", b, id)
	if r.Code != 0 {
		t.Fatalf("nook run in a cgroup2-only mount namespace: %s", r)
	}
	stdout := r.Stdout
	var cgroupMounts []string
	for _, l := range nonEmptyLines(stdout) {
		pre, post, _ := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) >= 5 && len(g) >= 1 && strings.HasPrefix(f[4], "/sys/fs/cgroup") {
			cgroupMounts = append(cgroupMounts, f[4]+" "+g[0])
		}
	}
	if len(cgroupMounts) != 1 || cgroupMounts[0] != "/sys/fs/cgroup cgroup2" {
		t.Errorf("container's cgroup mounts = %q, want exactly /sys/fs/cgroup of type cgroup2", cgroupMounts)
	}
	// The host's view is unchanged.
	if ty := mountTable(readString("/proc/self/mountinfo"))["/sys/fs/cgroup"]; ty == "" {
		t.Errorf("host /sys/fs/cgroup is gone")
	}
}

// TestCgroup2Resources drives a container's cgroup on a simulated pure v2
// host: hugetlb (the one controller this machine's cgroup2 has) enabled
// through cgroup.subtree_control, a limit written, pause/resume through
// cgroup.freeze, ps, stats, and nothing left after delete.
func TestCgroup2Resources(t *testing.T) {
	e := newEnv(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is missing")
	}
	b := e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		s.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}
	})
	id := e.id()
	script := `set -e
mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup
nook() { "$NOOK" --root "$ROOT" "$@"; }
nook create --bundle "$BUNDLE" "$ID" >/dev/null
nook start "$ID"
cg=/sys/fs/cgroup/nook/$ID
echo "subtree=$(cat /sys/fs/cgroup/nook/cgroup.subtree_control)"
echo "hugetlb=$(cat $cg/hugetlb.2MB.max)"
nook pause "$ID"
echo "paused=$(nook state "$ID" | grep -c '"paused"') freeze=$(cat $cg/cgroup.freeze)"
nook resume "$ID"
echo "resumed=$(cat $cg/cgroup.freeze)"
echo "ps=$(nook ps --format json "$ID" | grep -c '^\[[0-9]*\]$')"
echo "stats=$(nook events --stats "$ID" | grep -c '"type":"stats"')"
nook delete --force "$ID"
test -e "$cg" && echo left || echo gone`
	cmd := exec.Command(unshare, "-m", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "NOOK="+suite.Nook, "ROOT="+e.Root, "BUNDLE="+b, "ID="+id)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pure-v2 lifecycle: %v\n%s", err, out)
	}
	want := []string{"subtree=hugetlb", "hugetlb=8388608", "paused=1 freeze=1", "resumed=0", "ps=1", "stats=1", "gone"}
	if got := nonEmptyLines(string(out)); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("pure-v2 lifecycle printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
