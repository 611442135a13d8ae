package integration

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A container left in created gives back its init's mappings of nook's
// read-only pages (most of a parked init's RSS; issue 20), and then starts
// and runs as any other.
func TestParkedInitReleasesItsProgramPages(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	pid, _ := e.create(e.bundle(sh("exit 7")), id)
	program := readOnlyProgramKB(t, pid)
	if program < 1024 {
		t.Fatalf("init %d maps %d KiB of its program read-only, want the nook binary's megabytes", pid, program)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rss := statusKB(t, pid, "RssFile")
		if rss*2 <= program {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked init %d still has %d KiB of file pages mapped after 5s, of %d KiB of program", pid, rss, program)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.ok(e.nook("start", id))
	checkCode(t, e.waitExit(id), 7)
	e.ok(e.nook("delete", id))
}

// readOnlyProgramKB is the size of the file mappings of pid that are
// neither writable nor anonymous: its program's code and constants.
func readOnlyProgramKB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps")
	must(t, err)
	defer f.Close()
	total, counting := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			// A mapping's header: range, perms, offset, device, inode, path.
			counting = !strings.Contains(fields[1], "w") && fields[4] != "0"
		case counting && len(fields) == 3 && fields[0] == "Size:":
			n, err := strconv.Atoi(fields[1])
			must(t, err)
			total += n
		}
	}
	must(t, sc.Err())
	return total
}

// statusKB is a "kB" field of /proc/<pid>/status.
func statusKB(t *testing.T, pid int, field string) int {
	t.Helper()
	for _, line := range strings.Split(readString("/proc/"+strconv.Itoa(pid)+"/status"), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			must(t, err)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
