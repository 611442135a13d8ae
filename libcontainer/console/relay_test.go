package console

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startRelay runs Relay in the background; the returned channel yields its
// result.
func startRelay(master *os.File, in *os.File, out *syncBuffer) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Relay(master, in, out) }()
	return done
}

func waitRelay(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Relay: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Relay did not return after the container side closed")
	}
}

func TestRelayCopiesBothWaysAndEndsWithTheContainer(t *testing.T) {
	master, slave, _ := newPty(t) // the container's terminal
	inR, inW, err := os.Pipe()    // the caller's stdin, not a terminal
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	var out syncBuffer
	done := startRelay(master, inR, &out)

	// User input reaches the container.
	if _, err := inW.WriteString("typed line\n"); err != nil {
		t.Fatal(err)
	}
	readUntil(t, slave, "typed line\n")
	// Container output reaches the user.
	if _, err := slave.WriteString("container says hi\n"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "container output", func() bool { return strings.Contains(out.String(), "container says hi\r\n") })

	// The container's last slave fd goes away: Relay returns nil.
	slave.Close()
	waitRelay(t, done)

	// Its input pump stopped too: input written now stays unread.
	if _, err := inW.WriteString("after\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 16)
	inR.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := inR.Read(buf); err != nil || string(buf[:n]) != "after\n" {
		t.Errorf("input after Relay returned was consumed: read %q, %v", buf[:n], err)
	}
}

func TestRelayRawModeAndWindowSize(t *testing.T) {
	master, slave, _ := newPty(t)       // the container's terminal
	userMaster, userTTY, _ := newPty(t) // the caller's terminal
	if err := SetSize(userTTY, 30, 100); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(userTTY.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ICANON == 0 {
		t.Fatal("a new pty should start in canonical mode")
	}

	var out syncBuffer
	done := startRelay(master, userTTY, &out)

	termios := func() *unix.Termios {
		tt, err := unix.IoctlGetTermios(int(userTTY.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	eventually(t, "raw mode on the caller's terminal", func() bool {
		tt := termios()
		return tt.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) == 0 && tt.Oflag&unix.OPOST == 0
	})
	size := func() string {
		h, w, err := GetSize(master)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%dx%d", h, w)
	}
	eventually(t, "the initial window size copied", func() bool { return size() == "30x100" })

	// The user resizes the window: the terminal changes and SIGWINCH comes
	// (to nook, which copies the size).
	if err := SetSize(userTTY, 50, 160); err != nil {
		t.Fatal(err)
	}
	CopyWindowSize(userTTY, master)
	if got := size(); got != "50x160" {
		t.Errorf("size after CopyWindowSize: %s, want 50x160", got)
	}
	// From something that is not a terminal nothing is copied.
	notTTY, notTTYw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer notTTY.Close()
	defer notTTYw.Close()
	CopyWindowSize(notTTY, master)
	if got := size(); got != "50x160" {
		t.Errorf("size after CopyWindowSize from a pipe: %s, want 50x160", got)
	}

	// A key typed in raw mode reaches the container as it is, at once.
	if _, err := userMaster.Write([]byte{3}); err != nil { // ^C
		t.Fatal(err)
	}
	// The container's slave is canonical with ISIG: ^C there is a signal
	// for its (absent) foreground group and echoes as "^C".
	eventually(t, "^C echoed by the container's terminal", func() bool { return strings.Contains(out.String(), "^C") })

	slave.Close()
	waitRelay(t, done)
	restored := termios()
	if *restored != *before {
		t.Errorf("terminal settings not restored:\n got %+v\nwant %+v", restored, before)
	}
}

func TestRelayWithAPlainReader(t *testing.T) {
	master, slave, _ := newPty(t)
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- Relay(master, strings.NewReader("from a reader\n"), &out) }()
	readUntil(t, slave, "from a reader\n")
	slave.Close()
	waitRelay(t, done)
}
