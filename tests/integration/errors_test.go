package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// Each bad input: exit 1, one error line naming the problem, and nothing
// left behind (checked by newEnv's cleanup).

func TestBadMissingBundle(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(e.Dir, "no-such-bundle")
	e.expectFail(e.nook("create", "--bundle", missing, e.id()), missing)
}

func TestBadMissingConfig(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	must(t, os.Remove(filepath.Join(b, "config.json")))
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "config.json")
}

func TestBadInvalidJSON(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	bad := "{\n  \"ociVersion\": \"1.3.0\",\n  \"process\": {,}\n}\n"
	must(t, os.WriteFile(filepath.Join(b, "config.json"), []byte(bad), 0o644))
	r := e.nook("create", "--bundle", b, e.id())
	e.expectFail(r, "config.json", "line 3, column")
}

func TestBadOCIVersion(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) { s.Version = "2.0.0" })
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "ociVersion", "2.0.0")
}

func TestBadArgsNotInPath(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("no-such-binary"))
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "no-such-binary")
	// run goes through the same path.
	e.expectFail(e.nook("run", "--bundle", b, e.id()), "no-such-binary")
}

func TestBadMissingRootfs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) { s.Root.Path = "missing-rootfs" })
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "missing-rootfs")
}

func TestBadIDs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"))
	for _, id := range []string{"", strings.Repeat("a", 1025), "a/b", "../escape", "..", "."} {
		short := id
		if len(short) > 20 {
			short = short[:20] + "…"
		}
		r := e.nook("create", "--bundle", b, id)
		if r.Code != 1 || len(nonEmptyLines(r.Stderr)) != 1 || !strings.Contains(r.Stderr, "container id") {
			t.Errorf("id %q: want exit 1 and one error line about the container id, got: %s", short, r)
		}
	}
	// Nothing was made, neither under the root nor beside it.
	if _, err := os.Stat(filepath.Join(e.Dir, "escape")); err == nil {
		t.Errorf("id ../escape created %s", filepath.Join(e.Dir, "escape"))
	}
}

func TestBadCreateExistingID(t *testing.T) {
	e := newEnv(t)
	id, pid, _ := e.createStarted(args("sleep", "100"))
	other := e.bundle(args("true"))
	e.expectFail(e.nook("create", "--bundle", other, id), id, "exists")
	// The existing container is untouched and still works.
	st := e.state(id)
	if st.Status != "running" || st.Pid != pid || st.Bundle == other {
		t.Errorf("existing container after a second create: %+v, want running with pid %d", st, pid)
	}
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
}

func TestBadStart(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	e.expectFail(e.nook("start", id), "running")
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.expectFail(e.nook("start", id), "stopped")
	e.ok(e.nook("delete", id))
	e.expectFail(e.nook("start", id), "container does not exist")
}

func TestBadKill(t *testing.T) {
	e := newEnv(t)
	e.expectFail(e.nook("kill", "no-such-container", "KILL"), "container does not exist")
	id, _, _ := e.createStarted(args("sleep", "100"))
	e.expectFail(e.nook("kill", id, "SIGNOPE"), "SIGNOPE")
	e.expectFail(e.nook("kill", id, "99"), "99")
	if st := e.state(id); st.Status != "running" {
		t.Errorf("after bad signals: status %q, want running", st.Status)
	}
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.expectFail(e.nook("kill", id, "KILL"), "container not running")
	e.ok(e.nook("delete", id))
}

func TestBadDeleteNotStopped(t *testing.T) {
	e := newEnv(t)
	running, _, _ := e.createStarted(args("sleep", "100"))
	e.expectFail(e.nook("delete", running), running, "running")
	if st := e.state(running); st.Status != "running" {
		t.Errorf("refused delete changed the container: status %q", st.Status)
	}
	created := e.id()
	e.create(e.bundle(args("sleep", "100")), created)
	e.expectFail(e.nook("delete", created), created, "created")
	if st := e.state(created); st.Status != "created" {
		t.Errorf("refused delete changed the container: status %q", st.Status)
	}
	e.ok(e.nook("delete", "--force", running))
	e.ok(e.nook("delete", "--force", created))
}

func TestLogJSON(t *testing.T) {
	e := newEnv(t)
	logFile := filepath.Join(e.Dir, "log.json")
	missing := filepath.Join(e.Dir, "no-such-bundle")
	r := e.nookGlobal([]string{"--root", e.Root, "--log", logFile, "--log-format", "json",
		"create", "--bundle", missing, e.id()}, nil)
	if r.Code != 1 {
		t.Fatalf("want exit 1: %s", r)
	}
	if !strings.Contains(r.Stderr, missing) {
		t.Errorf("stderr does not carry the error (conmon forwards it): %s", r)
	}
	var found bool
	for _, l := range nonEmptyLines(readString(logFile)) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("log line is not JSON: %q: %v", l, err)
			continue
		}
		if entry["level"] != "error" {
			continue
		}
		found = true
		msg, _ := entry["msg"].(string)
		if !strings.Contains(msg, missing) {
			t.Errorf("error entry msg %q does not name %s", msg, missing)
		}
		ts, _ := entry["time"].(string)
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("error entry time %q: %v", ts, err)
		}
	}
	if !found {
		t.Errorf("no {\"level\":\"error\"} line in %s: %q", logFile, readString(logFile))
	}
}

var semver = regexp.MustCompile(`^\d+\.\d+\.\d+`)

func TestVersion(t *testing.T) {
	e := newEnv(t)
	out := e.ok(e.nookGlobal([]string{"--version"}, nil)).Stdout
	lines := nonEmptyLines(out)
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "nook version ") || !semver.MatchString(strings.TrimPrefix(lines[0], "nook version ")) {
		t.Fatalf("--version output %q", out)
	}
	var n int
	for _, l := range lines {
		if strings.Contains(l, "version") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d lines contain \"version\", want 1 (docker parses the last one): %q", n, out)
	}
	if !containsStr(lines, "spec: 1.3.0") {
		t.Errorf("no \"spec: 1.3.0\" line: %q", out)
	}
}

// Without a mount namespace the container's mounts are made in the caller's
// namespace, under the rootfs: a failed create must take them away again.
func TestBadArgsWithoutMountNamespace(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("no-such-binary"), withoutNamespace(specs.MountNamespace))
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "no-such-binary")
}

// An rlimit the runtime cannot set (a hard limit above its own, without
// CAP_SYS_RESOURCE) must fail create, not the container after start.
func TestBadRlimitAboveHostHardLimit(t *testing.T) {
	e := newEnv(t)
	host, err := os.ReadFile("/proc/self/status")
	must(t, err)
	if hexMask(statusField(string(host), "CapEff"))&capMask("CAP_SYS_RESOURCE") != 0 {
		t.Skip("this process has CAP_SYS_RESOURCE: any hard limit can be raised")
	}
	var lim unix.Rlimit
	must(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	if lim.Max >= 1<<40 {
		t.Skip("RLIMIT_NOFILE hard limit is unlimited here")
	}
	want := lim.Max + 1000
	b := e.bundle(sh("ulimit -n"), func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: want, Hard: want}}
	})
	id := e.id()
	r := e.nook("create", "--bundle", b, id)
	if r.Code == 0 {
		// Clean up what the wrongly successful create made.
		e.nook("start", id)
		e.nook("delete", "--force", id)
	}
	e.expectFail(r, "RLIMIT_NOFILE")
}

// A namespace path that is not a namespace fails create with the path named
// and leaves nothing behind; a FIFO there must not block create forever
// waiting for a writer (nsenter opens the paths non-blocking).
func TestBadNamespacePath(t *testing.T) {
	e := newEnv(t)
	fifo := filepath.Join(e.Dir, "fifo")
	must(t, unix.Mkfifo(fifo, 0o600))
	plain := filepath.Join(e.Dir, "plain")
	must(t, os.WriteFile(plain, nil, 0o600))
	for _, path := range []string{fifo, plain} {
		b := e.bundle(func(s *specs.Spec) {
			for i, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[i].Path = path
				}
			}
		})
		began := time.Now()
		e.expectFail(e.nook("create", "--bundle", b, e.id()), "join namespace", path)
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("create with namespace path %s took %v", path, took)
		}
	}
}

// nookWithin runs nook like e.nook, but kills it after limit: a command
// that hangs on a hostile file then fails its test quickly, instead of
// reading /dev/zero into memory for the harness's 30 s.
func (e *env) nookWithin(limit time.Duration, a ...string) (result, time.Duration) {
	e.t.Helper()
	began := time.Now()
	r := harness.RunCaptured(e.Dir, e.next(), exec.Command(suite.Nook, append([]string{"--root", e.Root}, a...)...), limit)
	return r, time.Since(began)
}

// hostileConfig checks that create and run refuse the bundle's config.json
// at once: exit 1, one line naming config.json and saying what is wrong,
// and nothing left (newEnv's cleanup checks state dirs and processes,
// noCgroupLeft the cgroups).
func hostileConfig(t *testing.T, e *env, b string, wants ...string) {
	t.Helper()
	for _, cmd := range []string{"create", "run"} {
		id := e.id()
		r, took := e.nookWithin(5*time.Second, cmd, "--bundle", b, id)
		e.expectFail(r, append([]string{filepath.Join(b, "config.json")}, wants...)...)
		if took > 3*time.Second {
			t.Errorf("%s took %v to refuse the config", cmd, took)
		}
		noCgroupLeft(t, id)
	}
}

// A FIFO hung create and run (reading it waits for a writer forever).
func TestBadConfigFIFO(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	cfg := filepath.Join(b, "config.json")
	must(t, os.Remove(cfg))
	must(t, unix.Mkfifo(cfg, 0o644))
	hostileConfig(t, e, b, "is a FIFO, not a regular file")
}

// /dev/zero never ends: it was read into memory until something gave.
func TestBadConfigDevZero(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	cfg := filepath.Join(b, "config.json")
	must(t, os.Remove(cfg))
	must(t, os.Symlink("/dev/zero", cfg))
	hostileConfig(t, e, b, "is a character device, not a regular file")
}

func TestBadConfigDirectory(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	cfg := filepath.Join(b, "config.json")
	must(t, os.Remove(cfg))
	must(t, os.Mkdir(cfg, 0o755))
	hostileConfig(t, e, b, "is a directory, not a regular file")
}

// A sparse 8 GiB file costs no disk, but reading it would take 8 GiB of
// memory.
func TestBadConfigOversized(t *testing.T) {
	e := newEnv(t)
	b := e.bundle()
	cfg := filepath.Join(b, "config.json")
	must(t, os.Truncate(cfg, 8<<30))
	hostileConfig(t, e, b, "8589934592 bytes", "more than the limit of 32 MiB")
}

// A config.json symlinked to a regular file is read, as runc reads it.
func TestConfigSymlinkToRegularFile(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("echo", "through a symlink"))
	cfg := filepath.Join(b, "config.json")
	must(t, os.Rename(cfg, filepath.Join(e.Dir, "elsewhere.json")))
	must(t, os.Symlink(filepath.Join(e.Dir, "elsewhere.json"), cfg))
	if out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout; !strings.Contains(out, "through a symlink") {
		t.Errorf("run output %q", out)
	}
}

// A root.path that is a FIFO or a device is refused by a stat, before
// anything opens it.
func TestBadRootfsNotDirectory(t *testing.T) {
	e := newEnv(t)
	fifo := filepath.Join(e.Dir, "rootfs-fifo")
	must(t, unix.Mkfifo(fifo, 0o644))
	for _, root := range []string{fifo, "/dev/zero"} {
		b := e.bundle(func(s *specs.Spec) { s.Root.Path = root })
		for _, cmd := range []string{"create", "run"} {
			id := e.id()
			r, took := e.nookWithin(5*time.Second, cmd, "--bundle", b, id)
			e.expectFail(r, "root.path", root, "not a directory")
			if took > 3*time.Second {
				t.Errorf("%s with root.path %s took %v", cmd, root, took)
			}
			noCgroupLeft(t, id)
		}
	}
}

// The JSON files exec --process and update --resources are given get
// config.json's guards: a FIFO is refused at once (update reads it while it
// holds the container's lock, so a hang there would block every command on
// the container).
func TestBadProcessAndResourcesFIFO(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"))
	fifo := filepath.Join(e.Dir, "fifo.json")
	must(t, unix.Mkfifo(fifo, 0o644))
	for _, a := range [][]string{{"exec", "--process", fifo, id}, {"update", "--resources", fifo, id}} {
		r, took := e.nookWithin(5*time.Second, a...)
		if r.Code == 0 || r.Code == -1 || took > 3*time.Second || !strings.Contains(r.Stderr, "is a FIFO, not a regular file") {
			t.Errorf("%v: want a prompt refusal naming the FIFO, got %s after %v", a, r, took)
		}
	}
	e.ok(e.nook("delete", "--force", id))
}

// Issue 21 §4: with --log-format json every error line carries a stable
// kind and, where there is one, the config field; stderr keeps the text.
func TestLogJSONErrorKinds(t *testing.T) {
	e := newEnv(t)
	lastError := func(a ...string) (map[string]any, result) {
		t.Helper()
		logFile := filepath.Join(e.Dir, fmt.Sprintf("log%d.json", e.next()))
		r := e.nookGlobal(append([]string{"--root", e.Root, "--log", logFile, "--log-format", "json"}, a...), nil)
		var last map[string]any
		for _, l := range nonEmptyLines(readString(logFile)) {
			var entry map[string]any
			if json.Unmarshal([]byte(l), &entry) == nil && entry["level"] == "error" {
				last = entry
			}
		}
		return last, r
	}
	id, _, _ := e.createStarted(args("sleep", "100"))
	stopped, _, _ := e.createStarted(args("true"))
	e.waitStatus(stopped, "stopped")
	bad := e.bundle(func(s *specs.Spec) { v := 5000; s.Process.OOMScoreAdj = &v })
	for _, tc := range []struct {
		args        []string
		kind, field string
	}{
		{[]string{"state", "no-such-container"}, "not-found", ""},
		{[]string{"kill", stopped, "TERM"}, "not-running", ""},
		{[]string{"exec", stopped, "true"}, "not-running", ""},
		{[]string{"create", "--bundle", e.bundle(), id}, "already-exists", ""},
		{[]string{"create", "--bundle", bad, e.id()}, "invalid-config", "process.oomScoreAdj"},
	} {
		entry, r := lastError(tc.args...)
		if r.Code == 0 || entry == nil {
			t.Errorf("%v: want a failure with an error line: %s", tc.args, r)
			continue
		}
		field, _ := entry["field"].(string)
		if entry["kind"] != tc.kind || field != tc.field {
			t.Errorf("%v: kind %v field %q, want %s %q (msg %v)", tc.args, entry["kind"], field, tc.kind, tc.field, entry["msg"])
		}
		if strings.Contains(r.Stderr, "kind=") {
			t.Errorf("%v: stderr's text changed: %q", tc.args, r.Stderr)
		}
	}
	e.ok(e.nook("delete", "--force", id))
	e.ok(e.nook("delete", stopped))
}
