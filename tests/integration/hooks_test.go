package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript writes a hook that appends "<name> <status> <pid> <ns>" to log,
// where ns says whether the hook runs in the host's mount namespace.
func hookScript(t *testing.T, dir, name, log string) string {
	t.Helper()
	p := filepath.Join(dir, name+".sh")
	script := `#!/bin/sh
state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
pid=$(echo "$state" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
if [ "$(readlink /proc/self/ns/mnt)" = "$HOST_MNT" ]; then ns=host; else ns=container; fi
echo "` + name + ` $status $pid $ns $1" >> ` + log + `
`
	must(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

func TestHooksOrderStateAndNamespaces(t *testing.T) {
	e := newEnv(t)
	log := filepath.Join(e.Dir, "hooks.log")
	hostMnt, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)
	env := []string{"HOST_MNT=" + hostMnt, "PATH=/usr/bin:/bin"}
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: hookScript(t, e.Dir, name, log), Args: []string{name, "arg1"}, Env: env}
	}
	b := e.bundle(args("true"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{hook("prestart")},
			CreateRuntime:   []specs.Hook{hook("createRuntime")},
			CreateContainer: []specs.Hook{hook("createContainer")},
			Poststart:       []specs.Hook{hook("poststart")},
			Poststop:        []specs.Hook{hook("poststop")},
		}
	})
	id := e.id()
	pid, _ := e.create(b, id)
	e.ok(e.nook("start", id))
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
	lines := nonEmptyLines(readString(log))
	want := []string{
		"prestart created PID host arg1",
		"createRuntime creating PID host arg1",
		"createContainer creating PID container arg1",
		"poststart running PID host arg1",
		"poststop stopped PID host arg1",
	}
	for i := range want {
		want[i] = strings.Replace(want[i], "PID", itoa(pid), 1)
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("hooks ran as\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestStartContainerHookRunsInsideTheContainer(t *testing.T) {
	e := newEnv(t)
	// The path resolves in the container: /bin/sh of the busybox rootfs,
	// writing into the container's /tmp, read back by the process.
	out := e.runOK(args("cat", "/tmp/hook-ran"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{
			Path: "/bin/sh",
			Args: []string{"sh", "-c", "cat > /tmp/hook-state; hostname > /tmp/hook-ran"},
		}}}
		s.Hostname = "inside-hook"
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	})
	if strings.TrimSpace(out) != "inside-hook" {
		t.Errorf("startContainer hook saw hostname %q, want the container's", out)
	}
}

func TestFailingHooks(t *testing.T) {
	e := newEnv(t)
	fail := filepath.Join(e.Dir, "fail.sh")
	must(t, os.WriteFile(fail, []byte("#!/bin/sh\necho hook-broke >&2\nexit 3\n"), 0o755))
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		b := e.bundle(args("true"), func(s *specs.Spec) {
			h := []specs.Hook{{Path: fail}}
			s.Hooks = &specs.Hooks{}
			switch kind {
			case "prestart":
				s.Hooks.Prestart = h
			case "createRuntime":
				s.Hooks.CreateRuntime = h
			case "createContainer":
				s.Hooks.CreateContainer = h
			}
		})
		id := e.id()
		e.expectFail(e.nook("create", "--bundle", b, id), kind, "hook-broke")
		e.expectFail(e.nook("state", id), "does not exist")
	}
	// runtime-spec v1.3: a failing poststart hook fails start and stops
	// the container; delete then runs the poststop hooks.
	log := filepath.Join(e.Dir, "after.log")
	b := e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Poststart: []specs.Hook{{Path: fail}},
			Poststop:  []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo poststop-ran > " + log}}},
		}
	})
	id := e.id()
	e.create(b, id)
	e.expectFail(e.nook("start", id), "poststart", "hook-broke")
	e.waitStatus(id, "stopped")
	e.ok(e.nook("delete", id))
	if readString(log) != "poststop-ran\n" {
		t.Errorf("poststop hooks did not run after the failed start")
	}
}

func TestHookTimeout(t *testing.T) {
	e := newEnv(t)
	one := 1
	b := e.bundle(args("true"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one}}}
	})
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "createRuntime", "timed out")
}

func TestBadHookPath(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/no/such/hook"}}}
	})
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "hooks.createRuntime[0]", "/no/such/hook")
}

func TestSysctl(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"), func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
	})
	if got := strings.Fields(out); strings.Join(got, " ") != "1 1234" {
		t.Errorf("sysctls inside: %q, want 1 1234", got)
	}
	b := e.bundle(func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "10"} })
	e.expectFail(e.nook("create", "--bundle", b, e.id()), "vm.swappiness")
}

func TestSchedulingFields(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh(`cut -d' ' -f19 /proc/self/stat; grep Cpus_allowed_list /proc/self/status; uname -m`),
		func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5}
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0"}
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
		})
	got := strings.Join(nonEmptyLines(out), "|")
	// nice 5 from the scheduler, CPU 0 only, and a 32-bit personality.
	if want := "5|Cpus_allowed_list:\t0|i686"; got != want {
		t.Errorf("inside: %q, want %q", got, want)
	}
	bad := e.bundle(func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NOPE"} })
	e.expectFail(e.nook("create", "--bundle", bad, e.id()), "process.ioPriority")
}

// TestMemoryPolicy: linux.memoryPolicy as the kernel reports it for the
// container process's mappings (numa_maps), for the process and for one
// exec'd into the container; a node the host lacks fails create cleanly.
func TestMemoryPolicy(t *testing.T) {
	e := newEnv(t)
	policy := func(mode specs.MemoryPolicyModeType, nodes string, flags ...specs.MemoryPolicyFlagType) specMod {
		return func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: mode, Nodes: nodes, Flags: flags}
		}
	}
	const show = "head -1 /proc/self/numa_maps | cut -d' ' -f2"
	for _, c := range []struct {
		mod  specMod
		want string
	}{
		{policy(specs.MpolBind, "0"), "bind:0"},
		{policy(specs.MpolInterleave, "0", specs.MpolFStaticNodes), "interleave=static:0"},
		{policy(specs.MpolPreferred, "0"), "prefer:0"},
		{nil, "default"},
	} {
		mods := []specMod{sh(show)}
		if c.mod != nil {
			mods = append(mods, c.mod)
		}
		if got := strings.TrimSpace(e.runOK(mods...)); got != c.want {
			t.Errorf("numa_maps policy %q, want %q", got, c.want)
		}
	}
	id, _, _ := e.createStarted(args("sleep", "100"), policy(specs.MpolBind, "0"))
	if got := strings.TrimSpace(e.ok(e.nook("exec", id, "sh", "-c", show)).Stdout); got != "bind:0" {
		t.Errorf("exec: numa_maps policy %q, want bind:0", got)
	}
	e.ok(e.nook("delete", "--force", id))
	e.expectFail(e.nook("create", "--bundle", e.bundle(policy(specs.MpolBind, "1000")), e.id()),
		"linux.memoryPolicy", "set_mempolicy: invalid argument")
	e.expectFail(e.nook("create", "--bundle", e.bundle(policy("MPOL_NOSUCH", "")), e.id()),
		"linux.memoryPolicy.mode", "MPOL_NOSUCH")
}

// TestUnsupportedLinuxFields: what nook does not implement is refused by
// name, never silently ignored.
func TestUnsupportedLinuxFields(t *testing.T) {
	e := newEnv(t)
	e.expectFail(e.nook("create", "--bundle", e.bundle(func(s *specs.Spec) {
		s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c1"}
	}), e.id()), "linux.intelRdt", "not supported")
}

// TestNetDevices: a host device (one end of a veth pair made for the test;
// this kernel has no dummy driver) moves into the
// container's network namespace, renamed, up, with its permanent global
// addresses (IPv4 and IPv6) and without its host-scoped one; it is gone
// from the host meanwhile, and (a virtual device) destroyed with the
// namespace. Bad names, a missing device and a name taken inside fail
// create cleanly.
func TestNetDevices(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2, installed by make deps) to make a veth pair")
	}
	dev := fmt.Sprintf("nkd%d", os.Getpid()%100000)
	ipCmd := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ipCmd("link", "add", dev, "type", "veth", "peer", "name", dev+"p")
	t.Cleanup(func() { exec.Command("ip", "link", "del", dev+"p").Run() })
	ipCmd("addr", "add", "10.213.7.5/24", "dev", dev)
	ipCmd("addr", "add", "2001:db8:7::5/64", "dev", dev, "nodad")
	ipCmd("addr", "add", "10.213.8.5/32", "dev", dev, "scope", "host")
	netDevs := func(m map[string]specs.LinuxNetDevice) specMod {
		return func(s *specs.Spec) { s.Linux.NetDevices = m }
	}
	id, _, created := e.createStarted(sh("ip -o addr show dev eth7; ip -o link show eth7; sleep 100"),
		netDevs(map[string]specs.LinuxNetDevice{dev: {Name: "eth7"}}))
	// The container writes to the stdout it inherited from create.
	out := e.waitFile(created.OutPath, "link/ether")
	for _, want := range []string{"inet 10.213.7.5/24", "inet6 2001:db8:7::5/64", "eth7@"} {
		if !strings.Contains(out, want) {
			t.Errorf("inside the container: no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "10.213.8.5") {
		t.Errorf("inside the container: the host-scoped address came along:\n%s", out)
	}
	if err := exec.Command("ip", "link", "show", dev).Run(); err == nil {
		t.Errorf("%s is still on the host while the container runs", dev)
	}
	e.ok(e.nook("delete", "--force", id))

	for _, c := range []struct {
		devs  map[string]specs.LinuxNetDevice
		wants []string
	}{
		// (stderr is logrus's text line, where quotes come escaped)
		{map[string]specs.LinuxNetDevice{"nosuchdev0": {}}, []string{`linux.netDevices[`, "nosuchdev0", "no such device on the host"}},
		{map[string]specs.LinuxNetDevice{"a/b": {}}, []string{`linux.netDevices[`, "a network device name has no '/'"}},
		{map[string]specs.LinuxNetDevice{"lo": {Name: "a-name-far-too-long"}}, []string{`].name:`, "longer than the 15 bytes"}},
		{map[string]specs.LinuxNetDevice{"lo": {}}, []string{`linux.netDevices[`, "already exists in the container's network namespace"}},
	} {
		e.expectFail(e.nook("create", "--bundle", e.bundle(netDevs(c.devs)), e.id()), c.wants...)
	}
	e.expectFail(e.nook("create", "--bundle", e.bundle(netDevs(map[string]specs.LinuxNetDevice{dev: {}}), func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.NetworkNamespace })
	}), e.id()), "linux.netDevices: needs a network namespace")
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestExecCPUAffinityInitial: the init runs on execCPUAffinity.initial from
// its first instruction (set on nsenter's stage 0, which it is cloned
// from), so every thread of its Go runtime has it; the process then runs
// on final.
func TestExecCPUAffinityInitial(t *testing.T) {
	e := newEnv(t)
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs to tell the initial affinity from the default")
	}
	id := e.id()
	pid, _ := e.create(e.bundle(sh("grep Cpus_allowed_list /proc/self/status"), func(s *specs.Spec) {
		s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1", Final: "0"}
	}), id)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "Cpus_allowed_list:\t1\n") {
			t.Errorf("init thread %s is not on the initial CPUs (want Cpus_allowed_list 1):\n%s", task.Name(), b)
		}
	}
	e.ok(e.nook("delete", "--force", id))
}

// TestPoststartSeesTheProcessExecuted: start runs poststart hooks only once
// the init has executed the user process, even when a slow startContainer
// hook keeps the init from doing so for a while after the barrier opens.
func TestPoststartSeesTheProcessExecuted(t *testing.T) {
	e := newEnv(t)
	seen := filepath.Join(e.Dir, "exe")
	b := e.bundle(args("sleep", "100"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 0.3"}}},
			Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
				`pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); readlink /proc/$pid/exe > ` + seen}}},
		}
	})
	id := e.id()
	e.create(b, id)
	begin := time.Now()
	e.ok(e.nook("start", id))
	took := time.Since(begin)
	exe := strings.TrimSpace(readString(seen))
	if !strings.HasSuffix(exe, "/bin/busybox") {
		t.Errorf("poststart saw the container's process run %q, want the rootfs's /bin/busybox (sleep)", exe)
	}
	if took < 300*time.Millisecond {
		t.Errorf("start returned after %v, before the 0.3 s startContainer hook could have finished", took)
	}
	e.ok(e.nook("delete", "--force", id))
}
