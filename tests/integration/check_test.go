package integration

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// `nook check` (issue 21): every problem of a bundle, found without
// creating anything, and the reason of a failed exec in run/start/exec.

// finding is one entry of `nook check --format json`.
type finding struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Field    string `json:"field"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

// check runs `nook check` on bundle in both formats and returns the text
// run and the JSON findings; both must agree on the exit status.
func (e *env) check(bundle string) (result, []finding) {
	e.t.Helper()
	text := e.nook("check", "--bundle", bundle)
	js := e.nook("check", "--bundle", bundle, "--format", "json")
	if text.Code != js.Code {
		e.t.Errorf("text and json exit differently:\n%s\n%s", text, js)
	}
	var fs []finding
	if err := json.Unmarshal([]byte(js.Stdout), &fs); err != nil {
		e.t.Fatalf("check --format json is not a JSON list: %v\n%s", err, js)
	}
	for _, f := range fs {
		if f.Kind == "" || f.Message == "" || (f.Severity != "error" && f.Severity != "warning") {
			e.t.Errorf("incomplete finding %+v", f)
		}
	}
	return text, fs
}

// expectFinding checks that bundle fails the check with a finding of kind
// about field whose message holds want, in both formats, and returns it.
func (e *env) expectFinding(bundle, kind, field, want string) finding {
	e.t.Helper()
	text, fs := e.check(bundle)
	if text.Code != 1 {
		e.t.Errorf("check: want exit 1, got %s", text)
	}
	for _, f := range fs {
		if f.Kind != kind {
			continue
		}
		if f.Field != field || !strings.Contains(f.Message, want) || f.Severity != "error" {
			e.t.Errorf("finding %s: got %+v, want field %s and a message with %q", kind, f, field, want)
		}
		if f.Hint == "" {
			e.t.Errorf("finding %s has no hint: %+v", kind, f)
		}
		loc := fmt.Sprintf("config.json:%d:%d: error: %s: ", f.Line, f.Column, field)
		if f.Line == 0 || !strings.Contains(text.Stdout, loc) || !strings.Contains(text.Stdout, "["+kind+"]") {
			e.t.Errorf("text output does not show %q ... [%s]:\n%s", loc, kind, text.Stdout)
		}
		return f
	}
	e.t.Errorf("no %s finding: %s", kind, text)
	return finding{}
}

// at returns the 1-based line and column where text first appears in the
// bundle's config.json.
func (e *env) at(bundle, text string) (int, int) {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	i := bytes.Index(b, []byte(text))
	if i < 0 {
		e.t.Fatalf("config.json has no %q", text)
	}
	line := bytes.Count(b[:i], []byte("\n")) + 1
	return line, i - bytes.LastIndexByte(b[:i], '\n')
}

// editJSON rewrites a bundle's config.json through a generic map, for
// what specs.Spec cannot hold (unknown keys).
func (e *env) editJSON(bundle string, edit func(map[string]any)) {
	e.t.Helper()
	path := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(path)
	must(e.t, err)
	var m map[string]any
	must(e.t, json.Unmarshal(b, &m))
	edit(m)
	out, err := json.MarshalIndent(m, "", "  ")
	must(e.t, err)
	must(e.t, os.WriteFile(path, out, 0o644))
}

// expectRunFail checks that r failed with wants in its stderr, read
// through the escaping of nook's log lines (msg="...\"x\"...").
func (e *env) expectRunFail(r result, wants ...string) {
	e.t.Helper()
	stderr := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(r.Stderr)
	for _, w := range wants {
		if r.Code == 0 || !strings.Contains(stderr, w) {
			e.t.Errorf("want a failure saying %q, got %s", w, r)
		}
	}
}

// addFile writes a new file into a bundle's rootfs (never over an
// existing one: those are hard links to the shared master rootfs).
func addFile(t *testing.T, bundle, path string, data []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(bundle, "rootfs", path)
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, data, mode))
}

func TestCheckGoodBundle(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"))
	text, fs := e.check(b)
	if text.Code != 0 || strings.TrimSpace(text.Stdout) != "no problems found" || text.Stderr != "" || len(fs) != 0 {
		t.Errorf("a good bundle: want exit 0, \"no problems found\" and no findings, got %s\nfindings %+v", text, fs)
	}
	// It runs, as check said.
	e.runOK(args("true"))
}

func TestCheckMisspelledKey(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"))
	e.editJSON(b, func(m map[string]any) {
		linux := m["linux"].(map[string]any)
		linux["resources"] = map[string]any{"memroy": map[string]any{"limit": 1 << 30}}
	})
	f := e.expectFinding(b, "config.unknown-field", "linux.resources.memroy", `unknown field; did you mean "memory"?`)
	line, col := e.at(b, `"memroy"`)
	if f.Line != line || f.Column != col {
		t.Errorf("finding at %d:%d, the key is at %d:%d", f.Line, f.Column, line, col)
	}
	// create, which ignores unknown keys as the runtime-spec asks, would
	// have run it without the limit.
	if r := e.nook("run", "--bundle", b, e.id()); r.Code != 0 {
		t.Errorf("run: %s", r)
	}
}

func TestCheckNegativeMemoryLimit(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"), func(s *specs.Spec) {
		limit := int64(-2)
		s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	})
	f := e.expectFinding(b, "config.invalid", "linux.resources.memory.limit", "-2 is not a valid limit")
	if line, col := e.at(b, `"limit": -2`); f.Line != line || f.Column != col {
		t.Errorf("finding at %d:%d, the field is at %d:%d", f.Line, f.Column, line, col)
	}
}

func TestCheckUsernsWithoutMappings(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
	})
	e.expectFinding(b, "config.userns-without-mappings", "linux.namespaces", "linux.uidMappings and linux.gidMappings are empty")
}

// TestCheckEveryProblem: one bundle with several problems gets all of
// them, not just the first.
func TestCheckEveryProblem(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Process.Args = []string{"/no/such/app"}
		s.Process.Cwd = "/no/such/dir"
		s.Process.User.Username = "ghost"
	})
	e.editJSON(b, func(m map[string]any) { m["hostnme"] = "x" })
	_, fs := e.check(b)
	kinds := map[string]bool{}
	for _, f := range fs {
		kinds[f.Kind] = true
	}
	for _, k := range []string{"config.unknown-field", "rootfs.exec-not-found", "rootfs.cwd-missing", "rootfs.user-unknown"} {
		if !kinds[k] {
			t.Errorf("no %s among %+v", k, fs)
		}
	}
}

func TestCheckArgsMissing(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("/no/such/app"))
	e.expectFinding(b, "rootfs.exec-not-found", "process.args[0]", "/no/such/app does not exist in the container")
	// create's wording is kept (engines match it), the reason follows.
	e.expectRunFail(e.nook("run", "--bundle", b, e.id()),
		`exec: "/no/such/app": stat /no/such/app: no such file or directory: /no/such/app does not exist in the container (nor does its directory /no/such)`)

	b = e.bundle(args("nosuchprog"))
	e.expectFinding(b, "rootfs.exec-not-found", "process.args[0]", `"nosuchprog" was not found along PATH`)
	e.expectRunFail(e.nook("run", "--bundle", b, e.id()), `exec: "nosuchprog": executable file not found in $PATH`)
}

// TestCheckArgsNotInPath: create's error says where the program is when
// PATH misses its directory.
func TestCheckArgsNotInPath(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("tool"), func(s *specs.Spec) { s.Process.Env = []string{"PATH=/bin"} })
	addFile(t, b, "usr/sbin/tool", []byte("#!/bin/sh\n"), 0o755)
	want := `"tool" is at /usr/sbin/tool, which is not along PATH (/bin)`
	e.expectFinding(b, "rootfs.exec-not-found", "process.args[0]", want)
	e.expectRunFail(e.nook("run", "--bundle", b, e.id()), `exec: "tool": executable file not found in $PATH: `+want)
}

// execFailure checks a bundle whose args[0] cannot be executed for a
// reason only the exec finds: check reports kind, and run, create+start
// and exec all print why the exec failed.
func (e *env) execFailure(b, kind, checkWant, runWant string) {
	e.t.Helper()
	e.expectFinding(b, kind, "process.args[0]", checkWant)

	e.expectRunFail(e.nook("run", "--bundle", b, e.id()), runWant)

	// start: the init reports on the container's stderr (create's).
	id := e.id()
	_, cr := e.create(b, id)
	e.ok(e.nook("start", id))
	errPath := filepath.Join(filepath.Dir(cr.OutPath), "err"+strings.TrimPrefix(filepath.Base(cr.OutPath), "out"))
	e.waitFile(errPath, runWant)
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
}

// execInRunning checks `nook exec` of path in a running container.
func (e *env) execInRunning(b, path, want string) {
	e.t.Helper()
	id := e.id()
	s := newSpec()
	s.Process.Args = []string{"sleep", "60"}
	// The same rootfs, running sleep.
	e.writeConfig(b, s)
	e.create(b, id)
	e.ok(e.nook("start", id))
	e.expectRunFail(e.nook("exec", id, path), want)
	e.ok(e.nook("delete", "--force", id))
}

func TestCheckInterpreterMissing(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("/entrypoint.sh"))
	addFile(t, b, "entrypoint.sh", []byte("#!/bin/bash\necho hi\n"), 0o755)
	want := "the interpreter /bin/bash named on the first line of /entrypoint.sh does not exist in the container"
	e.execFailure(b, "rootfs.interpreter-missing", want, "exec /entrypoint.sh: no such file or directory: "+want)
	e.execInRunning(b, "/entrypoint.sh", want)
}

func TestCheckShebangCRLF(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("/entrypoint.sh"))
	addFile(t, b, "entrypoint.sh", []byte("#!/bin/sh\r\necho hi\r\n"), 0o755)
	want := `the first line of /entrypoint.sh ends with \r (Windows line endings), so "/bin/sh\r" is looked for instead of "/bin/sh"`
	e.execFailure(b, "rootfs.shebang-crlf", want, "no such file or directory: "+want)
}

// otherArch is an ELF machine this host does not run, and its name.
func otherArch() (elf.Machine, string) {
	if runtime.GOARCH == "arm64" {
		return elf.EM_X86_64, "amd64"
	}
	return elf.EM_AARCH64, "arm64"
}

// elfFor is a minimal 64-bit ELF header for machine m, written by hand:
// enough for the kernel to refuse it by its machine.
func elfFor(m elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(m))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64)
	return h
}

func TestCheckWrongArch(t *testing.T) {
	e := newEnv(t)
	if entries, _ := os.ReadDir("/proc/sys/fs/binfmt_misc"); len(entries) > 2 {
		t.Skip("binfmt_misc has handlers registered: an emulator may run another machine's binaries here")
	}
	m, name := otherArch()
	b := e.bundle(args("/app"))
	addFile(t, b, "app", elfFor(m), 0o755)
	want := fmt.Sprintf("/app is an %s binary on an %s host", name, runtime.GOARCH)
	e.execFailure(b, "rootfs.wrong-arch", want, "exec /app: exec format error: "+want)
}

func TestCheckLoaderMissing(t *testing.T) {
	e := newEnv(t)
	host := "/bin/true"
	f, err := elf.Open(host)
	if err != nil {
		t.Skipf("%s: %v", host, err)
	}
	loader := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			buf := make([]byte, p.Filesz)
			p.ReadAt(buf, 0)
			loader = strings.TrimRight(string(buf), "\x00")
		}
	}
	f.Close()
	if loader == "" {
		t.Skipf("%s is statically linked", host)
	}
	data, err := os.ReadFile(host)
	must(t, err)
	b := e.bundle(args("/app"))
	addFile(t, b, "app", data, 0o755)
	want := fmt.Sprintf("the dynamic loader %s that /app needs does not exist in the container", loader)
	e.execFailure(b, "rootfs.loader-missing", want, "exec /app: no such file or directory: "+want)
}

func TestCheckNoExecMount(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(e.Dir, "tools")
	must(t, os.Mkdir(src, 0o755))
	data, err := os.ReadFile(harness.BusyboxHost)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(src, "app"), data, 0o755))
	var index int
	b := e.bundle(args("/opt/tools/app", "true"), func(s *specs.Spec) {
		index = len(s.Mounts)
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/opt/tools", Type: "bind", Source: src, Options: []string{"bind", "noexec"}})
	})
	e.expectFinding(b, "rootfs.noexec", "process.args[0]", fmt.Sprintf("/opt/tools/app is under mounts[%d] (/opt/tools), which has the noexec option", index))
	e.expectRunFail(e.nook("run", "--bundle", b, e.id()), "exec /opt/tools/app: permission denied: /opt/tools/app is on a filesystem mounted noexec in the container")
}

// A missing cwd is made by the init (as runc does): only a warning, and the
// container runs in it.
func TestCheckCwdMissing(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("pwd"), func(s *specs.Spec) { s.Process.Cwd = "/no/such/dir" })
	text, fs := e.check(b)
	if text.Code != 0 {
		t.Errorf("check of a bundle whose cwd is missing: want exit 0 (a warning), got %s", text)
	}
	found := false
	for _, f := range fs {
		if f.Kind == "rootfs.cwd-missing" {
			found = f.Severity == "warning" && f.Field == "process.cwd" && strings.Contains(f.Message, "will be created")
		}
	}
	if !found {
		t.Errorf("no rootfs.cwd-missing warning: %+v", fs)
	}
	if out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout; out != "/no/such/dir\n" {
		t.Errorf("the container ran in %q, want /no/such/dir", out)
	}
}

func TestCheckUnknownUser(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"), func(s *specs.Spec) { s.Process.User.Username = "ghost" })
	e.expectFinding(b, "rootfs.user-unknown", "process.user.username", `user "ghost" is not in the rootfs's /etc/passwd`)
}

// TestCheckSymlinkStaysInRootfs: an absolute symlink in the image is
// resolved inside the rootfs, never on the host (where /bin/true exists).
func TestCheckSymlinkStaysInRootfs(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("/app"))
	must(t, os.Symlink("/../../../../../../usr/bin/true", filepath.Join(b, "rootfs", "app")))
	e.expectFinding(b, "rootfs.exec-not-found", "process.args[0]", "/app is a symbolic link to /../../../../../../usr/bin/true, which does not exist in the container")
}

func TestCheckBadFormat(t *testing.T) {
	e := newEnv(t)
	e.expectFail(e.nook("check", "--format", "yaml"), "invalid --format", "yaml")
}

// TestCheckHostFindings: what this host cannot do for a config, each
// reported with its field.
func TestCheckHostFindings(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(args("true"), func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"vm.swappiness": "10"}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/no/such/source", Options: []string{"rbind"}})
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, "SCMP_ARCH_NOSUCH"}}
	})
	e.expectFinding(b, "host.sysctl-not-namespaced", `linux.sysctl["vm.swappiness"]`, `"vm.swappiness" is not in a separate kernel namespace`)
	e.expectFinding(b, "host.mount-source-missing", fmt.Sprintf("mounts[%d].source", len(newSpec().Mounts)), "/no/such/source: no such file or directory")
	e.expectFinding(b, "host.seccomp-arch-unsupported", "linux.seccomp.architectures[1]", "SCMP_ARCH_NOSUCH is not an architecture libseccomp")
	// And create refuses the first of them, as check said it would.
	if r := e.nook("run", "--bundle", b, e.id()); r.Code == 0 {
		t.Errorf("run of a bundle check refused: %s", r)
	}
}

// TestCheckCgroupController: a resource whose controller this host lacks
// (rdma is mounted neither as v1 nor offered by cgroup2 on the CI hosts).
func TestCheckCgroupController(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat("/sys/fs/cgroup/rdma"); err == nil {
		t.Skip("this host has the rdma controller")
	}
	for _, f := range []string{"/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers"} {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "rdma") {
			t.Skip("this host's cgroup2 has the rdma controller")
		}
	}
	b := e.bundle(args("true"), func(s *specs.Spec) {
		one := uint32(1)
		s.Linux.Resources = &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: &one}}}
	})
	e.expectFinding(b, "host.cgroup-controller-missing", "linux.resources.rdma", "the rdma controller is not available")
}
