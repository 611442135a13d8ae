package security

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// receiveMaster plays the engine's side of --console-socket: one message
// whose ancillary data is the pty master.
func receiveMaster(l *net.UnixListener) (*os.File, error) {
	l.SetDeadline(time.Now().Add(15 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, err
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// runWithConsole creates a terminal container with a console socket and, if
// create succeeds, starts it and returns what it wrote to its terminal.
func runWithConsole(t *testing.T, e *harness.Env, bundle string) (string, harness.Result) {
	t.Helper()
	sock := filepath.Join(e.Dir, "console.sock")
	os.Remove(sock)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	must(t, err)
	defer l.Close()
	type got struct {
		f   *os.File
		err error
	}
	ch := make(chan got, 1)
	go func() { f, err := receiveMaster(l); ch <- got{f, err} }()
	id := e.ID()
	_, r := e.TryCreate(harness.Opts{}, bundle, id, "--console-socket", sock)
	if r.Code != 0 {
		l.Close()
		if m := <-ch; m.f != nil {
			m.f.Close()
		}
		return "", r
	}
	defer e.ForceDelete(id)
	m := <-ch
	if m.err != nil || m.f == nil {
		t.Fatalf("console socket: %v", m.err)
	}
	defer m.f.Close()
	e.OK(e.Nook("start", id))
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, m.f); close(done) }()
	e.WaitStatus(id, "stopped")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	e.OK(e.Nook("delete", id))
	return strings.ReplaceAll(out.String(), "\r", ""), r
}

// The process of every console test: the type and major number of
// /dev/console (136 is the pty slave's), and the type and size of the
// image's secret (stat, not cat: a pty bound there would block a read).
const consoleProbe = `echo "console=$(stat -c %F:%t /dev/console)"; echo "secret=$(stat -c %F:%s /etc/secret)"`

// CVE-2025-52565: the image plants something at /dev/console (a symlink to
// its own secret or out of the rootfs to a host file, a non-empty file, a
// directory, a fifo) hoping nook bind-mounts the pty over — or opens, or
// writes — what it points at. Tested with the image's own /dev (no /dev tmpfs
// in the config, the case where the image controls /dev) and with a config
// that binds a host file onto /dev/console. nook must refuse the trap or
// bind only the pty on /dev/console; the host file and the image's secret
// are never written or covered. Protection (invariant 4): libcontainer/
// rootfs/console.go BindConsole opens /dev/console with O_NOFOLLOW (O_PATH
// for a node it must not open), accepts only an empty regular file or a
// character device, and clones the pty slave from its fd. Without it the pty
// would be bound over /etc/secret (the container would read its terminal
// there) or the host file.
func TestCVE2025_52565DevConsoleTrap(t *testing.T) {
	e := newEnv(t)
	hostFile := filepath.Join(e.Dir, "hostfile")
	must(t, os.WriteFile(hostFile, []byte(hostText), 0o644))
	corePattern := harness.ReadString("/proc/sys/kernel/core_pattern")
	terminal := func(s *specs.Spec) { s.Process.Terminal = true }
	imageDev := harness.WithoutMount("/dev")
	traps := []struct {
		name string
		mods []harness.SpecMod
		make func(console string) error
		// accept: nook may run the container (the trap is harmless if
		// only the pty ends up on /dev/console).
		accept bool
	}{
		{"symlink-to-image-file", []harness.SpecMod{imageDev}, func(p string) error { return os.Symlink("/etc/secret", p) }, false},
		{"relative-symlink-to-host-file", []harness.SpecMod{imageDev}, func(p string) error { return os.Symlink(relativeEscape(hostFile), p) }, false},
		{"absolute-symlink-to-host-file", []harness.SpecMod{imageDev}, func(p string) error { return os.Symlink(hostFile, p) }, false},
		// A procfs file the kernel shares with the host: binding the pty
		// there (before masked and read-only paths are applied) is the
		// write-redirect gadget of the CVE.
		{"symlink-to-core-pattern", []harness.SpecMod{imageDev}, func(p string) error { return os.Symlink("/proc/sys/kernel/core_pattern", p) }, false},
		{"symlink-to-sysrq-trigger", []harness.SpecMod{imageDev}, func(p string) error { return os.Symlink("../proc/sysrq-trigger", p) }, false},
		{"non-empty-file", []harness.SpecMod{imageDev}, func(p string) error { return os.WriteFile(p, []byte(secretText), 0o644) }, false},
		{"directory", []harness.SpecMod{imageDev}, func(p string) error { return os.Mkdir(p, 0o755) }, false},
		{"fifo", []harness.SpecMod{imageDev}, func(p string) error { return unix.Mkfifo(p, 0o644) }, false},
		{"empty-file", []harness.SpecMod{imageDev}, func(p string) error { return os.WriteFile(p, nil, 0o644) }, true},
		{"nothing-there", []harness.SpecMod{imageDev}, func(string) error { return nil }, true},
		{"config-binds-host-file", []harness.SpecMod{harness.AddMount(specs.Mount{Destination: "/dev/console", Type: "bind", Source: hostFile, Options: []string{"bind"}})},
			func(string) error { return nil }, false},
	}
	for _, tr := range traps {
		b := e.Bundle(append(tr.mods, terminal, harness.Sh(consoleProbe))...)
		must(t, os.WriteFile(filepath.Join(b, "rootfs", "etc", "secret"), []byte(secretText), 0o644))
		must(t, tr.make(filepath.Join(b, "rootfs", "dev", "console")))
		out, r := runWithConsole(t, e, b)
		switch {
		case r.Code == 0:
			want := "console=character special file:88\nsecret=regular file:7\n"
			if !strings.Contains(out, want) {
				t.Errorf("%s: inside the terminal container:\n%s\nwant /dev/console the pty slave (major 0x88) and the secret untouched", tr.name, out)
			} else if !tr.accept {
				t.Logf("%s: accepted (only the pty was bound)", tr.name)
			}
		case r.Code != 1 || r.Crashed():
			t.Errorf("%s: want success or a clean refusal: %s", tr.name, r)
		case tr.accept:
			t.Errorf("%s: a harmless /dev/console was refused: %s", tr.name, r)
		case !strings.Contains(r.Stderr, "/dev/console"):
			t.Errorf("%s: the refusal does not name /dev/console: %s", tr.name, r)
		default:
			t.Logf("%s: refused: %s", tr.name, strings.TrimSpace(r.Stderr))
		}
		if got := harness.ReadString(hostFile); got != hostText {
			t.Errorf("%s: the host file was written: %q", tr.name, got)
		}
		if got := harness.ReadString(filepath.Join(b, "rootfs", "etc", "secret")); got != secretText {
			t.Errorf("%s: the image's secret was written: %q", tr.name, got)
		}
		if m := hostMountsAt(hostFile); len(m) > 0 {
			t.Errorf("%s: host file mounted: %v", tr.name, m)
		}
		if got := harness.ReadString("/proc/sys/kernel/core_pattern"); got != corePattern {
			t.Errorf("%s: the host's core_pattern changed from %q to %q", tr.name, corePattern, got)
		}
	}
}
