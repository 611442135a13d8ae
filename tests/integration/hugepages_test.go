package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hugePageMappings counts the mappings of a process that are advised
// MADV_HUGEPAGE ("hg" in VmFlags) and the huge-page memory it has.
func hugePageMappings(t *testing.T, pid int) (advised int, anonHugeKiB int) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/smaps")
	must(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			for _, f := range strings.Fields(rest) {
				if f == "hg" {
					advised++
				}
			}
		}
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			kib, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			n, err := strconv.Atoi(kib)
			must(t, err)
			anonHugeKiB += n
		}
	}
	return advised, anonHugeKiB
}

// TestGoMemoryOnHugePages: the nook binary's Go runtime maps its heap and
// its small metadata mappings advised MADV_HUGEPAGE (startup/hugepages.c,
// reached through the link's --wrap=mmap), and _NOOK_HUGEPAGES=off leaves
// every mapping as the runtime asked. A foreground `run` is a Go process
// that stays while its container runs, so its mappings can be read. A
// container's init never uses them.
func TestGoMemoryOnHugePages(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		env  []string
		want string
	}{{nil, "advised"}, {[]string{"_NOOK_HUGEPAGES=off"}, "none advised"}} {
		id := e.id()
		run := e.nookAsyncEnv(c.env, "run", "--bundle", e.bundle(args("sleep", "100")), id)
		e.waitRunning(id, run)
		advised, hugeKiB := hugePageMappings(t, run.cmd.Process.Pid)
		t.Logf("%v: %d mappings advised MADV_HUGEPAGE, AnonHugePages %d kB", c.env, advised, hugeKiB)
		switch {
		case c.want == "advised" && advised < 2:
			t.Errorf("nook run's mappings advised MADV_HUGEPAGE: %d, want the heap chunk and the small-mapping region", advised)
		case c.want == "none advised" && (advised != 0 || hugeKiB != 0):
			t.Errorf("with %v, %d mappings are advised MADV_HUGEPAGE and %d kB are huge pages, want none", c.env, advised, hugeKiB)
		}
		e.ok(e.nook("kill", id, "KILL"))
		if r := run.wait(t, 10*time.Second); r.Code != 137 {
			t.Errorf("nook run of a killed container: %s, want exit 137", r)
		}
	}

	// A container's init that parks as itself (here: its seccomp filter
	// refuses the parker) waits as long as the container stays created: its
	// Go runtime keeps to small pages (hugepages.c: _NOOK_INITPIPE).
	id := e.id()
	pid, _ := e.create(e.bundle(sh("exit 7"), withSeccomp(refuseExecveat), goInit), id)
	if exe := parkedExe(pid); exe == parkerExe {
		t.Fatalf("init %d waits in the parker, which its seccomp filter refuses", pid)
	}
	if advised, hugeKiB := hugePageMappings(t, pid); advised != 0 || hugeKiB != 0 {
		t.Errorf("the parked Go init has %d mappings advised MADV_HUGEPAGE and %d kB of huge pages, want none", advised, hugeKiB)
	}
	e.ok(e.nook("delete", "--force", id))
}
