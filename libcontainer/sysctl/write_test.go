package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/procfs"
)

func TestWriteNothingTouchesNothing(t *testing.T) {
	if err := writeUnder("/nonexistent-proc", nil); err != nil {
		t.Fatalf("writeUnder with no sysctls = %v, want nil without opening anything", err)
	}
}

// A directory that is not procfs must never receive the writes, whatever files it holds.
func TestWriteRefusesNonProcfsDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sys", "kernel", "shmmax")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeUnder(dir, map[string]string{"kernel.shmmax": "1"})
	if err == nil || !strings.Contains(err.Error(), "is not on procfs") || !strings.HasPrefix(err.Error(), "linux.sysctl: ") {
		t.Fatalf("writeUnder(tmpdir) = %v, want a linux.sysctl error saying it is not on procfs", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "original" {
		t.Fatalf("decoy file was written: %q", b)
	}
}

// A bad key anywhere in the map stops everything before the first write.
func TestWriteParsesEveryKeyFirst(t *testing.T) {
	err := writeUnder(t.TempDir(), map[string]string{"a.b": "1", "net/../../etc/x": "2"})
	if err == nil || !strings.Contains(err.Error(), `"net/../../etc/x" has a ".." level`) {
		t.Fatalf("writeUnder = %v, want the bad key named before any open", err)
	}
}

// hostValues snapshots the host values the namespaced tests could conceivably touch.
func hostValues(t *testing.T) map[string]string {
	t.Helper()
	vals := map[string]string{}
	for _, p := range []string{
		"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/ip_default_ttl",
		"/proc/sys/kernel/shmmax", "/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname",
	} {
		v, err := readTrimmed(p)
		if err != nil {
			t.Fatal(err)
		}
		vals[p] = v
	}
	return vals
}

func TestWriteInNewNamespaces(t *testing.T) {
	before := hostValues(t)
	out, err := runInNewNamespaces(t, "write", "")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if after := hostValues(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("host sysctls changed: before %v, after %v", before, after)
	}
}

func childWrite() error {
	want := map[string]string{
		"net.ipv4.ip_forward":     "1",
		"net/ipv4/ip_default_ttl": "77", // the '/' spelling
		"kernel.shmmax":           "123456789",
		"kernel.hostname":         "nook-sysctl-test",
		"kernel.domainname":       "nook.test",
	}
	// Through a clone of the procfs as the parent hands it to the init: the
	// namespaced sysctls must be the writer's (the host's stay as they were,
	// which TestWriteInNewNamespaces checks).
	proc, err := procfs.OpenHost()
	if err != nil {
		return err
	}
	defer proc.Close()
	if err := Write(int(proc.Fd()), want); err != nil {
		return err
	}
	for name, v := range want {
		k, _ := parseKey(name)
		got, err := readTrimmed("/proc/sys/" + k.path)
		if err != nil {
			return err
		}
		if got != v {
			return fmt.Errorf("%s = %q after Write, want %q", name, got, v)
		}
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return err
	}
	if h := unix.ByteSliceToString(uts.Nodename[:]); h != "nook-sysctl-test" {
		return fmt.Errorf("uname nodename = %q, want nook-sysctl-test", h)
	}
	// The kernel's own refusal is reported with the key and the path.
	err = writeUnder("/proc", map[string]string{"net.ipv4.ip_default_ttl": "not-a-number"})
	if err == nil || !strings.Contains(err.Error(), `linux.sysctl: "net.ipv4.ip_default_ttl": write /proc/sys/net/ipv4/ip_default_ttl: invalid argument`) {
		return fmt.Errorf("bad value: Write = %v, want the kernel's EINVAL naming the key", err)
	}
	err = writeUnder("/proc", map[string]string{"net.ipv4.no_such_sysctl": "1"})
	if err == nil || !strings.Contains(err.Error(), `linux.sysctl: "net.ipv4.no_such_sysctl": open /proc/sys/net/ipv4/no_such_sysctl: no such file or directory`) {
		return fmt.Errorf("unknown key: Write = %v, want ENOENT naming the key", err)
	}
	return nil
}

// A tmpfs file bind-mounted over a procfs entry (and a tmpfs directory over a procfs
// directory) must be refused, and the decoy left untouched.
func TestWriteRefusesBindMountedDecoy(t *testing.T) {
	before := hostValues(t)
	out, err := runInNewNamespaces(t, "bind-mount-decoy", t.TempDir())
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if after := hostValues(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("host sysctls changed: before %v, after %v", before, after)
	}
}

func childBindMountDecoy() error {
	if err := makeMountsPrivate(); err != nil {
		return err
	}
	tmp := os.Getenv(tmpDirEnv)
	if err := unix.Mount("tmpfs", tmp, "tmpfs", 0, "size=64k"); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	decoyFile := filepath.Join(tmp, "ip_forward")
	decoyDir := filepath.Join(tmp, "ipv4")
	if err := os.WriteFile(decoyFile, []byte("0\n"), 0o644); err != nil {
		return err
	}
	if err := os.Mkdir(decoyDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(decoyDir, "ip_forward"), []byte("0\n"), 0o644); err != nil {
		return err
	}

	target := "/proc/sys/net/ipv4/ip_forward"
	if err := unix.Mount(decoyFile, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind decoy file: %w", err)
	}
	err := writeUnder("/proc", map[string]string{"net.ipv4.ip_forward": "1"})
	fmt.Printf("file decoy: %v\n", err)
	if err == nil || !strings.Contains(err.Error(), `linux.sysctl: "net.ipv4.ip_forward": open /proc/sys/net/ipv4/ip_forward: the path crosses a mount point`) {
		return fmt.Errorf("file decoy: Write = %v, want a refusal naming the key", err)
	}
	if b, _ := os.ReadFile(decoyFile); string(b) != "0\n" {
		return fmt.Errorf("file decoy was written: %q", b)
	}
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
		return err
	}

	if err := unix.Mount(decoyDir, "/proc/sys/net/ipv4", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind decoy dir: %w", err)
	}
	err = writeUnder("/proc", map[string]string{"net.ipv4.ip_forward": "1"})
	fmt.Printf("directory decoy: %v\n", err)
	if err == nil || !strings.Contains(err.Error(), "the path crosses a mount point") {
		return fmt.Errorf("directory decoy: Write = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(filepath.Join(decoyDir, "ip_forward")); string(b) != "0\n" {
		return fmt.Errorf("directory decoy was written: %q", b)
	}
	return nil
}

// A tmpfs mounted at /proc itself (a rootfs that never got a real procfs) is refused.
func TestWriteRefusesFakeProc(t *testing.T) {
	out, err := runInNewNamespaces(t, "proc-decoy", "")
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
}

func childProcDecoy() error {
	if err := makeMountsPrivate(); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, "size=64k"); err != nil {
		return fmt.Errorf("mount tmpfs on /proc: %w", err)
	}
	if err := os.MkdirAll("/proc/sys/kernel", 0o755); err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/kernel/shmmax", []byte("0"), 0o644); err != nil {
		return err
	}
	err := writeUnder("/proc", map[string]string{"kernel.shmmax": "1"})
	fmt.Printf("fake /proc: %v\n", err)
	if err == nil || !strings.Contains(err.Error(), "linux.sysctl: /proc is not on procfs") {
		return fmt.Errorf("Write = %v, want /proc refused as not procfs", err)
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/shmmax"); string(b) != "0" {
		return fmt.Errorf("fake /proc was written: %q", b)
	}
	return nil
}
