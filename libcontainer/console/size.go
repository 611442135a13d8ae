package console

import (
	"fmt"
	"math"
	"os"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// SetSize sets the window size of the terminal f (master or slave: they
// share it), as process.consoleSize asks. The kernel sends SIGWINCH to the
// terminal's foreground process group.
func SetSize(f *os.File, height, width uint) error {
	if height > math.MaxUint16 || width > math.MaxUint16 {
		return fmt.Errorf("console size %dx%d: height and width must be at most %d", height, width, math.MaxUint16)
	}
	ws := &unix.Winsize{Row: uint16(height), Col: uint16(width)}
	if err := rawfile.Control(f, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) }); err != nil {
		return fmt.Errorf("set console size %dx%d (TIOCSWINSZ): %w", height, width, err)
	}
	return nil
}

// GetSize returns the window size of the terminal f.
func GetSize(f *os.File) (height, width uint, err error) {
	var ws *unix.Winsize
	err = rawfile.Control(f, func(fd int) (e error) {
		ws, e = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return e
	})
	if err != nil {
		return 0, 0, fmt.Errorf("get console size (TIOCGWINSZ): %w", err)
	}
	return uint(ws.Row), uint(ws.Col), nil
}
