package security

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// hostGlobalSysctl is a sysctl of the host that no namespace owns, harmless
// to change for a moment (how long the kernel waits before breaking a file
// lease), used as the target a redirected write would hit.
const hostGlobalSysctl = "/proc/sys/fs/lease-break-time"

// CVE-2025-52881: the write of a linux.sysctl is redirected by a mount over
// the file it goes to: a bind of a host file, a bind of a *global* procfs
// file of the host (a write there passes a "is it procfs?" check and changes
// the host), or a tmpfs over the directory. Each create must fail naming the
// sysctl, and neither the decoy, the host's global sysctl nor the host's own
// value of the key may change. Protection (invariant 4): libcontainer/
// sysctl/procfs.go openProcFileForWrite walks from the container's verified
// procfs root with RESOLVE_NO_XDEV|RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH, so
// crossing any mount fails with EXDEV, and re-checks fstatfs on the opened
// file. Without it, "1" would be written to the decoy or the host's
// fs.lease-break-time. The plain /proc/... destinations are now refused
// before create by libcontainer/rootfs/mount.go checkProcDestination; the
// symlinked ones still reach the sysctl write and test its checks.
func TestCVE2025_52881SysctlRedirectedByMount(t *testing.T) {
	e := newEnv(t)
	decoy := filepath.Join(e.Dir, "decoy")
	must(t, os.WriteFile(decoy, []byte("DECOY\n"), 0o644))
	// A directory shaped like /proc/sys, its ip_forward the same decoy.
	decoyDir := filepath.Join(e.Dir, "decoy-sys")
	must(t, os.MkdirAll(filepath.Join(decoyDir, "net", "ipv4"), 0o755))
	must(t, os.Link(decoy, filepath.Join(decoyDir, "net", "ipv4", "ip_forward")))
	hostForward := harness.ReadString("/proc/sys/net/ipv4/ip_forward")
	hostGlobal := harness.ReadString(hostGlobalSysctl)
	if hostGlobal == "" {
		t.Skipf("%s is not readable on this host", hostGlobalSysctl)
	}
	defer func() {
		// Put the host back if a regression wrote to it.
		if got := harness.ReadString(hostGlobalSysctl); got != hostGlobal {
			os.WriteFile(hostGlobalSysctl, []byte(hostGlobal), 0)
		}
	}()
	const key, file = "net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"
	type mountCase struct {
		name  string
		mount specs.Mount
	}
	var cases []mountCase
	// Each decoy given under /proc, and through the image's /p -> proc
	// symlink, which names no "/proc" and so reaches the sysctl write.
	for _, dir := range []string{"/proc", procAlias} {
		sysFile := dir + strings.TrimPrefix(file, "/proc")
		cases = append(cases,
			mountCase{"bind-host-file-over-sysctl" + dir, specs.Mount{Destination: sysFile, Type: "bind", Source: decoy, Options: []string{"bind"}}},
			mountCase{"bind-host-global-sysctl-over-sysctl" + dir, specs.Mount{Destination: sysFile, Type: "bind", Source: hostGlobalSysctl, Options: []string{"bind"}}},
			mountCase{"tmpfs-over-sysctl-dir" + dir, specs.Mount{Destination: dir + "/sys/net/ipv4", Type: "tmpfs", Source: "tmpfs"}},
			mountCase{"bind-decoy-dir-over-proc-sys" + dir, specs.Mount{Destination: dir + "/sys", Type: "bind", Source: decoyDir, Options: []string{"rbind"}}},
		)
	}
	for _, c := range cases {
		id := e.ID()
		b := e.Bundle(harness.AddMount(c.mount), func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{key: "1"}
		})
		withProcAlias(t, b)
		_, r := e.TryCreate(harness.Opts{}, b, id)
		if r.Code == 0 {
			t.Errorf("%s: create succeeded with a mount over the sysctl's file", c.name)
			e.ForceDelete(id)
		} else if !refusedForProc(r) {
			t.Errorf("%s: want exit 1 naming the sysctl or /proc: %s", c.name, r)
		} else {
			t.Logf("%s: refused: %s", c.name, strings.TrimSpace(r.Stderr))
		}
		if got := harness.ReadString(decoy); got != "DECOY\n" {
			t.Errorf("%s: the sysctl was written to the decoy: %q", c.name, got)
		}
		if got := harness.ReadString(hostGlobalSysctl); got != hostGlobal {
			t.Errorf("%s: the host's %s changed from %q to %q", c.name, hostGlobalSysctl, hostGlobal, got)
			os.WriteFile(hostGlobalSysctl, []byte(hostGlobal), 0)
		}
		if got := harness.ReadString("/proc/sys/net/ipv4/ip_forward"); got != hostForward {
			t.Errorf("%s: the host's ip_forward changed from %q to %q", c.name, hostForward, got)
		}
	}
	// The control: without a decoy the same sysctl is set, in the
	// container's network namespace only.
	b := e.Bundle(func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{key: "1"} }, harness.Args("cat", file))
	if out := e.OK(e.Nook("run", "--bundle", b, e.ID())).Stdout; out != "1\n" {
		t.Errorf("control: the container reads %s = %q, want 1", key, out)
	}
	if got := harness.ReadString("/proc/sys/net/ipv4/ip_forward"); got != hostForward {
		t.Errorf("control: the host's ip_forward changed from %q to %q", hostForward, got)
	}
}
