package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// usernsMap is the mapping of every user namespace these tests make: the
// container's root is host uid/gid 100000.
var usernsMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}

// nsHolder starts a sleep in new namespaces (flags: CLONE_NEW*) that the
// container then joins through /proc/<pid>/ns/*; with CLONE_NEWUSER the user
// namespace maps usernsMap, and so owns the holder's other new namespaces.
// Cleanup kills and reaps it. It returns the pid.
func nsHolder(t *testing.T, flags uintptr) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("sleep is missing on the host")
	}
	cmd := exec.Command(sleep, "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if flags&syscall.CLONE_NEWUSER != 0 {
		u := usernsMap[0]
		m := []syscall.SysProcIDMap{{ContainerID: int(u.ContainerID), HostID: int(u.HostID), Size: int(u.Size)}}
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = m, m
		// The container's init calls setgroups(2): leave it allowed.
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("namespace holder (flags %#x): %v", flags, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

// nsLink is /proc/<pid>/ns/<name>'s target ("net:[4026531840]").
func nsLink(t *testing.T, pid int, name string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
	must(t, err)
	return l
}

// setNamespace puts a namespace of type typ in the config, joined by path
// when path is set, replacing the config's own of that type.
func setNamespace(typ specs.LinuxNamespaceType, path string) specMod {
	return func(s *specs.Spec) {
		withoutNamespace(typ)(s)
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
	}
}

// bindHostSys replaces the /sys sysfs mount by a read-only recursive bind
// of the host's (as runc spec --rootless writes it): a user namespace may
// mount sysfs only if it owns the network namespace, which here it does not
// (runc then fails the mount; the tests are about joining, not that).
func bindHostSys(s *specs.Spec) {
	for i, m := range s.Mounts {
		if m.Destination == "/sys" {
			s.Mounts[i] = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys",
				Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		}
	}
}

// checkJoined starts a container with mods, then checks that its init and an
// exec'd process are both in the holder's network namespace and in the user
// namespace wantUser ("": a new one, not the host's), and see usernsMap.
func checkJoined(e *env, netHolder int, wantUser string, mods ...specMod) {
	t := e.t
	t.Helper()
	id, pid, _ := e.createStarted(append([]specMod{args("sleep", "100")}, mods...)...)
	defer func() { e.ok(e.nook("delete", "--force", id)) }()
	wantNet := nsLink(t, netHolder, "net")
	if got := nsLink(t, pid, "net"); got != wantNet {
		t.Errorf("init's network namespace %s, want the holder's %s", got, wantNet)
	}
	user := nsLink(t, pid, "user")
	switch {
	case wantUser == "" && user == nsLink(t, os.Getpid(), "user"):
		t.Errorf("init is in the host's user namespace %s, want a new one", user)
	case wantUser != "" && user != wantUser:
		t.Errorf("init's user namespace %s, want %s", user, wantUser)
	}
	// exec joins every namespace of the init by path, the user namespace
	// among them.
	r := e.nook("exec", id, "sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/user; cat /proc/self/uid_map")
	if r.Code != 0 {
		t.Fatalf("exec into the container: %s", r)
	}
	got := strings.Join(strings.Fields(r.Stdout), " ")
	if want := wantNet + " " + user + " 0 100000 65536"; got != want {
		t.Errorf("exec'd process saw %q, want %q", got, want)
	}
}

// TestJoinHostNetnsWithNewUserns: a container with a new user namespace
// joins, by path, a network namespace owned by the host's user namespace
// (as a /run/netns one is). Stage 0 must join it before it enters the user
// namespace, from which it may not: exec, which joins the init's user
// namespace by path too, was refused with EPERM when the user namespace
// was always joined first.
func TestJoinHostNetnsWithNewUserns(t *testing.T) {
	e := newEnv(t)
	net := nsHolder(t, syscall.CLONE_NEWNET)
	checkJoined(e, net, "", bindHostSys, setNamespace(specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", net)),
		setNamespace(specs.UserNamespace, ""), func(s *specs.Spec) {
			s.Linux.UIDMappings, s.Linux.GIDMappings = usernsMap, usernsMap
		})
}

// TestJoinHostNetnsWithJoinedUserns: both by path, a user namespace and a
// network namespace that user namespace does not own (the host's does):
// create itself used to fail with EPERM.
func TestJoinHostNetnsWithJoinedUserns(t *testing.T) {
	e := newEnv(t)
	user := nsHolder(t, syscall.CLONE_NEWUSER)
	net := nsHolder(t, syscall.CLONE_NEWNET)
	checkJoined(e, net, nsLink(t, user, "user"), bindHostSys,
		setNamespace(specs.UserNamespace, fmt.Sprintf("/proc/%d/ns/user", user)),
		setNamespace(specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", net)))
}

// TestJoinUsernsAndItsNetns: a user namespace and the network namespace it
// owns, both by path (what a pod's infra container leaves behind); sysfs
// can be mounted fresh.
func TestJoinUsernsAndItsNetns(t *testing.T) {
	e := newEnv(t)
	h := nsHolder(t, syscall.CLONE_NEWUSER|syscall.CLONE_NEWNET)
	checkJoined(e, h, nsLink(t, h, "user"),
		setNamespace(specs.UserNamespace, fmt.Sprintf("/proc/%d/ns/user", h)),
		setNamespace(specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", h)))
}

// A network namespace nook makes has its loopback up, as runc's: programs
// in a container without other networking still reach 127.0.0.1.
func TestNewNetnsLoopbackUp(t *testing.T) {
	e := newEnv(t)
	out := e.runOK(sh("cat /sys/class/net/lo/flags"))
	if got := strings.TrimSpace(out); got != "0x9" {
		t.Errorf("lo flags in a new network namespace: %q, want 0x9 (IFF_UP|IFF_LOOPBACK)", got)
	}
}
