package devices

import (
	"fmt"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// testNode is a device node the kernel tests open. Opening one whose
// driver is absent fails with ENXIO or ENODEV, but only after the device
// cgroup said yes, so any device number can be probed: EPERM means denied.
type testNode struct {
	typ          byte
	major, minor uint32
}

func testNodes() []testNode {
	return []testNode{
		{'c', 1, 3},    // null
		{'c', 1, 5},    // zero
		{'c', 1, 7},    // full
		{'c', 4000, 5}, // no driver
		{'b', 7, 250},  // loop minor nobody set up
	}
}

// makeNodes creates the test nodes in a fresh directory (as root, from
// outside the test cgroup) and returns their paths.
func makeNodes(t *testing.T) map[testNode]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[testNode]string{}
	for _, n := range testNodes() {
		mode := uint32(unix.S_IFCHR)
		if n.typ == 'b' {
			mode = unix.S_IFBLK
		}
		p := filepath.Join(dir, fmt.Sprintf("%c-%d-%d", n.typ, n.major, n.minor))
		if err := unix.Mknod(p, mode|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			t.Skipf("needs device nodes in %s: %v", dir, err)
		}
		paths[n] = p
	}
	return paths
}

// checkMatrix asks the helper (inside the cgroup enforcing rules) to open
// every node for r, w and rw and to mknod one like it, and compares the
// kernel's answers with Allowed.
func checkMatrix(t *testing.T, h *helper, nodes map[testNode]string, rules []specs.LinuxDeviceCgroup) {
	t.Helper()
	for n, p := range nodes {
		for _, access := range []string{"r", "w", "rw", "m"} {
			req := fmt.Sprintf("open %s %s", p, access)
			if access == "m" {
				req = fmt.Sprintf("mknod %s.new %c %d %d", p, n.typ, n.major, n.minor)
			}
			got := h.ask(t, req)
			want := Allowed(rules, n.typ, n.major, n.minor, access)
			if (got != "EPERM") != want {
				t.Errorf("rules %v: %c %d:%d %s: kernel says %s, Allowed says %v", rules, n.typ, n.major, n.minor, access, got, want)
			}
		}
	}
}
