package integration

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
)

// receiveMaster plays the engine's side of --console-socket: one message
// whose payload is a name and whose ancillary data is one fd.
func receiveMaster(t *testing.T, l *net.UnixListener) (*os.File, string) {
	t.Helper()
	l.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		t.Fatalf("accept console socket: %v", err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read console socket: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v (%d)", err, len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("SCM_RIGHTS: %v %v", err, fds)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), string(buf[:n])
}

func TestTerminalConsoleSocket(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(e.Dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	must(t, err)
	defer l.Close()
	b := e.bundle(sh("tty; stty size; ls -l /dev/console | cut -c1; readlink /proc/self/fd/0"), func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 33, Width: 111}
	})
	id := e.id()
	type got struct {
		f    *os.File
		name string
	}
	ch := make(chan got, 1)
	go func() { f, n := receiveMaster(t, l); ch <- got{f, n} }()
	e.create(b, id, "--console-socket", sock)
	m := <-ch
	defer m.f.Close()
	if !strings.HasPrefix(m.name, "/dev/pts/") {
		t.Errorf("console socket payload %q, want the pty name", m.name)
	}
	e.ok(e.nook("start", id))
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, m.f); close(done) }()
	e.waitStatus(id, "stopped")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	e.ok(e.nook("delete", id))
	lines := nonEmptyLines(strings.ReplaceAll(out.String(), "\r", ""))
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "/dev/pts/") || lines[1] != "33 111" || lines[2] != "c" || lines[3] != lines[0] {
		t.Errorf("inside the terminal container: %q; want the pty as tty and stdin, size 33 111, /dev/console a char device", lines)
	}
}

func TestRunForegroundTerminal(t *testing.T) {
	e := newEnv(t)
	// run's private console socket lives in a temp dir under $TMPDIR,
	// which must be gone afterwards.
	tmp := t.TempDir()
	e.Environ = []string{"TMPDIR=" + tmp}
	// nook relays to its caller's terminal, which it must have (as runc).
	_, tty := openPty(t)
	b := e.bundle(sh("tty; echo term=$TERM"), func(s *specs.Spec) { s.Process.Terminal = true })
	out := e.ok(e.nookCmd(nookOpts{stdin: tty}, "run", "--bundle", b, e.id())).Stdout
	lines := nonEmptyLines(strings.ReplaceAll(out, "\r", ""))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/dev/pts/") {
		t.Errorf("run with terminal printed %q, want a /dev/pts tty", lines)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("run left %d entries in $TMPDIR (its console socket directory): %v", len(left), left[0].Name())
	}
}

func TestBadConsoleSocket(t *testing.T) {
	e := newEnv(t)
	notSock := filepath.Join(e.Dir, "plain-file")
	must(t, os.WriteFile(notSock, nil, 0o644))
	b := e.bundle(func(s *specs.Spec) { s.Process.Terminal = true })
	e.expectFail(e.nook("create", "--bundle", b, "--console-socket", notSock, e.id()), "--console-socket")
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "console-socket")
	plain := e.bundle()
	e.expectFail(e.nook("create", "--bundle", plain, "--console-socket", notSock, e.id()), "process.terminal")
}
