package integration

import (
	"encoding/json"
	"golang.org/x/sys/unix"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The host is hybrid: v1 controllers under /sys/fs/cgroup/<ctrl>, cgroup2
// at /sys/fs/cgroup/unified. Containers without a cgroupsPath land in
// /nook/<id> of every hierarchy.

func cgroupDir(ctrl, id string) string { return filepath.Join("/sys/fs/cgroup", ctrl, "nook", id) }

func readCgroup(t *testing.T, ctrl, id, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgroupDir(ctrl, id), file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return strings.TrimSpace(string(b))
}

// noCgroupLeft checks that no hierarchy still holds the container's cgroup.
func noCgroupLeft(t *testing.T, id string) {
	t.Helper()
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/nook/" + id)
	if len(dirs) != 0 {
		t.Errorf("cgroup directories left behind: %q", dirs)
	}
}

func i64p(v int64) *int64   { return &v }
func u64p(v uint64) *uint64 { return &v }
func u16p(v uint16) *uint16 { return &v }

func TestCgroupResources(t *testing.T) {
	e := newEnv(t)
	res := func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{
			Devices: s.Linux.Resources.Devices,
			Memory:  &specs.LinuxMemory{Limit: i64p(64 << 20), Reservation: i64p(32 << 20), Swappiness: u64p(10)},
			CPU:     &specs.LinuxCPU{Shares: u64p(512), Quota: i64p(50000), Period: u64p(100000), Cpus: "0", Mems: "0"},
			Pids:    &specs.LinuxPids{Limit: i64p(77)},
		}
	}
	// Inside: the container's own cgroup files (cgroupns makes them its root).
	id, pid, _ := e.createStarted(sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; sleep 100"), res)
	_ = pid
	// Outside: the files nook wrote.
	for _, c := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"memory", "memory.soft_limit_in_bytes", "33554432"},
		{"memory", "memory.swappiness", "10"},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpuset", "cpuset.cpus", "0"},
		{"pids", "pids.max", "77"},
	} {
		if got := readCgroup(t, c.ctrl, id, c.file); got != c.want {
			t.Errorf("%s/%s = %q, want %q", c.ctrl, c.file, got, c.want)
		}
	}
	procs := readCgroup(t, "memory", id, "cgroup.procs")
	if !strings.Contains("\n"+procs+"\n", "\n"+strconv.Itoa(pid)+"\n") {
		t.Errorf("init %d not in its memory cgroup (procs %q)", pid, procs)
	}
	// The unified hierarchy holds the container too (hybrid mode).
	if _, err := os.Stat(cgroupDir("unified", id)); err != nil {
		t.Errorf("no cgroup2 directory in hybrid mode: %v", err)
	}
	e.ok(e.nook("delete", "--force", id))
	noCgroupLeft(t, id)
}

func TestCgroupSeenInside(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"), func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64p(48 << 20)}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64p(33)}
	})
	if got := strings.Fields(out); strings.Join(got, " ") != "50331648 33" {
		t.Errorf("inside: %q, want the memory and pids limits", got)
	}
}

func TestCgroupPidsLimitStopsForkBomb(t *testing.T) {
	e := newEnv(t)
	// A subshell forking 30 sleeps under a limit of 10 is refused ("can't
	// fork"); the container survives it.
	out := e.runOK(sh(`( i=0; while [ $i -lt 30 ]; do sleep 3 & i=$((i+1)); done; wait ) 2>/dev/null; echo status=$?`),
		func(s *specs.Spec) { s.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64p(10)} })
	if strings.TrimSpace(out) == "status=0" || !strings.HasPrefix(strings.TrimSpace(out), "status=") {
		t.Errorf("fork bomb under pids.max 10: %q, want the forks refused", out)
	}
}

func TestCgroupMemoryOOMEvent(t *testing.T) {
	e := newEnv(t)
	// A hog under 32 MiB without swap is OOM-killed; `events` reports it.
	id, _, _ := e.createStarted(sh("sleep 1; head -c 200m /dev/zero | tail > /dev/null; sleep 100"), func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64p(32 << 20), Swap: i64p(32 << 20)}
	})
	events := e.nookBackground("events", "--interval", "100ms", id)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(events.output(), `"type":"oom"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no oom event after 15s; events printed:\n%s", events.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.ok(e.nook("delete", "--force", id))
	events.wait(t)
	noCgroupLeft(t, id)
}

func TestPauseResumePs(t *testing.T) {
	e := newEnv(t)
	id, pid, _ := e.createStarted(sh("while :; do :; done"))
	e.ok(e.nook("pause", id))
	if st := e.state(id); st.Status != "paused" {
		t.Errorf("status after pause = %q", st.Status)
	}
	// list reads records without their cgroup until a running one needs it.
	if out := e.ok(e.nook("list", "--format", "json")).Stdout; !strings.Contains(out, `"status":"paused"`) {
		t.Errorf("list after pause: %s", out)
	}
	if s := statusField(readString("/proc/"+strconv.Itoa(pid)+"/status"), "State"); !strings.HasPrefix(s, "S") && !strings.HasPrefix(s, "D") {
		t.Errorf("paused busy loop is in state %q, want sleeping (frozen)", s)
	}
	e.expectFail(e.nook("pause", id), "paused")
	e.ok(e.nook("resume", id))
	if st := e.state(id); st.Status != "running" {
		t.Errorf("status after resume = %q", st.Status)
	}
	if out := e.ok(e.nook("list", "--format", "json")).Stdout; !strings.Contains(out, `"status":"running"`) {
		t.Errorf("list after resume: %s", out)
	}
	e.expectFail(e.nook("resume", id), "not paused")
	// ps: JSON is the host pids; the table keeps ps' header.
	var pids []int
	must(t, json.Unmarshal([]byte(e.ok(e.nook("ps", "--format", "json", id)).Stdout), &pids))
	if len(pids) != 1 || pids[0] != pid {
		t.Errorf("ps --format json = %v, want [%d]", pids, pid)
	}
	table := e.ok(e.nook("ps", id)).Stdout
	lines := nonEmptyLines(table)
	if len(lines) != 2 || !strings.Contains(lines[0], "PID") || !strings.Contains(lines[1], strconv.Itoa(pid)) {
		t.Errorf("ps table:\n%s", table)
	}
	// A paused container can be deleted by force.
	e.ok(e.nook("pause", id))
	e.ok(e.nook("delete", "--force", id))
	noCgroupLeft(t, id)
}

func TestUpdateAndStats(t *testing.T) {
	e := newEnv(t)
	id, _, _ := e.createStarted(args("sleep", "100"), func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64p(64 << 20)}
	})
	e.ok(e.nook("update", "--memory", "100000000", "--pids-limit", "50", "--cpu-share", "256", id))
	for _, c := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "99999744"}, // page-rounded by the kernel
		{"pids", "pids.max", "50"},
		{"cpu", "cpu.shares", "256"},
	} {
		if got := readCgroup(t, c.ctrl, id, c.file); got != c.want {
			t.Errorf("after update %s/%s = %q, want %q", c.ctrl, c.file, got, c.want)
		}
	}
	// --resources - replaces the resources, as containerd sends them.
	r := e.nookStdin(`{"memory":{"limit":33554432},"pids":{"limit":20}}`, "update", "--resources", "-", id)
	e.ok(r)
	if got := readCgroup(t, "pids", id, "pids.max"); got != "20" {
		t.Errorf("after update --resources: pids.max = %q", got)
	}
	out := e.ok(e.nook("events", "--stats", id)).Stdout
	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Memory struct {
				Usage struct {
					Usage uint64 `json:"usage"`
					Limit uint64 `json:"limit"`
				} `json:"usage"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
				Limit   uint64 `json:"limit"`
			} `json:"pids"`
			CPU struct {
				Usage struct {
					Total uint64 `json:"total"`
				} `json:"usage"`
			} `json:"cpu"`
		} `json:"data"`
	}
	must(t, json.Unmarshal([]byte(out), &ev))
	if ev.Type != "stats" || ev.ID != id || ev.Data.Pids.Current != 1 || ev.Data.Pids.Limit != 20 ||
		ev.Data.Memory.Usage.Limit != 33554432 || ev.Data.Memory.Usage.Usage == 0 || ev.Data.CPU.Usage.Total == 0 {
		t.Errorf("events --stats: %s", out)
	}
	e.ok(e.nook("kill", id, "KILL"))
	e.waitStatus(id, "stopped")
	e.expectFail(e.nook("update", "--memory", "1000000", id), "stopped")
	e.ok(e.nook("delete", id))
	noCgroupLeft(t, id)
}

func TestBadCgroupInput(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		mod  specMod
		want []string
	}{
		{func(s *specs.Spec) { s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64p(-5)} }, []string{"memory.limit"}},
		{func(s *specs.Spec) { s.Linux.Resources.CPU = &specs.LinuxCPU{Cpus: "0-4095"} }, []string{"cpus"}},
		{func(s *specs.Spec) { s.Linux.Resources.Unified = map[string]string{"memory.max": "1000000"} }, []string{"unified"}},
		{func(s *specs.Spec) { s.Linux.CgroupsPath = "/nook/../../escape" }, []string{"cgroupsPath"}},
	}
	for _, c := range cases {
		b := e.bundle(c.mod)
		id := e.id()
		e.expectFail(e.nook("create", "--bundle", b, id), c.want...)
		noCgroupLeft(t, id)
	}
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/*/escape"); len(dirs) != 0 {
		t.Errorf("escaping cgroupsPath created %q", dirs)
	}
}

func TestCgroupsPathAbsoluteAndRelative(t *testing.T) {
	e := newEnv(t)
	name := "nook-itest-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	id, _, _ := e.createStarted(args("sleep", "100"), func(s *specs.Spec) { s.Linux.CgroupsPath = "/" + name + "/c" })
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", name, "c")); err != nil {
		t.Errorf("absolute cgroupsPath: %v", err)
	}
	e.ok(e.nook("delete", "--force", id))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", name, "c")); err == nil {
		t.Errorf("absolute cgroupsPath left behind")
	}
	for _, d := range []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"} {
		os.Remove(filepath.Join("/sys/fs/cgroup", d, name))
	}
}

func TestSystemdCgroupWithoutSystemd(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) { s.Linux.CgroupsPath = "system.slice:nook:" + "x" })
	r := e.nookGlobal([]string{"--root", e.Root, "--systemd-cgroup", "create", "--bundle", b, e.id()}, nil)
	e.expectFail(r, "systemd")
}

// nookStdin runs nook with stdin fed from in.
func (e *env) nookStdin(in string, a ...string) result {
	e.t.Helper()
	p := filepath.Join(e.Dir, "stdin"+strconv.FormatInt(e.next(), 10))
	must(e.t, os.WriteFile(p, []byte(in), 0o600))
	f, err := os.Open(p)
	must(e.t, err)
	defer f.Close()
	// fd 0 of the child: exec.Cmd's Stdin, set through a tiny wrapper.
	full := append([]string{"--root", e.Root}, a...)
	cmd := exec.Command(suite.Nook, full...)
	cmd.Stdin = f
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	r := result{Args: full}
	if err := cmd.Run(); err != nil {
		r.Code = 1
		if ee, ok := err.(*exec.ExitError); ok {
			r.Code = ee.ExitCode()
		}
	}
	r.Stdout, r.Stderr = out.String(), errb.String()
	return r
}

// background is a nook command left running (events).
type background struct {
	cmd  *exec.Cmd
	out  string
	done chan error
}

func (e *env) nookBackground(a ...string) *background {
	e.t.Helper()
	b := &background{out: filepath.Join(e.Dir, "bg"+strconv.FormatInt(e.next(), 10)), done: make(chan error, 1)}
	f, err := os.Create(b.out)
	must(e.t, err)
	b.cmd = exec.Command(suite.Nook, append([]string{"--root", e.Root}, a...)...)
	b.cmd.Stdout, b.cmd.Stderr = f, f
	must(e.t, b.cmd.Start())
	f.Close()
	go func() { b.done <- b.cmd.Wait() }()
	e.t.Cleanup(func() { b.cmd.Process.Kill(); <-b.done })
	return b
}

func (b *background) output() string { return readString(b.out) }

// wait expects the command to end by itself within 10 s.
func (b *background) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err
	case <-time.After(10 * time.Second):
		t.Errorf("%v did not end", b.cmd.Args)
	}
}

// Engines kill a paused container with SIGKILL and wait for its exit
// (containerd's shim: kill --all KILL): it must die, not stay frozen.
func TestKillPausedContainer(t *testing.T) {
	e := newEnv(t)
	for _, all := range []bool{false, true} {
		id, _, _ := e.createStarted(args("sleep", "100"))
		e.ok(e.nook("pause", id))
		a := []string{"kill", id, "KILL"}
		if all {
			a = []string{"kill", "--all", id, "KILL"}
		}
		e.ok(e.nook(a...))
		e.waitStatus(id, "stopped")
		e.ok(e.nook("delete", id))
		noCgroupLeft(t, id)
	}
}

func TestDeleteForceUnknown(t *testing.T) {
	e := newEnv(t)
	// As runc: forcing the removal of what is gone succeeds, quietly.
	r := e.ok(e.nook("delete", "--force", "never-created"))
	if r.Stderr != "" {
		t.Errorf("delete --force of an unknown id printed %q", r.Stderr)
	}
	e.expectFail(e.nook("delete", "never-created"), "container does not exist")
}

// TestCgroupMoreResources reads back, from the host, resources of each
// remaining kind this hybrid machine has: blkio throttling (v1), hugetlb
// (on cgroup2 here), swap and the OOM killer switch (v1 memory).
func TestCgroupMoreResources(t *testing.T) {
	e := newEnv(t)
	var st unix.Stat_t
	must(t, unix.Stat("/dev/vda", &st))
	major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	id, _, _ := e.createStarted(args("sleep", "100"), func(s *specs.Spec) {
		r := s.Linux.Resources
		r.Memory = &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(96 << 20), DisableOOMKiller: boolp(true)}
		r.BlockIO = &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: 1 << 20}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: 100}},
		}
		r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}
	})
	dev := strconv.FormatInt(major, 10) + ":" + strconv.FormatInt(minor, 10)
	for _, c := range []struct{ ctrl, file, want string }{
		{"blkio", "blkio.throttle.read_bps_device", dev + " 1048576"},
		{"blkio", "blkio.throttle.write_iops_device", dev + " 100"},
		{"memory", "memory.memsw.limit_in_bytes", "100663296"},
		{"unified", "hugetlb.2MB.max", "8388608"},
	} {
		if got := readCgroup(t, c.ctrl, id, c.file); got != c.want {
			t.Errorf("%s/%s = %q, want %q", c.ctrl, c.file, got, c.want)
		}
	}
	if oc := readCgroup(t, "memory", id, "memory.oom_control"); !strings.Contains(oc, "oom_kill_disable 1") {
		t.Errorf("memory.oom_control = %q, want oom_kill_disable 1", oc)
	}
	e.ok(e.nook("delete", "--force", id))
	noCgroupLeft(t, id)
}

func boolp(b bool) *bool { return &b }

// TestCgroupNamespaceRoot: a new cgroup namespace (not in the default
// config, as in runc's) is rooted at the container's cgroup (the init
// unshares it only once the parent has moved it there), so the container
// sees itself at "/" in every hierarchy. Without the namespace, or with it
// unshared in the host's root, the lines would end in the cgroup's host path.
func TestCgroupNamespaceRoot(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh("cat /proc/self/cgroup"), func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	})
	lines := strings.Fields(strings.TrimSpace(out))
	if len(lines) == 0 {
		t.Fatal("empty /proc/self/cgroup")
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("/proc/self/cgroup line %q: the container is not at the root of its cgroup namespace", l)
		}
	}
}

// v1Controllers lists the controllers mounted as cgroup v1 hierarchies.
func v1Controllers(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	ctrls := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		_, post, ok := strings.Cut(l, " - ")
		f := strings.Fields(post)
		if !ok || len(f) < 3 || f[0] != "cgroup" {
			continue
		}
		for _, o := range strings.Split(f[2], ",") {
			ctrls[o] = true
		}
	}
	return ctrls
}

// On a v1 or hybrid host without net_cls and net_prio, linux.resources.network
// is refused at create, naming the field, before anything exists (runc's
// cgroupfs driver refuses it too); it used to be silently ignored. What
// needs no controller (class 0, no priorities) still runs.
func TestCgroupNetworkWithoutController(t *testing.T) {
	e := newEnv(t)
	ctrls := v1Controllers(t)
	if len(ctrls) == 0 {
		t.Skip("no cgroup v1 hierarchy: on cgroup v2 linux.resources.network is ignored")
	}
	if ctrls["net_cls"] || ctrls["net_prio"] {
		t.Skip("net_cls or net_prio is mounted on this host")
	}
	cases := []struct {
		net  *specs.LinuxNetwork
		want string
	}{
		{&specs.LinuxNetwork{ClassID: u32p(0x100001)}, "linux.resources.network.classID: the net_cls cgroup controller is not mounted on this host"},
		{&specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 3}}}, "linux.resources.network.priorities: the net_prio cgroup controller is not mounted on this host"},
	}
	for _, c := range cases {
		b := e.bundle(args("true"), func(s *specs.Spec) { s.Linux.Resources.Network = c.net })
		for _, cmd := range []string{"create", "run"} {
			id := e.id()
			e.expectFail(e.nook(cmd, "--bundle", b, id), c.want)
			noCgroupLeft(t, id)
		}
	}
	e.ok(e.run(args("true"), func(s *specs.Spec) {
		s.Linux.Resources.Network = &specs.LinuxNetwork{ClassID: u32p(0), Priorities: []specs.LinuxInterfacePriority{}}
	}))
}

func u32p(v uint32) *uint32 { return &v }
