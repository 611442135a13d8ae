package procfs

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenDirRefusesNonProcfs(t *testing.T) {
	if _, err := OpenDir(t.TempDir(), Require); err == nil || !strings.Contains(err.Error(), "not on procfs") {
		t.Fatalf("OpenDir(a temp dir) = %v, want a not-on-procfs error", err)
	}
	fd, err := OpenDir("/proc", Require)
	if err != nil {
		t.Fatalf("OpenDir(/proc) = %v", err)
	}
	unix.Close(fd)
}

func TestOpenForWriteSymlinks(t *testing.T) {
	dir, err := OpenDir("/proc", Require)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	// "self" is a symlink: refused unless allowed.
	if _, err := OpenForWrite(dir, "/proc", "self/oom_score_adj", false, Require); err == nil {
		t.Errorf("a walk through the self symlink was allowed with allowSymlinks false")
	}
	fd, err := OpenForWrite(dir, "/proc", "self/oom_score_adj", true, Require)
	if err != nil {
		t.Fatalf("OpenForWrite(self/oom_score_adj, symlinks allowed) = %v", err)
	}
	unix.Close(fd)
	// The pid spelled out needs no symlink.
	fd, err = OpenForWrite(dir, "/proc", strconv.Itoa(os.Getpid())+"/oom_score_adj", false, Require)
	if err != nil {
		t.Fatalf("OpenForWrite(<pid>/oom_score_adj) = %v", err)
	}
	unix.Close(fd)
	// Leaving the directory is refused.
	if _, err := OpenForWrite(dir, "/proc", "../etc/hostname", false, Require); err == nil {
		t.Errorf("a walk out of /proc was allowed")
	}
}
