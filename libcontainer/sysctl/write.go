package sysctl

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/procfs"
)

// Write sets each linux.sysctl entry through the container's /proc, in sorted key order so
// that a failure is reproducible. It runs in the init, inside the container's namespaces and
// after /proc is mounted; Validate must have accepted the map on the host.
func Write(sysctl map[string]string) error {
	return writeUnder("/proc", sysctl)
}

// writeUnder is Write with the procfs mount point as a parameter, for tests.
func writeUnder(procDir string, sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	// Parse every key before touching the kernel so that a bad key in the middle of the
	// map does not leave the earlier ones applied.
	names := sortedKeys(sysctl)
	keys := make([]key, len(names))
	for i, name := range names {
		k, err := parseKey(name)
		if err != nil {
			return fmt.Errorf("linux.sysctl: %w", err)
		}
		keys[i] = k
	}
	procFd, err := procfs.OpenDir(procDir, procfs.Require)
	if err != nil {
		return fmt.Errorf("linux.sysctl: %w", err)
	}
	defer unix.Close(procFd)
	for i, k := range keys {
		if err := writeOne(procFd, procDir, k, sysctl[names[i]]); err != nil {
			return fmt.Errorf("linux.sysctl: %q: %w", k.dotted, err)
		}
	}
	return nil
}

func writeOne(procFd int, procDir string, k key, value string) error {
	rel := "sys/" + k.path
	fd, err := procfs.OpenForWrite(procFd, procDir, rel, false, procfs.Require)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// A sysctl takes its value from one write(2). os.File would follow a short write with
	// a second write at a non-zero offset, which procfs treats differently, so the raw
	// syscall is used and a short write is an error.
	var n int
	for {
		n, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: procDir + "/" + rel, Err: err}
	}
	if n != len(value) {
		return fmt.Errorf("write %s/%s: %w (wrote %d of %d bytes)", procDir, rel, io.ErrShortWrite, n, len(value))
	}
	return nil
}

// WriteProc writes value to rel below /proc (e.g. "<pid>/oom_score_adj")
// with the same checks as the sysctls: /proc and the file must be procfs and
// the walk may not follow a symlink or cross a mount, so a decoy mounted over
// /proc or over the file cannot receive the write (invariant 4).
func WriteProc(rel, value string) error {
	procFd, err := procfs.OpenDir("/proc", procfs.Require)
	if err != nil {
		return err
	}
	defer unix.Close(procFd)
	fd, err := procfs.OpenForWrite(procFd, "/proc", rel, false, procfs.Require)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: "/proc/" + rel, Err: err}
	}
	return nil
}
