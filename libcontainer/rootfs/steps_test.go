package rootfs

// Order and arguments of Setup's steps, checked without root: the whole of
// openRoot and Setup runs against a kernel.Recorder, which makes lookups and
// directories for real in a temporary tree and only records mounts, root
// switches and device nodes. Each test is named after the rule it checks;
// swapping two steps in Setup makes at least one of them fail.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/kernel"
	"github.com/nookrt/nook/libcontainer/kernel/kerneltest"
	"github.com/nookrt/nook/spec"
)

const stepsRootfs = "/bundle/rootfs"

// hostDevices are the host's nodes for the default devices (bound from
// there in a user namespace).
var hostDevices = []struct {
	path         string
	major, minor uint32
}{
	{"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
	{"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
}

type setupRun struct {
	kerneltest.Log
	r   *kernel.Recorder
	err error
}

// newRecorder is a fake host like this one, with a cgroup2 host and the
// rootfs of a typical image (what masked and read-only paths name exists).
func newRecorder(t *testing.T) *kernel.Recorder {
	t.Helper()
	dir := t.TempDir()
	r, err := kernel.NewRecorder(dir, stepsRootfs)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]string{{"/proc", "proc"}, {"/sys", "sysfs"}, {"/sys/fs/cgroup", "cgroup2"}} {
		if err := r.HostMount(m[0], m[1], ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range hostDevices {
		if err := r.HostDevice(d.path, unix.S_IFCHR, d.major, d.minor); err != nil {
			t.Fatal(err)
		}
	}
	host := r.Host()
	rootfs := filepath.Join(host, stepsRootfs)
	dirs := []string{
		host + "/proc/self", host + "/sys/fs/cgroup/nook.slice/c1", host + "/srv/data",
		rootfs + "/proc/acpi", rootfs + "/proc/sys", rootfs + "/sys/firmware", rootfs + "/etc", rootfs + "/tmp",
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		host + "/proc/self/cgroup": "0::/nook.slice/c1\n",
		host + "/proc/kcore":       "",
		host + "/etc/resolv.conf":  "nameserver 127.0.0.1\n",
		rootfs + "/proc/kcore":     "",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// runSetup runs openRoot and Setup on the Recorder, with notes for the
// hooks, and returns what was recorded.
func runSetup(t *testing.T, r *kernel.Recorder, s *specs.Spec, cfg Config) setupRun {
	t.Helper()
	propagation := ""
	if s.Linux != nil {
		propagation = s.Linux.RootfsPropagation
	}
	root, err := openRoot(r, stepsRootfs, propagation, true)
	if err != nil {
		t.Fatalf("openRoot: %v", err)
	}
	defer root.Close()
	cfg.Spec = s
	cfg.Bundle = "/bundle"
	cfg.Propagation = propagation
	cfg.Kernel = r
	cfg.BeforePivot = func() error { r.Note("BeforePivot"); return nil }
	cfg.AfterPivot = func() error { r.Note("AfterPivot"); return nil }
	err = Setup(root, &cfg)
	return setupRun{Log: kerneltest.Log{Calls: r.Calls()}, r: r, err: err}
}

func mustSetup(t *testing.T, s *specs.Spec, cfg Config) setupRun {
	t.Helper()
	run := runSetup(t, newRecorder(t), s, cfg)
	if run.err != nil {
		t.Fatalf("Setup: %v\n%s", run.err, run.String())
	}
	return run
}

// step matches a recorded call (kerneltest.Step).
type step = kerneltest.Step

// The steps every test names.
var (
	call = kerneltest.Call
	note = kerneltest.Note
)

// mountOn: something is mounted on path (a new filesystem or an attach).
func mountOn(path string) step {
	return step{Desc: "mount on " + path, Match: func(c kernel.Call) bool {
		return (c.Op == "move_mount" || c.Op == "mount" && c.FSType != "") && c.Path == path
	}}
}

// readonly: path made read-only through mount_setattr.
func readonlyAttr(path string) step {
	return step{Desc: "mount_setattr ro " + path, Match: func(c kernel.Call) bool {
		return c.Op == "mount_setattr" && c.Path == path && c.Attr.Attr_set&unix.MOUNT_ATTR_RDONLY != 0
	}}
}

func defaultSpec() *specs.Spec { return spec.Default(false) }

// dockerSpec is what Docker/containerd write: host binds, tmpfs on /run,
// /dev/shm, a read-only rootfs, masked and read-only paths, rslave binds
// and a shared root.
func dockerSpec() *specs.Spec {
	s := spec.Default(false)
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/etc/resolv.conf",
			Options: []string{"rbind", "rprivate"}},
		specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data",
			Options: []string{"rbind", "ro", "nosuid", "nodev", "rslave"}},
		specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "noexec", "mode=755", "size=65536k"}},
	)
	s.Root.Readonly = true
	s.Linux.RootfsPropagation = "rshared"
	return s
}

func TestRootfsBecomesAMountOfItsOwnBeforeAnythingIsMountedInIt(t *testing.T) {
	run := mustSetup(t, defaultSpec(), Config{})
	// The host's propagation is cut first, then the rootfs is cloned onto
	// itself, then the config's first mount.
	run.InOrder(t,
		step{Desc: "mount host:/ rslave", Match: func(c kernel.Call) bool {
			return c.Op == "mount" && c.Path == "host:/" && c.Flags == unix.MS_SLAVE|unix.MS_REC
		}},
		call("open_tree", "/"),
		step{Desc: "move_mount clone / onto /", Match: func(c kernel.Call) bool {
			return c.Op == "move_mount" && c.Path == "/" && c.Source == "clone /"
		}},
		mountOn("/proc"),
	)
	attach := run.First(t, call("move_mount", "/"))
	for i, c := range run.Calls[:attach] {
		if c.Op == "mount" && c.Path != "host:/" || c.Op == "move_mount" || c.Op == "mknodat" {
			t.Fatalf("call %d (%s) is made before the rootfs is a mount of its own:\n%s", i, c, run.String())
		}
	}
}

func TestMountsAreMadeInConfigOrder(t *testing.T) {
	for name, s := range map[string]*specs.Spec{"default": defaultSpec(), "docker": dockerSpec(), "rootless": spec.Default(true)} {
		t.Run(name, func(t *testing.T) {
			run := mustSetup(t, s, Config{InUserns: name == "rootless"})
			var steps []step
			for _, m := range s.Mounts {
				steps = append(steps, mountOn(m.Destination))
			}
			run.InOrder(t, steps...)
		})
	}
}

func TestMountArgumentsFollowTheConfig(t *testing.T) {
	run := mustSetup(t, defaultSpec(), Config{})
	want := map[string]kernel.Call{
		"/proc":       {Op: "mount", Source: "proc", FSType: "proc"},
		"/dev":        {Op: "mount", Source: "tmpfs", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		"/dev/pts":    {Op: "mount", Source: "devpts", FSType: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		"/dev/shm":    {Op: "mount", Source: "shm", FSType: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, Data: "mode=1777,size=65536k"},
		"/dev/mqueue": {Op: "mount", Source: "mqueue", FSType: "mqueue", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		"/sys":        {Op: "mount", Source: "sysfs", FSType: "sysfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY},
	}
	for dest, w := range want {
		c := run.Calls[run.First(t, mountOn(dest))]
		w.Path = dest
		if c != w {
			t.Errorf("mount on %s:\n got %s\nwant %s", dest, c, w)
		}
	}
	// No cgroup namespace: the container's own cgroup is bound, read-only.
	run.InOrder(t, call("open_tree", "host:/sys/fs/cgroup/nook.slice/c1"),
		readonlyAttr("clone host:/sys/fs/cgroup/nook.slice/c1"), mountOn("/sys/fs/cgroup"))
}

func TestDevPtsIsMountedBeforeAReadonlyDevIsMadeReadonly(t *testing.T) {
	s := defaultSpec()
	s.Root.Readonly = false
	s.Mounts[1].Options = append(s.Mounts[1].Options, "ro") // /dev
	run := mustSetup(t, s, Config{})
	dev := run.Calls[run.First(t, mountOn("/dev"))]
	if dev.Flags&unix.MS_RDONLY != 0 {
		t.Fatalf("/dev is mounted read-only at once (%s): nothing could be made in it", dev)
	}
	run.InOrder(t, mountOn("/dev"), mountOn("/dev/pts"), call("mknodat", "/dev/null"),
		call("symlinkat", "/dev/ptmx"), readonlyAttr("/dev"))
	last := run.All(readonlyAttr("/dev"))
	for _, s := range []step{mountOn("/dev/shm"), mountOn("/dev/mqueue"), call("mknodat", "/dev/tty"), call("symlinkat", "/dev/core")} {
		if i := run.First(t, s); i > last[0] {
			t.Fatalf("%s (call %d) after /dev was made read-only (call %d):\n%s", s.Desc, i, last[0], run.String())
		}
	}
}

func TestDevicesAreMadeUnderDevAfterItsMountAndBeforeBeforePivot(t *testing.T) {
	run := mustSetup(t, defaultSpec(), Config{})
	for _, d := range hostDevices {
		i := run.First(t, call("mknodat", d.path))
		c := run.Calls[i]
		if c.Flags != unix.S_IFCHR|0o666 || c.Data != fmt.Sprintf("%d:%d", d.major, d.minor) {
			t.Errorf("mknodat %s: got mode %#o dev %s", d.path, c.Flags, c.Data)
		}
		run.InOrder(t, mountOn("/dev"), call("mknodat", d.path), note("BeforePivot"))
	}
	for _, l := range []string{"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/ptmx", "/dev/core"} {
		run.InOrder(t, mountOn("/dev"), call("symlinkat", l), note("BeforePivot"))
	}
}

func TestDevicesAreBoundFromTheHostInAUserNamespace(t *testing.T) {
	run := mustSetup(t, spec.Default(true), Config{InUserns: true})
	run.None(t, step{Desc: "mknodat", Match: func(c kernel.Call) bool { return c.Op == "mknodat" }})
	for _, d := range hostDevices {
		run.InOrder(t, mountOn("/dev"), call("open_tree", "host:"+d.path),
			step{Desc: "move_mount host " + d.path, Match: func(c kernel.Call) bool {
				return c.Op == "move_mount" && c.Path == d.path && c.Source == "clone host:"+d.path
			}}, note("BeforePivot"))
	}
}

func TestRootlessSysIsAReadonlyBindOfTheHostsSetBeforeTheAttach(t *testing.T) {
	run := mustSetup(t, spec.Default(true), Config{InUserns: true})
	run.None(t, step{Desc: "sysfs mount", Match: func(c kernel.Call) bool { return c.Op == "mount" && c.FSType == "sysfs" }})
	run.InOrder(t, call("open_tree", "host:/sys"), readonlyAttr("clone host:/sys"), mountOn("/sys"))
}

func TestSysfsRefusedInAUserNamespaceFallsBackToABindOfTheHosts(t *testing.T) {
	r := newRecorder(t)
	r.Fail("mount", "/sys", unix.EPERM)
	run := runSetup(t, r, defaultSpec(), Config{InUserns: true})
	if run.err != nil {
		t.Fatalf("Setup: %v\n%s", run.err, run.String())
	}
	run.InOrder(t, call("mount", "/sys"), call("open_tree", "host:/sys"), readonlyAttr("clone host:/sys"), call("move_mount", "/sys"))
}

func TestPivotRootRunsAfterBeforePivotAndBeforeAfterPivot(t *testing.T) {
	run := mustSetup(t, defaultSpec(), Config{})
	run.InOrder(t, note("BeforePivot"), call("fchdir", "/"), call("pivot_root", "/"),
		call("fchdir", "host:/"), call("mount", "host:/"), call("umount2", "host:/"), call("chdir", "/"), note("AfterPivot"))
	c := run.Calls[run.All(call("umount2", "host:/"))[0]]
	if c.Flags != unix.MNT_DETACH {
		t.Errorf("old root detached with flags %#x, want MNT_DETACH", c.Flags)
	}
	run.None(t, call("chroot", "/"))
}

func TestNoPivotHidesHostKernelFSThenMovesAndChrootsBetweenTheHooks(t *testing.T) {
	run := mustSetup(t, defaultSpec(), Config{NoPivot: true})
	run.None(t, step{Desc: "pivot_root", Match: func(c kernel.Call) bool { return c.Op == "pivot_root" }})
	move := step{Desc: "mount MS_MOVE / onto host:/", Match: func(c kernel.Call) bool {
		return c.Op == "mount" && c.Flags == unix.MS_MOVE && c.Source == "/" && c.Path == "host:/"
	}}
	run.InOrder(t, note("BeforePivot"), call("umount2", "host:/proc"), move, call("chroot", "/"), call("chdir", "/"), note("AfterPivot"))
	run.InOrder(t, call("umount2", "host:/sys"), move)
}

func TestChrootOnlyNeitherPivotsNorMoves(t *testing.T) {
	run := mustSetup(t, defaultSpec(), Config{Chroot: true})
	run.None(t, step{Desc: "pivot_root", Match: func(c kernel.Call) bool { return c.Op == "pivot_root" }})
	run.None(t, step{Desc: "MS_MOVE", Match: func(c kernel.Call) bool { return c.Op == "mount" && c.Flags&unix.MS_MOVE != 0 }})
	run.InOrder(t, note("BeforePivot"), call("chroot", "/"), note("AfterPivot"))
}

func TestMaskedAndReadonlyPathsComeAfterAfterPivot(t *testing.T) {
	for name, s := range map[string]*specs.Spec{"default": defaultSpec(), "docker": dockerSpec()} {
		t.Run(name, func(t *testing.T) {
			run := mustSetup(t, s, Config{})
			after := run.First(t, note("AfterPivot"))
			// A file is masked with the container's /dev/null, the first
			// directory with a new read-only tmpfs, the next with its clone.
			run.InOrder(t, note("AfterPivot"), call("open_tree", "/dev/null"), step{Desc: "mask /proc/kcore", Match: func(c kernel.Call) bool {
				return c.Op == "move_mount" && c.Path == "/proc/kcore" && c.Source == "clone /dev/null"
			}})
			run.InOrder(t, note("AfterPivot"), call("fsopen", ""), step{Desc: "mask /proc/acpi", Match: func(c kernel.Call) bool {
				return c.Op == "move_mount" && c.Path == "/proc/acpi" && c.Source == "new tmpfs"
			}}, step{Desc: "mask /sys/firmware", Match: func(c kernel.Call) bool {
				return c.Op == "move_mount" && c.Path == "/sys/firmware" && c.Source == "clone new tmpfs"
			}})
			fsmount := run.Calls[run.First(t, call("fsmount", ""))]
			if fsmount.Flags&unix.MOUNT_ATTR_RDONLY == 0 {
				t.Errorf("mask tmpfs is not read-only: %s", fsmount)
			}
			run.InOrder(t, note("AfterPivot"), call("open_tree", "/proc/sys"), readonlyAttr("clone /proc/sys"), call("move_mount", "/proc/sys"))
			for _, p := range []string{"/proc/kcore", "/proc/acpi", "/sys/firmware", "/proc/sys"} {
				if i := run.First(t, call("move_mount", p)); i < after {
					t.Fatalf("%s covered before AfterPivot", p)
				}
			}
		})
	}
}

func TestBindAttributesAreSetBeforeTheAttachAndPropagationAfter(t *testing.T) {
	run := mustSetup(t, dockerSpec(), Config{})
	run.InOrder(t, call("open_tree", "host:/srv/data"), readonlyAttr("clone host:/srv/data"),
		call("move_mount", "/data"),
		step{Desc: "mount /data rslave", Match: func(c kernel.Call) bool {
			return c.Op == "mount" && c.Path == "/data" && c.FSType == "" && c.Flags == unix.MS_SLAVE|unix.MS_REC
		}})
	run.InOrder(t, call("move_mount", "/etc/resolv.conf"),
		step{Desc: "mount /etc/resolv.conf rprivate", Match: func(c kernel.Call) bool {
			return c.Op == "mount" && c.Path == "/etc/resolv.conf" && c.Flags == unix.MS_PRIVATE|unix.MS_REC
		}})
}

func TestRootPropagationIsAppliedToTheNewRootAfterThePivotAndMounts(t *testing.T) {
	run := mustSetup(t, dockerSpec(), Config{})
	shared := step{Desc: "mount / rshared", Match: func(c kernel.Call) bool {
		return c.Op == "mount" && c.Path == "/" && c.FSType == "" && c.Flags == unix.MS_SHARED|unix.MS_REC
	}}
	run.InOrder(t, mountOn("/run"), call("pivot_root", "/"), call("umount2", "host:/"), shared, note("AfterPivot"))
	// With rshared the host's "/" stays shared (OpenRoot), not rslave.
	run.InOrder(t, step{Desc: "mount host:/ rshared", Match: func(c kernel.Call) bool {
		return c.Op == "mount" && c.Path == "host:/" && c.Flags == unix.MS_SHARED|unix.MS_REC
	}}, call("move_mount", "/"))
}

func TestReadonlyRootIsTheLastStep(t *testing.T) {
	for name, s := range map[string]*specs.Spec{"default": defaultSpec(), "docker": dockerSpec()} {
		t.Run(name, func(t *testing.T) {
			run := mustSetup(t, s, Config{})
			// Only the umask is restored after it.
			umasks := run.All(step{Desc: "umask", Match: func(c kernel.Call) bool { return c.Op == "umask" }})
			if len(umasks) != 2 || umasks[1] != len(run.Calls)-1 || run.Calls[umasks[0]].Flags != 0 || run.Calls[umasks[1]].Flags != 0o22 {
				t.Fatalf("want umask(0) during Setup and the old umask restored as the very last call:\n%s", run.String())
			}
			last := run.Calls[len(run.Calls)-2]
			if !readonlyAttr("/").Match(last) || last.Flags != 0 {
				t.Fatalf("last call is %s, want mount_setattr ro / before the umask is restored:\n%s", last, run.String())
			}
			run.InOrder(t, call("move_mount", "/proc/sys"), readonlyAttr("/"))
		})
	}
}

func TestDevFromTheHostGetsNoDevicesNorLinks(t *testing.T) {
	s := defaultSpec()
	s.Mounts = append(s.Mounts[:1], append([]specs.Mount{{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind"}}}, s.Mounts[2:]...)...)
	// The Recorder's binds do not show their source's files, so the
	// container's /dev/null (masking files needs it) is not there.
	s.Linux.MaskedPaths = []string{"/proc/acpi"}
	run := mustSetup(t, s, Config{})
	run.None(t, step{Desc: "mknodat or symlinkat in /dev", Match: func(c kernel.Call) bool {
		return (c.Op == "mknodat" || c.Op == "symlinkat") && strings.HasPrefix(c.Path, "/dev/")
	}})
	run.InOrder(t, call("open_tree", "host:/dev"), call("move_mount", "/dev"), mountOn("/dev/pts"))
}
