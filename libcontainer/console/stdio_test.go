package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv makes the re-executed test binary run stdioChild: setsid and a
// new controlling terminal change the whole process, which must not be the
// one running the tests.
const childEnv = "NOOK_CONSOLE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "stdio" {
		report := os.NewFile(3, "report")
		if err := stdioChild(); err != nil {
			fmt.Fprint(report, err)
			os.Exit(1)
		}
		fmt.Fprint(report, "ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// stdioChild does what the init does with a pty and checks the outcome with
// the kernel's own view.
func stdioChild() error {
	master, slavePath, err := NewPty()
	if err != nil {
		return err
	}
	slave, err := OpenSlave(slavePath)
	if err != nil {
		return err
	}
	if err := SetupSlaveStdio(slave); err != nil {
		return err
	}
	var want unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &want); err != nil {
		return err
	}
	slave.Close()

	if sid, _ := unix.Getsid(0); sid != os.Getpid() {
		return fmt.Errorf("session id %d, want own pid %d (setsid)", sid, os.Getpid())
	}
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fmt.Errorf("fd %d: %w", fd, err)
		}
		if st.Rdev != want.Rdev {
			return fmt.Errorf("fd %d is device %#x, want the slave %#x", fd, st.Rdev, want.Rdev)
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC != 0 {
			return fmt.Errorf("fd %d would not survive execve: flags %#x, %v", fd, flags, err)
		}
	}
	// The slave is the controlling terminal, with us in the foreground.
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("no controlling terminal: %w", err)
	}
	tty.Close()
	if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err != nil || pgrp != os.Getpid() {
		return fmt.Errorf("foreground process group %d, %v; want %d", pgrp, err, os.Getpid())
	}
	// And stdout reaches the master.
	if _, err := os.Stdout.WriteString("on stdout\n"); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := master.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("on stdout\r\n")) {
		return fmt.Errorf("master read %q, %v", buf[:n], err)
	}
	return nil
}

func TestSetupSlaveStdio(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Skipf("no /dev/ptmx on this machine: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=stdio")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	report, _ := io.ReadAll(r)
	err = cmd.Wait()
	if string(report) != "ok" {
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("child: %s (%v; stderr %q)", report, err, strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("child reported %q", report)
	}
}
