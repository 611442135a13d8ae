package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// Relay connects a container's pty master to the caller's stdio for a
// foreground `nook run` with a terminal: what the container writes goes to
// out, what the user types goes from in to the container. If in is a
// terminal, it is put in raw mode for the duration (so keys such as ^C reach
// the container's line discipline instead of signalling nook), its window
// size is copied to the container's terminal at once, and its settings are
// restored before Relay returns. The caller copies the size again on each
// SIGWINCH (CopyWindowSize): nook catches its signals in one place
// (sigcatch), and copies the size before passing the signal on.
//
// Relay returns when the container side is closed (every holder of the slave
// is gone, which master reads report as EIO); the error is nil then. It
// neither closes master nor in. If in is an *os.File its pump stops with
// Relay; any other reader is read until it ends, since a plain io.Reader
// cannot be interrupted.
func Relay(master *os.File, in io.Reader, out io.Writer) error {
	inFile, _ := in.(*os.File)
	if inFile != nil && isTerminal(inFile) {
		restore, err := makeRaw(inFile)
		if err != nil {
			return err
		}
		defer restore()
		CopyWindowSize(inFile, master)
	}

	if inFile != nil {
		stop, err := pumpFile(master, inFile)
		if err != nil {
			return err
		}
		defer stop()
	} else if in != nil {
		go func() { _, _ = io.Copy(master, in) }()
	}
	return copyOutput(out, master)
}

// copyOutput copies the container's output until its side is closed.
func copyOutput(out io.Writer, master *os.File) error {
	buf := make([]byte, 32*1024)
	for {
		n, err := master.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return fmt.Errorf("console relay: write output: %w", werr)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, unix.EIO):
			// EIO: the last slave fd was closed (the container exited).
			return nil
		default:
			return fmt.Errorf("console relay: read from container: %w", err)
		}
	}
}

// pumpFile copies in to master until in ends or the returned stop is called.
// It polls in together with a wake-up pipe, so that stop never leaves a
// goroutine blocked in a read of the user's terminal, which would swallow
// the next keystroke typed after nook returned.
func pumpFile(master, in *os.File) (stop func(), err error) {
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("console relay: wake-up pipe: %w", err)
	}
	rc, err := in.SyscallConn()
	if err != nil {
		unix.Close(wake[0])
		unix.Close(wake[1])
		return nil, fmt.Errorf("console relay: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rc.Control(func(fd uintptr) { pollCopy(master, int(fd), wake[0]) })
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_, _ = unix.Write(wake[1], []byte{0})
			<-done
			unix.Close(wake[0])
			unix.Close(wake[1])
			runtime.KeepAlive(in)
		})
	}, nil
}

// pollCopy reads fd whenever it is readable and writes to master, until fd
// ends or fails, master fails, or stopFd becomes readable.
func pollCopy(master *os.File, fd, stopFd int) {
	buf := make([]byte, 32*1024)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(stopFd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			continue
		case err != nil || n == 0:
			return // the user's input ended: the container keeps its output
		}
		if _, err := master.Write(buf[:n]); err != nil {
			return
		}
	}
}

// HaveTerminal says whether the caller has a terminal for a container's to
// be relayed to, as runc requires: its stdin, stdout or stderr is one, or
// it has a controlling terminal. Without one, a shell in the container
// would wait for input that can never come.
func HaveTerminal() bool {
	for _, f := range []*os.File{os.Stdin, os.Stdout, os.Stderr} {
		if isTerminal(f) {
			return true
		}
	}
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

func isTerminal(f *os.File) bool {
	return rawfile.Control(f, func(fd int) error {
		_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	}) == nil
}

// makeRaw puts the terminal f in raw mode (cfmakeraw(3)) and returns the
// function that restores its previous settings.
func makeRaw(f *os.File) (restore func(), err error) {
	var saved *unix.Termios
	err = rawfile.Control(f, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		saved = t
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN] = 1
		raw.Cc[unix.VTIME] = 0
		return unix.IoctlSetTermios(fd, unix.TCSETS, &raw)
	})
	if err != nil {
		return nil, fmt.Errorf("console relay: set the terminal to raw mode: %w", err)
	}
	return func() {
		_ = rawfile.Control(f, func(fd int) error { return unix.IoctlSetTermios(fd, unix.TCSETS, saved) })
	}, nil
}

// CopyWindowSize gives the container's terminal the window size of the
// user's, if from is a terminal.
func CopyWindowSize(from, to *os.File) {
	if h, w, err := GetSize(from); err == nil {
		_ = SetSize(to, h, w)
	}
}
