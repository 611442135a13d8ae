package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// Rootless nook: every subtest of TestRootless runs nook as an unprivileged
// account that the test makes (useradd, which gives it /etc/subuid and
// /etc/subgid ranges) and removes at the end (userdel, which takes the
// ranges with it). The account's files live under each subtest's directory;
// its state root is $XDG_RUNTIME_DIR/nook there.

// account is the unprivileged user the subtests run nook as.
type account struct {
	name           string
	uid, gid       uint32
	subuid, subgid idSpan
}

type idSpan struct{ start, count uint32 }

// accountsMu serialises useradd/userdel/usermod of this process: they lock
// /etc/passwd and give up rather than wait for each other.
var accountsMu sync.Mutex

// runAccountTool runs useradd/usermod/userdel, retrying while another
// process holds the lock on the account files (exit 10).
func runAccountTool(name string, args ...string) error {
	accountsMu.Lock()
	defer accountsMu.Unlock()
	var out []byte
	var err error
	for i := 0; i < 50; i++ {
		out, err = exec.Command(name, args...).CombinedOutput()
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 10 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// makeAccount creates the account, with subordinate ids, and removes it
// (and exactly its subordinate id lines) when t ends.
func makeAccount(t *testing.T) *account {
	t.Helper()
	for _, tool := range []string{"useradd", "userdel", "usermod"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing (package passwd): the rootless tests need an account to run as", tool)
		}
	}
	name := fmt.Sprintf("nookrl%d%03d", os.Getpid()%100000, time.Now().Nanosecond()%1000)
	if err := runAccountTool("useradd", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", "/usr/sbin/nologin", "--user-group", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := runAccountTool("userdel", name); err != nil {
			t.Errorf("remove the test account: %v", err)
		}
		for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
			if _, ok := subIDsOf(f, name); ok {
				t.Errorf("%s still has a range of %s after userdel", f, name)
			}
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	a := &account{name: name, uid: uint32(uid), gid: uint32(gid)}
	// useradd gives a regular account ranges (login.defs SUB_UID_COUNT);
	// where it does not, one is added past every range in use.
	var okU, okG bool
	a.subuid, okU = subIDsOf("/etc/subuid", name)
	a.subgid, okG = subIDsOf("/etc/subgid", name)
	if !okU || !okG {
		start := freeSubIDStart()
		span := fmt.Sprintf("%d-%d", start, start+65535)
		if err := runAccountTool("usermod", "--add-subuids", span, "--add-subgids", span, name); err != nil {
			t.Fatal(err)
		}
		a.subuid, okU = subIDsOf("/etc/subuid", name)
		a.subgid, okG = subIDsOf("/etc/subgid", name)
		if !okU || !okG {
			t.Fatalf("no subordinate ids for %s after usermod", name)
		}
	}
	return a
}

// subIDsOf is name's first range in an /etc/subuid-style file.
func subIDsOf(path, name string) (idSpan, bool) {
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) != 3 || f[0] != name {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil {
			return idSpan{uint32(start), uint32(count)}, true
		}
	}
	return idSpan{}, false
}

func freeSubIDStart() uint64 {
	end := uint64(100000)
	for _, path := range []string{"/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(path)
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Split(l, ":")
			if len(f) != 3 {
				continue
			}
			s, _ := strconv.ParseUint(f[1], 10, 64)
			c, _ := strconv.ParseUint(f[2], 10, 64)
			if s+c > end {
				end = s + c
			}
		}
	}
	return end
}

// rlEnv is one subtest's world as the account sees it.
type rlEnv struct {
	*env
	a    *account
	home string // the account's, under e.dir
	xdg  string // its XDG_RUNTIME_DIR
	bin  string // nook, where the account can run it
}

func newRootlessEnv(t *testing.T, a *account) *rlEnv {
	e := newEnv(t)
	// t.TempDir makes root's directories, mode 0700: let the account
	// through to its own files below.
	must(t, os.Chmod(filepath.Dir(e.Dir), 0o711))
	must(t, os.Chmod(e.Dir, 0o711))
	r := &rlEnv{env: e, a: a, home: filepath.Join(e.Dir, "home")}
	r.xdg = filepath.Join(r.home, "run")
	for _, d := range []string{r.home, r.xdg} {
		must(t, os.Mkdir(d, 0o700))
		must(t, os.Chown(d, int(a.uid), int(a.gid)))
	}
	// The leftover check looks for state in the account's default root.
	e.Root = filepath.Join(r.xdg, "nook")
	r.bin = filepath.Join(e.Dir, "nook")
	if err := os.Link(suite.Nook, r.bin); err != nil {
		data, err := os.ReadFile(suite.Nook)
		must(t, err)
		must(t, os.WriteFile(r.bin, data, 0o755))
	}
	return r
}

// env is the account's environment: nothing of the test's own.
func (r *rlEnv) environ() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + r.home, "USER=" + r.a.name, "LOGNAME=" + r.a.name,
		"XDG_RUNTIME_DIR=" + r.xdg,
	}
}

// command runs name as the account.
func (r *rlEnv) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = r.environ()
	cmd.Dir = r.home
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: r.a.uid, Gid: r.a.gid, Groups: []uint32{}},
	}
	return cmd
}

// nookAs runs nook as the account, with its default state root.
func (r *rlEnv) nookAs(a ...string) result { return r.runCmd(r.command(r.bin, a...)) }

// runCmd runs cmd with its output in files (see result) and a timeout.
func (r *rlEnv) runCmd(cmd *exec.Cmd) result {
	return harness.RunCaptured(r.Dir, r.next(), cmd, 30*time.Second)
}

// bundle makes a bundle the account owns: its config from
// `nook spec --rootless` (run as the account) plus mods, its rootfs a copy
// of the busybox one, owned by the account.
func (r *rlEnv) bundle(mods ...specMod) string {
	r.t.Helper()
	b := filepath.Join(r.Dir, fmt.Sprintf("bundle%d", r.next()))
	must(r.t, os.Mkdir(b, 0o755))
	must(r.t, os.Chown(b, int(r.a.uid), int(r.a.gid)))
	r.ok(r.nookAs("spec", "--rootless", "--bundle", b))
	var s specs.Spec
	data, err := os.ReadFile(filepath.Join(b, "config.json"))
	must(r.t, err)
	must(r.t, json.Unmarshal(data, &s))
	s.Process.Terminal = false
	for _, m := range mods {
		m(&s)
	}
	r.writeConfig(b, &s)
	if err := copyTreeOwned(suite.Rootfs, filepath.Join(b, "rootfs"), int(r.a.uid), int(r.a.gid)); err != nil {
		r.t.Fatalf("copy rootfs: %v", err)
	}
	return b
}

// copyTreeOwned copies a tree (files copied, never linked: the copies are
// chowned) and gives everything to uid:gid.
func copyTreeOwned(src, dst string, uid, gid int) error {
	if err := harness.CopyTree(src, dst); err != nil {
		return err
	}
	return filepath.WalkDir(dst, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// create creates a container as the account and registers its init.
func (r *rlEnv) create(bundle, id string, extra ...string) int {
	r.t.Helper()
	pidFile := filepath.Join(r.home, fmt.Sprintf("pid%d", r.next()))
	a := append([]string{"create", "--bundle", bundle, "--pid-file", pidFile}, extra...)
	r.ok(r.nookAs(append(a, id)...))
	b, err := os.ReadFile(pidFile)
	must(r.t, err)
	pid, err := strconv.Atoi(string(b))
	must(r.t, err)
	r.register(pid)
	return pid
}

// status is the container's status as the account's `nook state` says.
func (r *rlEnv) status(id string) string {
	r.t.Helper()
	res := r.ok(r.nookAs("state", id))
	var s stateOut
	must(r.t, json.Unmarshal([]byte(res.Stdout), &s))
	return s.Status
}

func (r *rlEnv) waitStatus(id, want string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.status(id) != want {
		if time.Now().After(deadline) {
			r.t.Fatalf("container %s never became %s", id, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectEmptyRoot: nothing of any container is left in the state root.
func (r *rlEnv) expectEmptyRoot() {
	r.t.Helper()
	ents, _ := os.ReadDir(r.Root)
	for _, d := range ents {
		if d.Name() != ".seccomp-cache" {
			r.t.Errorf("state left in %s: %s", r.Root, d.Name())
		}
	}
}

func TestRootless(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	a := makeAccount(t)
	t.Run("Spec", func(t *testing.T) { testRootlessSpec(t, a) })
	t.Run("Lifecycle", func(t *testing.T) { testRootlessLifecycle(t, a) })
	t.Run("RunExitCode", func(t *testing.T) { testRootlessRunExitCode(t, a) })
	t.Run("RootFlags", func(t *testing.T) { testRootlessRootFlags(t, a) })
	t.Run("SubIDMaps", func(t *testing.T) { testRootlessSubIDMaps(t, a) })
	t.Run("SubIDErrors", func(t *testing.T) { testRootlessSubIDErrors(t, a) })
	t.Run("OwnIDOnly", func(t *testing.T) { testRootlessOwnIDOnly(t, a) })
	t.Run("Refusals", func(t *testing.T) { testRootlessRefusals(t, a) })
	t.Run("Devices", func(t *testing.T) { testRootlessDevices(t, a) })
	t.Run("NoCgroup", func(t *testing.T) { testRootlessNoCgroup(t, a) })
	t.Run("Cgroup2Delegated", func(t *testing.T) { testRootlessCgroup2Delegated(t, a) })
	t.Run("Cgroup2Only", func(t *testing.T) { testRootlessCgroup2Only(t, a) })
	t.Run("Podman", func(t *testing.T) { testRootlessPodman(t, a) })
}

// runcBinary is runc 1.5 for side-by-side checks: where `make deps`
// builds it, else a runc 1.5 in PATH; "" when there is none (an older
// runc writes other defaults: Debian's 1.1 gives no ambient capabilities).
func runcBinary() string {
	for _, p := range []string{"/opt/runc-1.5/bin/runc", "runc"} {
		if path, err := exec.LookPath(p); err == nil {
			if out, err := exec.Command(path, "--version").Output(); err == nil && strings.HasPrefix(string(out), "runc version 1.5.") {
				return path
			}
		}
	}
	return ""
}

// specOf runs `<bin> spec [--rootless]` as the account in a new directory.
func (r *rlEnv) specOf(bin string, rootless bool) specs.Spec {
	r.t.Helper()
	dir := filepath.Join(r.home, fmt.Sprintf("spec%d", r.next()))
	must(r.t, os.Mkdir(dir, 0o755))
	must(r.t, os.Chown(dir, int(r.a.uid), int(r.a.gid)))
	args := []string{"spec"}
	if rootless {
		args = append(args, "--rootless")
	}
	cmd := r.command(bin, args...)
	cmd.Dir = dir
	r.ok(r.runCmd(cmd))
	var s specs.Spec
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	must(r.t, err)
	must(r.t, json.Unmarshal(data, &s))
	return s
}

// 1. `nook spec --rootless` changes the default config as runc's does.
func testRootlessSpec(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	s := r.specOf(r.bin, true)
	wantU := []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.uid, Size: 1}}
	wantG := []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.gid, Size: 1}}
	if !reflect.DeepEqual(s.Linux.UIDMappings, wantU) || !reflect.DeepEqual(s.Linux.GIDMappings, wantG) {
		t.Errorf("mappings = %+v %+v, want the account's own ids to 0", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	runc := runcBinary()
	if runc == "" {
		t.Skip("runc 1.5 is missing (`make deps` builds it into /opt/runc-1.5): nothing to compare `nook spec --rootless` with")
	}
	theirs, theirsRootful := r.specOf(runc, true), r.specOf(runc, false)
	mineRootful := r.specOf(r.bin, false)
	// The rootful defaults differ on purpose (hostname, masked paths):
	// what --rootless changes must be the same, and what it keeps.
	same := func(what string, mine, ref any) {
		mb, _ := json.Marshal(mine)
		rb, _ := json.Marshal(ref)
		if !bytes.Equal(mb, rb) {
			t.Errorf("%s:\nnook spec --rootless: %s\n%s spec --rootless: %s", what, mb, runc, rb)
		}
	}
	// Namespaces: --rootless drops the network namespace and adds a user
	// one, in both; the rootful sets may differ by the cgroup namespace
	// (runc adds one on a cgroup2 host, nook never does).
	rootlessNS := func(rootful specs.Spec) []specs.LinuxNamespace {
		var out []specs.LinuxNamespace
		for _, ns := range rootful.Linux.Namespaces {
			if ns.Type != specs.NetworkNamespace && ns.Type != specs.UserNamespace {
				out = append(out, ns)
			}
		}
		return append(out, specs.LinuxNamespace{Type: specs.UserNamespace})
	}
	withoutCgroupNS := func(nss []specs.LinuxNamespace) (out []specs.LinuxNamespace) {
		for _, ns := range nss {
			if ns.Type != specs.CgroupNamespace {
				out = append(out, ns)
			}
		}
		return out
	}
	same("nook's linux.namespaces (vs its rootful default)", s.Linux.Namespaces, rootlessNS(mineRootful))
	same("runc's linux.namespaces (vs its rootful default)", theirs.Linux.Namespaces, rootlessNS(theirsRootful))
	same("linux.namespaces but cgroup", withoutCgroupNS(s.Linux.Namespaces), withoutCgroupNS(theirs.Linux.Namespaces))
	same("linux.uidMappings", s.Linux.UIDMappings, theirs.Linux.UIDMappings)
	same("linux.gidMappings", s.Linux.GIDMappings, theirs.Linux.GIDMappings)
	same("mounts", s.Mounts, theirs.Mounts)
	same("linux.resources", s.Linux.Resources, theirs.Linux.Resources)
	same("process", s.Process, theirs.Process)
	same("root", s.Root, theirs.Root)
	// Masked and read-only paths: as each runtime's rootful default.
	same("nook's linux.maskedPaths (vs its rootful default)", s.Linux.MaskedPaths, mineRootful.Linux.MaskedPaths)
	same("runc's linux.maskedPaths (vs its rootful default)", theirs.Linux.MaskedPaths, theirsRootful.Linux.MaskedPaths)
	same("linux.readonlyPaths", s.Linux.ReadonlyPaths, theirs.Linux.ReadonlyPaths)
}

// 2. The whole lifecycle as the account, with the state in
// $XDG_RUNTIME_DIR/nook.
func testRootlessLifecycle(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	b := r.bundle(args("sh", "-c", "echo started; exec sleep 100"))
	id := r.id()
	pid := r.create(b, id)
	fi, err := os.Stat(r.Root)
	must(t, err)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != a.uid || fi.Mode().Perm() != 0o700 || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("state root %s: owner %d mode %v, want %d and drwx-----T", r.Root, st.Uid, fi.Mode(), a.uid)
	}
	if _, err := os.Stat(filepath.Join(r.Root, id)); err != nil {
		t.Errorf("no state of %s under $XDG_RUNTIME_DIR/nook: %v", id, err)
	}
	if got := r.status(id); got != "created" {
		t.Errorf("status after create = %q", got)
	}
	list := r.ok(r.nookAs("list"))
	if !strings.Contains(list.Stdout, id) || !strings.Contains(list.Stdout, a.name) {
		t.Errorf("list does not show %s owned by %s:\n%s", id, a.name, list.Stdout)
	}
	// The init runs as the account on the host.
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		if uids := strings.Fields(statusField(string(status), "Uid")); len(uids) == 0 || uids[0] != strconv.Itoa(int(a.uid)) {
			t.Errorf("init's host uids = %v, want %d", uids, a.uid)
		}
	}
	r.ok(r.nookAs("start", id))
	r.waitStatus(id, "running")
	if ex := r.nookAs("exec", id, "sh", "-c", "id -u; exit 5"); ex.Code != 5 || strings.TrimSpace(ex.Stdout) != "0" {
		t.Errorf("exec: want uid 0 printed and exit 5, got %s", ex)
	}
	ps := r.ok(r.nookAs("ps", "--format", "json", id))
	var pids []int
	must(t, json.Unmarshal([]byte(ps.Stdout), &pids))
	if !containsInt(pids, pid) {
		t.Errorf("ps lists %v, not the init %d", pids, pid)
	}
	if table := r.ok(r.nookAs("ps", id)); !strings.Contains(table.Stdout, "sleep 100") {
		t.Errorf("ps table does not show the init:\n%s", table.Stdout)
	}
	r.ok(r.nookAs("kill", id, "KILL"))
	r.waitStatus(id, "stopped")
	r.ok(r.nookAs("delete", id))
	r.expectEmptyRoot()
	if ps := r.nookAs("state", id); ps.Code != 1 {
		t.Errorf("state after delete: %s", ps)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// run exits as the container's process does, as rootful nook's.
func testRootlessRunExitCode(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	res := r.nookAs("run", "--bundle", r.bundle(sh("echo hello; exit 3")), r.id())
	if res.Code != 3 || strings.TrimSpace(res.Stdout) != "hello" {
		t.Errorf("run: want hello and exit 3, got %s", res)
	}
	r.expectEmptyRoot()
}

// --root wins over the default; --rootless takes true, false and auto only,
// and false makes the cgroup permission errors fatal again (runc's rules).
func testRootlessRootFlags(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	other := filepath.Join(r.home, "other-root")
	b := r.bundle(sh("true"))
	id := r.id()
	r.ok(r.nookAs("--root", other, "run", "--bundle", b, id))
	if _, err := os.Stat(other); err != nil {
		t.Errorf("--root %s not used: %v", other, err)
	}
	if _, err := os.Stat(filepath.Join(r.xdg, "nook", id)); err == nil {
		t.Errorf("state written to the default root despite --root")
	}
	r.expectFail(r.nookAs("--rootless", "maybe", "run", "--bundle", b, r.id()), "invalid --rootless", "maybe", "must be true, false or auto")
	for _, v := range []string{"true", "auto"} {
		r.ok(r.nookAs("--rootless", v, "run", "--bundle", b, r.id()))
	}
	// As an unprivileged user --rootless=false fails on the first cgroup
	// it may not create; nothing is left of the container.
	res := r.nookAs("--rootless", "false", "run", "--bundle", b, r.id())
	if res.Code != 1 || !strings.Contains(res.Stderr, "permission denied") || !strings.Contains(res.Stderr, "cgroups:") {
		t.Errorf("--rootless false: want a cgroup permission error, got %s", res)
	}
	r.expectEmptyRoot()
}

// 3. Mappings beyond the account's own ids go through newuidmap and
// newgidmap: the container's uid 1000 is a subordinate id on the host, and
// supplementary groups and gid= mount options work.
func testRootlessSubIDMaps(t *testing.T, a *account) {
	for _, h := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(h); err != nil {
			t.Skipf("%s is missing (install the uidmap package: make deps)", h)
		}
	}
	r := newRootlessEnv(t, a)
	b := r.bundle(args("sleep", "100"), subIDMaps(a), func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 10}}
	}, addMountOption("/dev/pts", "gid=5"))
	id := r.id()
	pid := r.create(b, id)
	r.ok(r.nookAs("start", id))
	status := readString(fmt.Sprintf("/proc/%d/status", pid))
	wantUID := strconv.Itoa(int(a.subuid.start) + 999)
	wantGID := strconv.Itoa(int(a.subgid.start) + 999)
	if uids := strings.Fields(statusField(status, "Uid")); len(uids) == 0 || uids[0] != wantUID {
		t.Errorf("host uids of the container's uid 1000 = %v, want %s", uids, wantUID)
	}
	if gids := strings.Fields(statusField(status, "Gid")); len(gids) == 0 || gids[0] != wantGID {
		t.Errorf("host gids = %v, want %s", gids, wantGID)
	}
	groups := strings.Fields(statusField(status, "Groups"))
	for _, g := range []uint32{5, 10} {
		if want := strconv.Itoa(int(a.subgid.start + g - 1)); !containsStr(groups, want) {
			t.Errorf("supplementary groups %v lack %s (the container's %d)", groups, want, g)
		}
	}
	ex := r.ok(r.nookAs("exec", "--user", "0:0", id, "cat", "/proc/self/uid_map", "/proc/self/setgroups"))
	if got := strings.Fields(ex.Stdout); len(got) != 7 || got[1] != strconv.Itoa(int(a.uid)) || got[4] != strconv.Itoa(int(a.subuid.start)) || got[6] != "allow" {
		t.Errorf("uid_map and setgroups in the container: %q", ex.Stdout)
	}
	r.ok(r.nookAs("delete", "--force", id))
	r.expectEmptyRoot()
}

// addMountOption adds opt to the mount at dest.
func addMountOption(dest, opt string) specMod {
	return func(s *specs.Spec) {
		for i := range s.Mounts {
			if s.Mounts[i].Destination == dest {
				s.Mounts[i].Options = append(s.Mounts[i].Options, opt)
			}
		}
	}
}

// subIDMaps maps 0 to the account and 1..65536 to its subordinate ids.
func subIDMaps(a *account) specMod {
	return func(s *specs.Spec) {
		n := uint32(65536)
		if a.subuid.count < n {
			n = a.subuid.count
		}
		m := min(n, a.subgid.count)
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.uid, Size: 1}, {ContainerID: 1, HostID: a.subuid.start, Size: n}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.gid, Size: 1}, {ContainerID: 1, HostID: a.subgid.start, Size: m}}
	}
}

// A range the account does not own, and a missing helper, fail with the
// field, the helper and the range named.
func testRootlessSubIDErrors(t *testing.T, a *account) {
	if _, err := exec.LookPath("newuidmap"); err != nil {
		t.Skip("newuidmap is missing (install the uidmap package: make deps)")
	}
	r := newRootlessEnv(t, a)
	outside := a.subuid.start + a.subuid.count + 1000000
	b := r.bundle(sh("true"), subIDMaps(a), func(s *specs.Spec) { s.Linux.UIDMappings[1].HostID = outside })
	r.expectFail(r.nookAs("run", "--bundle", b, r.id()),
		"linux.uidMappings: newuidmap refused it", fmt.Sprintf("linux.uidMappings[1] maps host uids %d-", outside),
		a.name+"'s ranges in /etc/subuid")
	// Without the helper in PATH.
	cmd := r.command(r.bin, "run", "--bundle", r.bundle(sh("true"), subIDMaps(a)), r.id())
	bin := filepath.Join(r.Dir, "emptybin")
	must(t, os.Mkdir(bin, 0o755))
	cmd.Env = append(cmd.Env, "PATH="+bin)
	r.expectFail(r.runCmd(cmd), "linux.uidMappings maps more than uid", "needs newuidmap (package uidmap)")
	r.expectEmptyRoot()
}

// A single-id map needs no helper; it denies setgroups, so explicit
// supplementary groups are refused and /etc/group's dropped with a warning.
func testRootlessOwnIDOnly(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	// Without any helper in PATH: the default map must not need one.
	cmd := r.command(r.bin, "run", "--bundle", r.bundle(args("cat", "/proc/self/uid_map", "/proc/self/gid_map", "/proc/self/setgroups")), r.id())
	cmd.Env = append(cmd.Env, "PATH=/nonexistent")
	res := r.ok(r.runCmd(cmd))
	want := fmt.Sprintf("0 %d 1 0 %d 1 deny", a.uid, a.gid)
	if got := strings.Join(strings.Fields(res.Stdout), " "); got != want {
		t.Errorf("maps and setgroups = %q, want %q", got, want)
	}
	r.expectFail(r.nookAs("run", "--bundle", r.bundle(sh("true"), func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{10} }), r.id()),
		"process.user.additionalGids [10]", "denies setgroups(2)", "newgidmap")
	// process.user.username root, whom the image's /etc/group puts in wheel.
	b := r.bundle(args("id"), func(s *specs.Spec) { s.Process.User.Username = "root" })
	group := filepath.Join(b, "rootfs/etc/group")
	must(t, os.WriteFile(group, []byte("root:x:0:\nwheel:x:10:root\n"), 0o644))
	res = r.nookAs("run", "--bundle", b, r.id())
	if res.Code != 0 || !strings.HasPrefix(res.Stdout, "uid=0(root) gid=0(root)") || strings.Contains(res.Stdout, "wheel") ||
		!strings.Contains(res.Stderr, "supplementary groups [10] not set: setgroups(2) is denied") {
		t.Errorf("username root with a group of /etc/group: want it run without the group and a warning, got %s", res)
	}
	r.expectEmptyRoot()
}

// 5. What needs privileges the account lacks is refused with what and why.
func testRootlessRefusals(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	own, err := strconv.Atoi(strings.TrimSpace(readString("/proc/self/oom_score_adj")))
	must(t, err)
	cases := []struct {
		name string
		mod  specMod
		want []string
	}{
		{"no user namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = s.Linux.Namespaces[:len(s.Linux.Namespaces)-1]
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		}, []string{"linux.namespaces", "a user namespace of its own"}},
		{"unmapped gid=5", addMountOption("/dev/pts", "gid=5"),
			[]string{"(/dev/pts): option gid=5", "does not map"}},
		{"sysctl of the host", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "10"} },
			[]string{"linux.sysctl", "vm.swappiness", "would change the host"}},
		{"net sysctl without a network namespace", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"} },
			[]string{"linux.sysctl", "net.ipv4.ip_forward", "network namespace"}},
		{"real-time I/O priority", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT} },
			[]string{"process.ioPriority", "CAP_SYS_ADMIN"}},
		{"idmapped mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"rbind", "idmap"}})
		}, []string{"(/mnt): an idmapped mount"}},
		{"host network device", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"lo": {}}
		}, []string{"linux.netDevices", "CAP_NET_ADMIN"}},
	}
	if own > -1000 {
		cases = append(cases, struct {
			name string
			mod  specMod
			want []string
		}{"oom_score_adj below the caller's", func(s *specs.Spec) { v := own - 1; s.Process.OOMScoreAdj = &v },
			[]string{fmt.Sprintf("process.oomScoreAdj %d", own-1), fmt.Sprintf("below its own (%d)", own)}})
	}
	for _, c := range cases {
		t.Logf("case: %s", c.name)
		r.expectFail(r.nookAs("run", "--bundle", r.bundle(sh("true"), c.mod), r.id()), c.want...)
	}
	// What the account's namespaces do own works.
	up := own + 1
	res := r.ok(r.nookAs("run", "--bundle", r.bundle(args("cat", "/proc/self/oom_score_adj", "/proc/sys/net/ipv4/ip_forward"), func(s *specs.Spec) {
		s.Process.OOMScoreAdj = &up
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	}), r.id()))
	if got := strings.Fields(res.Stdout); len(got) != 2 || got[0] != strconv.Itoa(up) || got[1] != "1" {
		t.Errorf("oom_score_adj and a sysctl of the container's own network namespace: %q", res.Stdout)
	}
	r.expectEmptyRoot()
}

// Device nodes are binds of the host's: the default ones, linux.devices
// that exist on the host with the numbers the config says; others fail
// naming the device and why.
func testRootlessDevices(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	devs := []specs.LinuxDevice{}
	var st unix.Stat_t
	fuse := unix.Stat("/dev/fuse", &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR
	if fuse {
		devs = append(devs, specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev))})
	}
	res := r.ok(r.nookAs("run", "--bundle", r.bundle(args("cat", "/proc/self/mountinfo"), func(s *specs.Spec) { s.Linux.Devices = devs }), r.id()))
	mounts := mountTable(res.Stdout)
	for _, d := range []string{"/dev/null", "/dev/zero", "/dev/tty"} {
		if mounts[d] == "" {
			t.Errorf("%s is not a bind mount of the host's node", d)
		}
	}
	if fuse && mounts["/dev/fuse"] == "" {
		t.Errorf("linux.devices /dev/fuse is not a bind mount of the host's node")
	}
	r.expectFail(r.nookAs("run", "--bundle", r.bundle(sh("true"), func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/nook-no-such-node", Type: "c", Major: 1, Minor: 3}}
	}), r.id()), "device /dev/nook-no-such-node", "only the host's bound", "the host has no /dev/nook-no-such-node")
	r.expectFail(r.nookAs("run", "--bundle", r.bundle(sh("true"), func(s *specs.Spec) {
		s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/zero", Type: "c", Major: 1, Minor: 3}}
	}), r.id()), "device /dev/zero", "is not c 1:3 as the config says")
	r.expectEmptyRoot()
}

// 4. On a host where the account owns no cgroup (this one as it is), a
// config without limits runs without a cgroup; a limit fails naming the
// field and what it needs; pause says why it cannot.
func testRootlessNoCgroup(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	id := r.id()
	ids := []string{id}
	pid := r.create(r.bundle(args("sleep", "100")), id)
	r.ok(r.nookAs("start", id))
	var rec struct {
		Cgroup *json.RawMessage `json:"cgroup"`
	}
	must(t, json.Unmarshal([]byte(readString(filepath.Join(r.Root, id, "state.json"))), &rec))
	ownsCgroup := rec.Cgroup != nil
	if !ownsCgroup {
		res := r.nookAs("pause", id)
		r.expectFail(res, "container "+id+" has no cgroup", "delegated")
		var pids []int
		must(t, json.Unmarshal([]byte(r.ok(r.nookAs("ps", "--format", "json", id)).Stdout), &pids))
		if len(pids) != 1 || pids[0] != pid {
			t.Errorf("ps without a cgroup lists %v, want the init %d", pids, pid)
		}
	} else {
		t.Logf("the account can write a cgroup here (%s): the no-cgroup checks are skipped", *rec.Cgroup)
	}
	r.ok(r.nookAs("delete", "--force", id))
	if !ownsCgroup {
		limit := int64(50)
		id := r.id()
		ids = append(ids, id)
		r.expectFail(r.nookAs("run", "--bundle", r.bundle(sh("true"), func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
		}), id), "linux.resources.pids", "cannot use the cgroup", "delegated to its user")
	}
	// Device rules alone (podman sends them) are no limit.
	id = r.id()
	ids = append(ids, id)
	r.ok(r.nookAs("run", "--bundle", r.bundle(sh("true"), func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	}), id))
	r.expectEmptyRoot()
	// Nothing was made in any hierarchy for these containers.
	for _, id := range ids {
		if left := cgroupsNamed(id); len(left) > 0 {
			t.Errorf("cgroups made for a rootless container without a cgroup: %v", left)
		}
	}
}

// cgroupsNamed lists the cgroups named id where a rootless nook started by
// this process would make them: under its own cgroup in each hierarchy (and
// under the parent of its cgroup2 one), and at the hierarchy roots.
func cgroupsNamed(id string) []string {
	var found []string
	check := func(pattern string) {
		m, _ := filepath.Glob(pattern)
		found = append(found, m...)
	}
	check("/sys/fs/cgroup/" + id)
	check("/sys/fs/cgroup/*/" + id)
	for _, l := range nonEmptyLines(readString("/proc/self/cgroup")) {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		check(filepath.Join("/sys/fs/cgroup/*", f[2], id))
		if f[1] == "" {
			check(filepath.Join("/sys/fs/cgroup", filepath.Dir(f[2]), id))
			check(filepath.Join("/sys/fs/cgroup/unified", filepath.Dir(f[2]), id))
		}
	}
	return found
}

// cgroup2Mount is where this host's cgroup2 hierarchy is mounted ("" if
// none): /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a
// hybrid one.
func cgroup2Mount() string {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	return ""
}

// delegation is a cgroup2 subtree given to the account as systemd's
// user@.service or an administrator gives one: the directory and its
// cgroup.procs, cgroup.subtree_control and cgroup.threads are the
// account's. shell is a cgroup inside it where nook is started.
type delegation struct {
	rel   string // the subtree, relative to the cgroup2 root
	dir   string // its path under cgroup2Mount
	shell *os.File
}

func (r *rlEnv) delegate() *delegation {
	r.t.Helper()
	mnt := cgroup2Mount()
	if mnt == "" {
		r.t.Skip("no cgroup2 hierarchy is mounted: nothing can be delegated")
	}
	d := &delegation{rel: fmt.Sprintf("nook-rootless-%d-%s", os.Getpid(), strings.ToLower(r.id()))}
	d.dir = filepath.Join(mnt, d.rel)
	must(r.t, os.Mkdir(d.dir, 0o755))
	r.t.Cleanup(func() { d.remove(r.t) })
	for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
		must(r.t, os.Chown(filepath.Join(d.dir, f), int(r.a.uid), int(r.a.gid)))
	}
	shell := filepath.Join(d.dir, "shell")
	must(r.t, os.Mkdir(shell, 0o755))
	must(r.t, os.Chown(shell, int(r.a.uid), int(r.a.gid)))
	f, err := os.Open(shell)
	must(r.t, err)
	d.shell = f
	return d
}

// in starts cmd in the delegation's shell cgroup.
func (d *delegation) in(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(d.shell.Fd())
	return cmd
}

// remove takes the subtree away. It runs before the test's leftover check
// (cleanups run last first): a container a failed test left running in it
// is killed here, with everything else in the subtree, which only this
// test's processes can be in.
func (d *delegation) remove(t *testing.T) {
	d.shell.Close()
	if err := os.WriteFile(filepath.Join(d.dir, "cgroup.kill"), []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Logf("kill what is left in %s: %v", d.dir, err)
	}
	var err error
	for i := 0; i < 50; i++ {
		if err = removeCgroupTree(d.dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("remove delegated cgroup %s: %v", d.dir, err)
}

func removeCgroupTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return fmt.Errorf("rmdir %s: %w", dir, err)
	}
	return nil
}

// hugetlbLimit is a hugetlb limit the delegated subtree can take ("" for
// the page size when cgroup2 offers no hugetlb controller there).
func hugetlbPage(dir string) string {
	if !containsStr(strings.Fields(readString(filepath.Join(dir, "cgroup.controllers"))), "hugetlb") {
		return ""
	}
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
		return ""
	}
	return "2MB"
}

// 4. With a delegated cgroup2 subtree (here the hybrid host's cgroup2, or
// a pure v2 host's) the container's cgroup is made there, limits apply,
// pause, ps, exec, update and events use it, and delete removes it.
func testRootlessCgroup2Delegated(t *testing.T, a *account) {
	r := newRootlessEnv(t, a)
	d := r.delegate()
	page := hugetlbPage(d.dir)
	b := r.bundle(args("sleep", "100"), func(s *specs.Spec) {
		if page != "" {
			s.Linux.Resources = &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: page, Limit: 4 << 21}}}
		}
	})
	if page == "" {
		t.Logf("%s offers no hugetlb controller: the limit part is skipped", d.dir)
	}
	id := r.id()
	nook := func(a ...string) result { return r.runCmd(d.in(r.command(r.bin, a...))) }
	pidFile := filepath.Join(r.home, "pid")
	r.ok(nook("create", "--bundle", b, "--pid-file", pidFile, id))
	pid, err := strconv.Atoi(readString(pidFile))
	must(t, err)
	r.register(pid)
	cg := filepath.Join(d.dir, id)
	if got := readString(fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(got, "0::/"+d.rel+"/"+id+"\n") {
		t.Errorf("init's cgroups:\n%s\nwant 0::/%s/%s", got, d.rel, id)
	}
	if page != "" {
		if got := readString(filepath.Join(cg, "hugetlb."+page+".max")); strings.TrimSpace(got) != strconv.Itoa(4<<21) {
			t.Errorf("hugetlb.%s.max = %q, want %d", page, got, 4<<21)
		}
	}
	r.ok(nook("start", id))
	r.ok(nook("pause", id))
	if got := r.status(id); got != "paused" || strings.TrimSpace(readString(filepath.Join(cg, "cgroup.freeze"))) != "1" {
		t.Errorf("after pause: status %q, cgroup.freeze %q", got, readString(filepath.Join(cg, "cgroup.freeze")))
	}
	r.ok(nook("resume", id))
	r.waitStatus(id, "running")
	var pids []int
	must(t, json.Unmarshal([]byte(r.ok(nook("ps", "--format", "json", id)).Stdout), &pids))
	if len(pids) != 1 || pids[0] != pid {
		t.Errorf("ps = %v, want [%d]", pids, pid)
	}
	ex := r.ok(nook("exec", id, "cat", "/proc/self/cgroup"))
	if !strings.Contains(ex.Stdout, "0::/"+d.rel+"/"+id) || ex.Stderr != "" {
		t.Errorf("exec'd process not in the container's cgroup: %s", ex)
	}
	if page != "" {
		res := filepath.Join(r.home, "resources.json")
		must(t, os.WriteFile(res, []byte(fmt.Sprintf(`{"hugepageLimits":[{"pageSize":%q,"limit":%d}]}`, page, 8<<21)), 0o644))
		r.ok(nook("update", "--resources", res, id))
		if got := readString(filepath.Join(cg, "hugetlb."+page+".max")); strings.TrimSpace(got) != strconv.Itoa(8<<21) {
			t.Errorf("after update hugetlb.%s.max = %q", page, got)
		}
	}
	if ev := r.ok(nook("events", "--stats", id)); !strings.Contains(ev.Stdout, `"type":"stats"`) {
		t.Errorf("events --stats: %s", ev)
	}
	// An exec from outside the delegated subtree cannot join the cgroup:
	// as runc, it runs anyway, and nook says so.
	if ex := r.nookAs("exec", id, "true"); ex.Code != 0 || !strings.Contains(ex.Stderr, "stays out of the container's cgroup") {
		t.Errorf("exec from outside the delegated subtree: %s", ex)
	}
	// The event stream runs without a memory cgroup to watch for OOM
	// kills (none on a hybrid host's cgroup2), and ends with the container.
	events := d.in(r.command(r.bin, "events", "--interval", "100ms", id))
	evOut := filepath.Join(r.Dir, "events.out")
	ef, err := os.Create(evOut)
	must(t, err)
	events.Stdout, events.Stderr = ef, ef
	must(t, events.Start())
	evDone := make(chan error, 1)
	go func() { evDone <- events.Wait() }()
	evWaited := false
	t.Cleanup(func() {
		// A failure below must not leave it behind.
		if !evWaited {
			events.Process.Kill()
			<-evDone
		}
	})
	r.waitFile(evOut, `"type":"stats"`)
	r.ok(nook("kill", id, "KILL"))
	select {
	case err := <-evDone:
		evWaited = true
		if err != nil {
			t.Errorf("events: %v\n%s", err, readString(evOut))
		}
	case <-time.After(10 * time.Second):
		events.Process.Kill()
		<-evDone
		evWaited = true
		t.Errorf("events did not end with the container:\n%s", readString(evOut))
	}
	ef.Close()
	r.waitStatus(id, "stopped")
	r.ok(nook("delete", id))
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s left after delete (%v)", cg, err)
	}
	r.expectEmptyRoot()
}

// 4 on a pure cgroup v2 host, simulated in a private mount namespace whose
// /sys/fs/cgroup is the cgroup2 hierarchy: with a delegated subtree a limit
// applies; without one (started in the root cgroup) a limit fails and a
// config without limits runs.
func testRootlessCgroup2Only(t *testing.T, a *account) {
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (util-linux) is missing", tool)
		}
	}
	r := newRootlessEnv(t, a)
	d := r.delegate()
	page := hugetlbPage(d.dir)
	limited := func(s *specs.Spec) {
		if page != "" {
			s.Linux.Resources = &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: page, Limit: 4 << 21}}}
		} else {
			limit := int64(64)
			s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
		}
	}
	// The script runs as root in the new mount namespace; every nook
	// command runs as the account.
	script := `set -e
mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup
as() { setpriv --reuid="$U" --regid="$G" --clear-groups -- "$@"; }
as "$NOOK" run --bundle "$BUNDLE" "$ID"
`
	run := func(cmd *exec.Cmd, b, id string) result {
		cmd.Env = append(r.environ(), "NOOK="+r.bin, "BUNDLE="+b, "ID="+id,
			"U="+strconv.Itoa(int(a.uid)), "G="+strconv.Itoa(int(a.gid)))
		return r.runCmd(cmd)
	}
	unshare := func() *exec.Cmd {
		cmd := exec.Command("unshare", "-m", "sh", "-c", script)
		cmd.Dir = r.home
		cmd.SysProcAttr = &syscall.SysProcAttr{}
		return cmd
	}
	// Delegated: the limit is in the container's cgroup, seen from inside.
	b := r.bundle(limited, args("sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/hugetlb.*.max /sys/fs/cgroup/pids.max 2>/dev/null; true"))
	id := r.id()
	res := run(d.in(unshare()), b, id)
	if res.Code != 0 {
		if page == "" {
			t.Skipf("no hugetlb controller in %s and pids is not delegated: %s", d.dir, res)
		}
		t.Fatalf("delegated pure-v2 run: %s", res)
	}
	lines := nonEmptyLines(res.Stdout)
	if !containsStr(lines, "0::/"+d.rel+"/"+id) || !containsStr(lines, strconv.Itoa(4<<21)) {
		t.Errorf("container in a delegated pure-v2 subtree printed %q, want 0::/%s/%s and the limit %d", lines, d.rel, id, 4<<21)
	}
	if _, err := os.Stat(filepath.Join(d.dir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup of %s left after run (%v)", id, err)
	}
	// Not delegated: nook starts in the root cgroup, which is root's.
	r.expectFail(run(unshare(), r.bundle(limited, sh("true")), r.id()), "cannot use the cgroup", "delegated to its user")
	r.ok(run(unshare(), r.bundle(sh("true")), r.id()))
	r.expectEmptyRoot()
}

// 6. Rootless podman drives nook as its runtime: podman runs it as root of
// the user namespace podman made from the account's subordinate ids, with
// its own state root in $XDG_RUNTIME_DIR/nook.
func testRootlessPodman(t *testing.T, a *account) {
	for _, tool := range []string{"podman", "conmon", "newuidmap", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing (podman and conmon: tests/engines/install.sh; newuidmap: the uidmap package)", tool)
		}
	}
	r := newRootlessEnv(t, a)
	conf := filepath.Join(r.home, "containers.conf")
	storage := filepath.Join(r.home, "storage.conf")
	must(t, os.WriteFile(conf, []byte(fmt.Sprintf(`[containers]
default_ulimits = ["nofile=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "nook"]
[engine.runtimes]
nook = [%q]
`, r.bin)), 0o644))
	// vfs: no overlay mount needed in the user namespace, whatever the kernel.
	must(t, os.WriteFile(storage, []byte(fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, filepath.Join(r.home, "storage"), filepath.Join(r.xdg, "containers"))), 0o644))
	podman := func(args ...string) result {
		cmd := r.command("podman", args...)
		cmd.Env = append(cmd.Env, "CONTAINERS_CONF="+conf, "CONTAINERS_STORAGE_CONF="+storage)
		return r.runCmd(cmd)
	}
	// podman's user namespace outlives each command in a pause process:
	// remove the containers and that process, which holds the rest.
	t.Cleanup(func() {
		podman("rm", "--all", "--force", "--time", "0")
		if pid, err := strconv.Atoi(strings.TrimSpace(readString(filepath.Join(r.xdg, "libpod/tmp/pause.pid")))); err == nil && pid > 1 {
			unix.Kill(pid, unix.SIGKILL)
			procIDOf(pid).WaitDead(5 * time.Second)
		}
	})
	image := filepath.Join(r.home, "rootfs.tar")
	if out, err := exec.Command("tar", "--numeric-owner", "-C", suite.Rootfs, "-cf", image, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar the image: %v: %s", err, out)
	}
	must(t, os.Chown(image, int(a.uid), int(a.gid)))
	r.ok(podman("import", "--quiet", "--change", "CMD=/bin/sh", image, "localhost/nook-rootless:latest"))
	prun := func(args ...string) result {
		return podman(append([]string{"--runtime", "nook", "run", "--network", "none"}, args...)...)
	}
	name := "nook-rootless-" + strconv.Itoa(int(r.next()))
	r.ok(prun("-d", "--name", name, "localhost/nook-rootless", "sleep", "1000"))
	ex := r.ok(podman("exec", name, "sh", "-c", "echo exec-ok; id -u"))
	if strings.Join(strings.Fields(ex.Stdout), " ") != "exec-ok 0" {
		t.Errorf("podman exec printed %q", ex.Stdout)
	}
	if ps := r.ok(podman("ps", "--format", "{{.Names}} {{.Status}}")); !strings.Contains(ps.Stdout, name+" Up") {
		t.Errorf("podman ps: %q", ps.Stdout)
	}
	// nook's own record of it, in the state root podman's nook chose.
	if ents, _ := os.ReadDir(filepath.Join(r.xdg, "nook")); len(ents) == 0 {
		t.Errorf("no container state under %s", filepath.Join(r.xdg, "nook"))
	}
	// sleep as PID 1 ignores SIGTERM: stop ends with SIGKILL after 1 s.
	r.ok(podman("stop", "--time", "1", name))
	if st := r.ok(podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)); strings.TrimSpace(st.Stdout) != "exited 137" {
		t.Errorf("after stop: %q", st.Stdout)
	}
	r.ok(podman("rm", name))
	// A container that exits by itself: podman reads its state through
	// `nook state` and the exit code from conmon. (Not podman wait nor an
	// attached run: under this test process conmon's exit command does
	// not complete and podman then waits 20 s, with runc as with nook.)
	name = "nook-rootless-" + strconv.Itoa(int(r.next()))
	r.ok(prun("-d", "--name", name, "localhost/nook-rootless", "sh", "-c", "cat /proc/self/uid_map; echo out; exit 7"))
	deadline := time.Now().Add(10 * time.Second)
	var st result
	for {
		st = r.ok(podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name))
		if !strings.HasPrefix(st.Stdout, "running") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if f := strings.Fields(st.Stdout); len(f) != 2 || f[0] == "running" || f[1] != "7" {
		t.Errorf("container that exited 7: podman inspect says %q", st.Stdout)
	}
	res := r.ok(podman("logs", name))
	if !strings.Contains(res.Stdout, "out") {
		t.Errorf("podman logs: %s", res)
	}
	r.ok(podman("rm", "--force", name))
	if f := strings.Fields(res.Stdout); len(f) < 6 || f[1] != strconv.Itoa(int(a.uid)) || f[4] != strconv.Itoa(int(a.subuid.start)) {
		t.Errorf("container's uid_map = %q, want 0 -> %d and 1 -> %d", res.Stdout, a.uid, a.subuid.start)
	}
	r.expectEmptyRoot()
	r.ok(podman("image", "rm", "localhost/nook-rootless"))
}

// procIDOf names a running process for waitDead.
func procIDOf(pid int) procID {
	st, err := harness.ReadStat(pid)
	if err != nil {
		return procID{Pid: pid}
	}
	return procID{Pid: pid, Start: st.Start}
}
