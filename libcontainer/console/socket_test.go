package console

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// engineReceive is the receiving side written the way engines write it
// (go-runc's recvFd, conmon): accept, one recvmsg, exactly one SCM_RIGHTS
// with exactly one fd, the payload being the name.
func engineReceive(t *testing.T, l *net.UnixListener) (name string, fd int) {
	t.Helper()
	l.SetDeadline(time.Now().Add(5 * time.Second))
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.File() // a dup, in blocking mode, for plain recvmsg
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(raw.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if n >= 4096 || oobn != unix.CmsgSpace(4) {
		t.Fatalf("recvmsg: n=%d oobn=%d, want a name and exactly one fd", n, oobn)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %d, %v", len(msgs), err)
	}
	if msgs[0].Header.Level != unix.SOL_SOCKET || msgs[0].Header.Type != unix.SCM_RIGHTS {
		t.Fatalf("control message %d/%d is not SCM_RIGHTS", msgs[0].Header.Level, msgs[0].Header.Type)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("rights: %v, %v", fds, err)
	}
	return string(buf[:n]), fds[0]
}

func listen(t *testing.T, path string) *net.UnixListener {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestSendMasterAsEnginesReceiveIt(t *testing.T) {
	master, slave, slavePath := newPty(t)
	sock := filepath.Join(t.TempDir(), "console.sock")
	l := listen(t, sock)

	conn, err := DialSocket(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := SendMaster(conn, master, slavePath); err != nil {
		t.Fatal(err)
	}

	name, fd := engineReceive(t, l)
	got := os.NewFile(uintptr(fd), name)
	defer got.Close()
	if name != slavePath {
		t.Errorf("payload %q, want the pty name %q", name, slavePath)
	}
	// The received fd is the master: what the slave writes arrives there.
	if _, err := slave.Write([]byte("over the socket\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, got, "over the socket\r\n")
}

func TestListenTempAndReceiveMaster(t *testing.T) {
	master, slave, slavePath := newPty(t)
	path, l, err := ListenTemp()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory %s: %v, %v (want 0700)", dir, fi.Mode(), err)
	}

	sent := make(chan error, 1)
	go func() {
		conn, err := DialSocket(path)
		if err == nil {
			err = SendMaster(conn, master, slavePath)
			conn.Close()
		}
		sent <- err
	}()
	l.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := ReceiveMaster(l)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got.Name() != slavePath {
		t.Errorf("received file named %q, want %q", got.Name(), slavePath)
	}
	if flags, err := unix.FcntlInt(got.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("received fd not close-on-exec: %#x, %v", flags, err)
	}
	if _, err := slave.Write([]byte("received\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, got, "received\r\n")

	l.Close()
	if err := RemoveTemp(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after RemoveTemp: %v", dir, err)
	}
}

func TestReceiveMasterRejectsNonPty(t *testing.T) {
	path, l, err := ListenTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveTemp(path)
	defer l.Close()
	devnull, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	go func() {
		if conn, err := DialSocket(path); err == nil {
			_ = SendMaster(conn, devnull, "/dev/null")
			conn.Close()
		}
	}()
	l.SetDeadline(time.Now().Add(5 * time.Second))
	if f, err := ReceiveMaster(l); err == nil {
		f.Close()
		t.Fatal("a /dev/null fd was accepted as a pty master")
	} else if !strings.Contains(err.Error(), "not a pty master") {
		t.Errorf("error %v", err)
	}
}

func TestDialSocketErrorsAreClear(t *testing.T) {
	dir := t.TempDir()

	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, "dead.sock")
	l := listen(t, dead)
	l.SetUnlinkOnClose(false)
	l.Close() // the socket file stays; nobody listens any more

	tests := []struct {
		path string
		want string
	}{
		{regular, "--console-socket " + regular + ": not a unix socket but a regular file"},
		{dead, "--console-socket " + dead + ": nobody is listening on it: connection refused"},
		{filepath.Join(dir, "missing"), "--console-socket " + filepath.Join(dir, "missing") + ": no such socket"},
		{dir, "--console-socket " + dir + ": not a unix socket but a directory"},
		{"", "--console-socket: empty path"},
	}
	for _, tt := range tests {
		conn, err := DialSocket(tt.path)
		if err == nil {
			conn.Close()
			t.Errorf("DialSocket(%q) succeeded", tt.path)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("DialSocket(%q) = %q\nwant prefix        %q", tt.path, err, tt.want)
		}
	}
}

func TestDialSocketLongPath(t *testing.T) {
	dir := t.TempDir()
	long := dir
	for len(long) < 150 {
		long = filepath.Join(long, "a-rather-long-directory-name")
	}
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	// Listen through a relative name, as an engine with a long runtime
	// directory might.
	t.Chdir(long)
	listen(t, "c.sock")

	path := filepath.Join(long, "c.sock")
	conn, err := DialSocket(path)
	if err != nil {
		t.Fatalf("DialSocket of a %d-byte path: %v", len(path), err)
	}
	conn.Close()
}

func TestSendMasterRejectsBadNames(t *testing.T) {
	master, _, _ := newPty(t)
	a, b, err := unixPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	for _, name := range []string{"", strings.Repeat("x", 4096)} {
		if err := SendMaster(a, master, name); err == nil {
			t.Errorf("name of %d bytes accepted", len(name))
		}
	}
}

// unixPair returns a connected pair of SOCK_STREAM unix conns.
func unixPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	conn := func(fd int) (*net.UnixConn, error) {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			return nil, err
		}
		return c.(*net.UnixConn), nil
	}
	a, err := conn(fds[0])
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := conn(fds[1])
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}
