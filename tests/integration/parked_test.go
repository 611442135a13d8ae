package integration

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container left in created whose init cannot wait in the parker (its
// seccomp filter refuses execveat) gives back the init's mappings of nook's
// read-only pages (most of a parked init's RSS; issue 20), and then starts
// and runs as any other.
func TestParkedInitReleasesItsProgramPages(t *testing.T) {
	e := newEnv(t)
	id := e.id()
	pid, _ := e.create(e.bundle(sh("exit 7"), withSeccomp(refuseExecveat)), id)
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
	if exe := parkedExe(pid); exe == parkerExe {
		t.Fatalf("init %d waits in the parker, which its seccomp filter refuses", pid)
	}
	e.ok(e.nook("start", id))
	checkCode(t, e.waitExit(id), 7)
	e.ok(e.nook("delete", id))
}

// refuseExecveat is a filter the parker cannot run under.
var refuseExecveat = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
	Syscalls: []specs.LinuxSyscall{{Names: []string{"execveat"}, Action: specs.ActErrno}}}

// parkerExe is what /proc/<pid>/exe of an init waiting in the parker says.
const parkerExe = "/memfd:nook-parked (deleted)"

func parkedExe(pid int) string {
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return exe
}

// waitParked waits until the init pid has handed its wait to the parker.
func waitParked(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for parkedExe(pid) != parkerExe {
		if time.Now().After(deadline) {
			t.Fatalf("init %d runs %q after 5s in created, want the parker (%s)", pid, parkedExe(pid), parkerExe)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A container left in created waits in the parker, in a few dozen KiB
// (issue 20: host memory per parked container), and its process is the
// same as one started at once: arguments, environment, user, groups,
// capabilities, no_new_privs, seccomp, rlimits (RLIMIT_NOFILE given by the
// config and, without one, the caller's: nook started with a soft limit
// below its hard one, which the Go runtime raises for itself), cwd, umask
// and its fds.
func TestParkedInitWaitsInTheParker(t *testing.T) {
	report := `echo "args: $0 $*"; echo "env: $FOO"; id; pwd; umask; ulimit -n; ls /proc/self/fd | tr '\n' ' '; echo;` +
		` grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; exit 7`
	for _, tc := range []struct {
		name   string
		mods   []specMod
		nofile string // the soft RLIMIT_NOFILE nook is started with ("": the test's)
	}{
		{"defaults", nil, ""},
		{"docker profile, a user, ambient capabilities", []specMod{withSeccomp(seccompProfile(t, "docker-default.json")), func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}}
			s.Process.Capabilities.Ambient = []string{"CAP_NET_BIND_SERVICE"}
			s.Process.Capabilities.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
			s.Process.Capabilities.Permitted = append(s.Process.Capabilities.Permitted, "CAP_NET_BIND_SERVICE")
		}}, ""},
		{"no rlimits, filter loaded without no_new_privs", []specMod{withSeccomp(seccompProfile(t, "docker-default.json")), func(s *specs.Spec) {
			s.Process.Rlimits = nil
			s.Process.NoNewPrivileges = false
		}}, "517"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			mods := append([]specMod{args("sh", "-c", report, "arg0", "a b", "c"), func(s *specs.Spec) {
				s.Process.Env = append(s.Process.Env, "FOO=bar baz")
				s.Process.Cwd = "/tmp"
			}}, tc.mods...)
			var o nookOpts
			if tc.nofile != "" {
				o.prefix = []string{"prlimit", "--nofile=" + tc.nofile + ":"}
			}
			// `run` starts its container at once: the init execs the
			// program itself.
			ran := e.nookCmd(o, "run", "--bundle", e.bundle(mods...), e.id())
			if ran.Code != 7 {
				t.Fatalf("run: %s", ran)
			}
			id := e.id()
			pidFile := filepath.Join(e.Dir, id+".pid")
			created := e.nookCmd(o, "create", "--bundle", e.bundle(mods...), "--pid-file", pidFile, id)
			if created.Code != 0 {
				t.Fatalf("create: %s", created)
			}
			pid, err := strconv.Atoi(readString(pidFile))
			must(t, err)
			e.register(pid)
			waitParked(t, pid)
			if rss := statusKB(t, pid, "VmRSS"); rss > 256 {
				t.Errorf("parked init %d has %d KiB resident, want at most 256", pid, rss)
			}
			e.ok(e.nook("start", id))
			checkCode(t, e.waitExit(id), 7)
			e.ok(e.nook("delete", id))
			outputs := []string{ran.Stdout, readString(created.OutPath)}
			if outputs[0] != outputs[1] {
				t.Errorf("started at once:\n%s\nstarted from the parker:\n%s", outputs[0], outputs[1])
			}
			if !strings.Contains(outputs[1], "args: arg0 a b c") || !strings.Contains(outputs[1], "env: bar baz") {
				t.Errorf("the process's own output is missing:\n%s", outputs[1])
			}
			if tc.nofile != "" && !strings.Contains(outputs[1], "\n"+tc.nofile+"\n") {
				t.Errorf("want the caller's RLIMIT_NOFILE %s (ulimit -n):\n%s", tc.nofile, outputs[1])
			}
		})
	}
}

// The parker takes signals as the Go init it replaces does: TERM ends a
// created container (status 2: the kernel spares a pid namespace's init
// the default action), USR1 is ignored; KILL and delete --force work.
func TestParkedInitTakesSignalsAsBefore(t *testing.T) {
	e := newEnv(t)
	for _, parker := range []bool{true, false} {
		mods := []specMod{sh("exit 7")}
		if !parker {
			mods = append(mods, withSeccomp(refuseExecveat))
		}
		b := e.bundle(mods...)
		for _, sig := range []string{"TERM", "USR1"} {
			id := e.id()
			pid, _ := e.create(b, id)
			if parker {
				waitParked(t, pid)
			} else {
				time.Sleep(300 * time.Millisecond) // past settleAfter: waiting in Go
			}
			e.ok(e.nook("kill", id, sig))
			if sig == "TERM" {
				checkCode(t, e.waitExit(id), 2)
			} else {
				time.Sleep(200 * time.Millisecond)
				if st := e.state(id); st.Status != "created" {
					t.Errorf("parker=%v: after USR1 the container is %s, want created", parker, st.Status)
				}
			}
			e.ok(e.nook("delete", "--force", id))
		}
	}
}

// Poststart hooks of a container started from the parker see its process
// executed, as for any other.
func TestParkedPoststartSeesTheProcessExecuted(t *testing.T) {
	e := newEnv(t)
	seen := filepath.Join(e.Dir, "exe")
	b := e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
			`pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); readlink /proc/$pid/exe > ` + seen}}}}
	})
	id := e.id()
	pid, _ := e.create(b, id)
	waitParked(t, pid)
	e.ok(e.nook("start", id))
	if exe := strings.TrimSpace(readString(seen)); !strings.HasSuffix(exe, "/bin/busybox") {
		t.Errorf("poststart saw the container's process run %q, want the rootfs's /bin/busybox (sleep)", exe)
	}
	e.ok(e.nook("delete", "--force", id))
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
