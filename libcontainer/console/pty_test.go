package console

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newPty allocates a pty pair for a test, skipping where the machine has no
// /dev/ptmx, and closes both ends at the end of the test.
func newPty(t *testing.T) (master, slave *os.File, slavePath string) {
	t.Helper()
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skipf("no /dev/ptmx on this machine: %v", err)
	}
	master, slavePath, err := NewPty()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	slave, err = OpenSlave(slavePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave, slavePath
}

// readUntil reads from f until what it got contains want, or fails the
// test after a deadline.
// pty fds here are blocking, so the read runs in a goroutine.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	type result struct {
		got []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var got []byte
		buf := make([]byte, 256)
		for !bytes.Contains(got, []byte(want)) {
			n, err := f.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				ch <- result{got, err}
				return
			}
		}
		ch <- result{got, nil}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("read %s: got %q, then %v", f.Name(), r.got, r.err)
		}
		return string(r.got)
	case <-time.After(5 * time.Second):
		t.Fatalf("read %s: %q did not arrive", f.Name(), want)
	}
	return ""
}

func TestNewPtyPairIsUsable(t *testing.T) {
	master, slave, slavePath := newPty(t)
	if !strings.HasPrefix(slavePath, "/dev/pts/") {
		t.Errorf("slave path %q", slavePath)
	}
	if master.Name() != "/dev/ptmx" {
		t.Errorf("master name %q", master.Name())
	}
	// Slave to master (ONLCR turns \n into \r\n on the way).
	if _, err := slave.Write([]byte("from slave\n")); err != nil {
		t.Fatal(err)
	}
	if got := readUntil(t, master, "from slave\r\n"); got != "from slave\r\n" {
		t.Errorf("master read %q", got)
	}
	// Master to slave: a line in canonical mode.
	if _, err := master.Write([]byte("from master\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, slave, "from master\n")

	// Both ends are close-on-exec.
	for _, f := range []*os.File{master, slave} {
		flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: FD_CLOEXEC not set (%#x, %v)", f.Name(), flags, err)
		}
	}
}

func TestOpenPeerReachesTheSameSlave(t *testing.T) {
	master, _, slavePath := newPty(t)
	peer, err := OpenPeer(master, slavePath)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var a, b unix.Stat_t
	if err := unix.Stat(slavePath, &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(peer.Fd()), &b); err != nil {
		t.Fatal(err)
	}
	if a.Rdev != b.Rdev {
		t.Errorf("peer is device %d, slave path is %d", b.Rdev, a.Rdev)
	}
	if _, err := peer.Write([]byte("via peer\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, master, "via peer\r\n")
}

func TestOpenSlaveRejectsOtherFiles(t *testing.T) {
	for _, path := range []string{"/dev/null", "/dev/ptmx"} {
		f, err := OpenSlave(path)
		if err == nil {
			f.Close()
			t.Errorf("OpenSlave(%s) succeeded", path)
		} else if !strings.Contains(err.Error(), "not a pty slave") {
			t.Errorf("OpenSlave(%s): %v", path, err)
		}
	}
	if _, err := OpenSlave("/dev/pts/999999"); err == nil || !strings.Contains(err.Error(), "/dev/pts/999999") {
		t.Errorf("OpenSlave of a missing slave: %v", err)
	}
}

func TestSetSizeRoundTrips(t *testing.T) {
	master, slave, _ := newPty(t)
	if err := SetSize(master, 43, 132); err != nil {
		t.Fatal(err)
	}
	// Read back on the other end, with the raw ioctl.
	ws, err := unix.IoctlGetWinsize(int(slave.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Row != 43 || ws.Col != 132 {
		t.Errorf("TIOCGWINSZ = %dx%d, want 43x132", ws.Row, ws.Col)
	}
	if h, w, err := GetSize(master); err != nil || h != 43 || w != 132 {
		t.Errorf("GetSize = %d, %d, %v", h, w, err)
	}
	if err := SetSize(master, 70000, 80); err == nil {
		t.Error("a height above 65535 was accepted")
	}
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := SetSize(f, 1, 1); err == nil || !strings.Contains(err.Error(), "TIOCSWINSZ") {
		t.Errorf("SetSize on /dev/null: %v", err)
	}
}

func TestClearONLCR(t *testing.T) {
	master, slave, _ := newPty(t)
	if err := ClearONLCR(master); err != nil {
		t.Fatal(err)
	}
	if _, err := slave.Write([]byte("raw\n")); err != nil {
		t.Fatal(err)
	}
	if got := readUntil(t, master, "raw\n"); got != "raw\n" {
		t.Errorf("with ONLCR off the master read %q, want \"raw\\n\"", got)
	}
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ClearONLCR(f); err == nil || !strings.Contains(err.Error(), "TCGETS") {
		t.Errorf("ClearONLCR on /dev/null: %v", err)
	}
}

func TestGiveToUser(t *testing.T) {
	_, slave, _ := newPty(t)
	var before unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &before); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := GiveToUser(slave, 4242); err != nil {
			t.Fatal(err)
		}
		var after unix.Stat_t
		if err := unix.Fstat(int(slave.Fd()), &after); err != nil {
			t.Fatal(err)
		}
		if after.Uid != 4242 || after.Gid != before.Gid {
			t.Errorf("after GiveToUser(4242): owner %d:%d, want 4242:%d", after.Uid, after.Gid, before.Gid)
		}
	}
	// Back to its first owner (as root), or a no-op (its owner already).
	if err := GiveToUser(slave, int(before.Uid)); err != nil {
		t.Errorf("GiveToUser to the first owner: %v", err)
	}
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := GiveToUser(f, 0); err == nil || !strings.Contains(err.Error(), "not a pty slave") {
		t.Errorf("GiveToUser on /dev/null: %v", err)
	}
}
