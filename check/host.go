package check

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/libcontainer/sysctl"
	"github.com/nookrt/nook/seccomp"
)

// checkHost: what this kernel and host cannot do for the config.
func (c *checker) checkHost() {
	c.checkCgroups()
	c.checkNamespaces()
	c.checkSeccomp()
	c.checkSysctls()
	c.checkDevices()
	c.checkMountSources()
}

// cgroupKinds classify the cgroup planner's refusals by what they say:
// which need another host, and which another value.
var cgroupKinds = []struct{ kind, text string }{
	{"host.cgroup-controller-missing", "controller is not available"},
	{"host.cgroup-controller-missing", "controller is not mounted"},
	{"host.cgroup-controller-missing", "not supported on cgroup v2"},
	{"host.cgroup-controller-missing", "cannot be set on a cgroup v1 host"},
	{"host.cgroup-file-missing", "not supported by this kernel"},
	{"host.cgroup-file-missing", "this kernel has no"},
	{"host.cgroup-file-missing", "on this host"},
	{"host.cgroup-file-missing", "this host has no"},
	{"host.cgroup-file-missing", "is not a file of the container's cgroup"},
	{"host.cgroup-file-missing", "of this host"},
	{"host.cpuset-unavailable", "is outside the available"},
}

func cgroupKind(err error) string {
	for _, k := range cgroupKinds {
		if strings.Contains(err.Error(), k.text) {
			return k.kind
		}
	}
	return "config.invalid"
}

// checkCgroups plans linux.resources as create would (cgroups.New writes
// nothing), one resource group at a time so that a refusal of one does
// not hide the others. With --systemd-cgroup the cgroupfs planner checks
// the values (systemd applies them through the same controllers).
func (c *checker) checkCgroups() {
	l := c.spec.Linux
	if l == nil {
		return
	}
	base := cgroups.Config{Name: "nook-check", Path: l.CgroupsPath}
	if c.opts.SystemdCgroup {
		base.Path = ""
	} else if strings.Count(l.CgroupsPath, ":") == 2 && !strings.HasPrefix(l.CgroupsPath, "/") {
		c.add(Finding{Kind: "config.cgroups-path-systemd", Severity: Warning, Field: "linux.cgroupsPath",
			Message: fmt.Sprintf("%q has systemd's slice:prefix:name form, but without --systemd-cgroup it names a cgroupfs directory", l.CgroupsPath),
			Hint:    "pass --systemd-cgroup, or give a cgroup path"})
	}
	if _, err := cgroups.New(base); err != nil {
		c.addErr(cgroupKind(err), Error, err, "fix linux.cgroupsPath")
		return
	}
	r := l.Resources
	if r == nil {
		return
	}
	for _, part := range []*specs.LinuxResources{
		{Devices: r.Devices}, {Memory: r.Memory}, {CPU: r.CPU}, {Pids: r.Pids}, {BlockIO: r.BlockIO},
		{HugepageLimits: r.HugepageLimits}, {Network: r.Network}, {Rdma: r.Rdma}, {Unified: r.Unified},
	} {
		cfg := base
		cfg.Resources = part
		if _, err := cgroups.New(cfg); err != nil {
			kind := cgroupKind(err)
			hint := "fix this value; create refuses it"
			if strings.HasPrefix(kind, "host.") {
				hint = "remove the setting, or run on a host that has it (see /sys/fs/cgroup)"
			}
			c.addErr(kind, Error, err, hint)
		}
	}
}

// nsProc names a namespace type in /proc/self/ns, with the CLONE_NEW*
// flag NS_GET_NSTYPE reports for it (initproto's table, the one create
// uses).
func nsProc(t specs.LinuxNamespaceType) (name string, flag int) {
	for _, k := range initproto.NamespaceKinds() {
		if k.Type == t {
			return k.Proc, int(k.Flag)
		}
	}
	return "", 0
}

// checkNamespaces: the kernel must have each namespace type created, and
// each path to join must be a namespace of its type.
func (c *checker) checkNamespaces() {
	if c.spec.Linux == nil {
		return
	}
	for i, ns := range c.spec.Linux.Namespaces {
		proc, _ := nsProc(ns.Type)
		if proc == "" {
			continue // spec.Validate reported it
		}
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if ns.Path != "" {
			c.checkNamespacePath(field, ns)
			continue
		}
		if _, err := os.Stat("/proc/self/ns/" + proc); err != nil {
			c.add(Finding{Kind: "host.namespace-unavailable", Severity: Error, Field: field,
				Message: fmt.Sprintf("this kernel has no %s namespaces (no /proc/self/ns/%s)", ns.Type, proc),
				Hint:    "remove it from linux.namespaces, or use a kernel built with it"})
			continue
		}
		if ns.Type == specs.UserNamespace {
			if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
				c.add(Finding{Kind: "host.namespace-unavailable", Severity: Error, Field: field,
					Message: "user namespaces are disabled on this host (user.max_user_namespaces is 0)",
					Hint:    "raise the sysctl user.max_user_namespaces, or do without a user namespace"})
			}
		}
	}
}

func (c *checker) checkNamespacePath(field string, ns specs.LinuxNamespace) {
	f, err := os.Open(ns.Path)
	if err != nil {
		c.add(Finding{Kind: "host.namespace-path-missing", Severity: Error, Field: field + ".path",
			Message: fmt.Sprintf("%s: %v", ns.Path, errors.Unwrap(err)),
			Hint:    "name an existing namespace (/proc/PID/ns/... or a bind-mounted one)"})
		return
	}
	defer f.Close()
	proc, flag := nsProc(ns.Type)
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		c.add(Finding{Kind: "host.namespace-path-missing", Severity: Error, Field: field + ".path",
			Message: fmt.Sprintf("%s is not a namespace", ns.Path),
			Hint:    "name /proc/PID/ns/" + proc + " of a process in the namespace to join"})
		return
	}
	if got != flag {
		c.add(Finding{Kind: "config.namespace-path-type", Severity: Error, Field: field + ".path",
			Message: fmt.Sprintf("%s is not a %s namespace", ns.Path, ns.Type),
			Hint:    "name a namespace of the type given in linux.namespaces[].type"})
	}
}

// checkSeccomp: architectures and flags this libseccomp and kernel lack,
// then whatever compiling the rest of the profile refuses.
func (c *checker) checkSeccomp() {
	if c.spec.Linux == nil || c.spec.Linux.Seccomp == nil {
		return
	}
	sc := *c.spec.Linux.Seccomp
	feat := seccomp.Features()
	var archs []specs.Arch
	for i, a := range sc.Architectures {
		if !slices.Contains(feat.Archs, string(a)) {
			c.add(Finding{Kind: "host.seccomp-arch-unsupported", Severity: Error, Field: fmt.Sprintf("linux.seccomp.architectures[%d]", i),
				Message: fmt.Sprintf("%s is not an architecture libseccomp %s knows", a, seccomp.LibseccompVersion()),
				Hint:    "remove it (see `nook features` for those this host has)"})
			continue
		}
		archs = append(archs, a)
	}
	var flags []specs.LinuxSeccompFlag
	for i, f := range sc.Flags {
		if slices.Contains(feat.KnownFlags, string(f)) && !slices.Contains(feat.SupportedFlags, string(f)) {
			c.add(Finding{Kind: "host.seccomp-flag-unsupported", Severity: Error, Field: fmt.Sprintf("linux.seccomp.flags[%d]", i),
				Message: fmt.Sprintf("%s is not supported by this kernel", f),
				Hint:    "remove it (see `nook features`)"})
			continue
		}
		flags = append(flags, f)
	}
	sc.Architectures, sc.Flags = archs, flags
	if _, err := seccomp.Compile(&sc, nil); err != nil {
		kind := "config.invalid"
		if strings.Contains(err.Error(), "this kernel") || strings.Contains(err.Error(), "libseccomp") {
			kind = "host.seccomp-unsupported"
		}
		c.addErr(kind, Error, err, "fix the seccomp profile")
	}
}

// checkSysctls: each key must be in a namespace of the container's own
// and exist on this kernel.
func (c *checker) checkSysctls() {
	l := c.spec.Linux
	if l == nil || len(l.Sysctl) == 0 {
		return
	}
	ns := libcontainer.SysctlNamespaces(l)
	keys := make([]string, 0, len(l.Sysctl))
	for k := range l.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := joinPath("linux.sysctl", k)
		err := sysctl.Validate(map[string]string{k: l.Sysctl[k]}, ns)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "linux.sysctl: ")
			kind, hint := "config.invalid", "fix the key"
			if strings.Contains(msg, "refusing to set it") {
				kind, hint = "host.sysctl-not-namespaced", "give the container its own namespace of that kind, or set the sysctl on the host"
			}
			c.add(Finding{Kind: kind, Severity: Error, Field: field, Message: msg, Hint: hint})
			continue
		}
		// Per-interface keys name interfaces that may exist only in the
		// container's network namespace.
		if strings.Contains(k, ".conf.") || strings.Contains(k, ".neigh.") {
			continue
		}
		p := "/proc/sys/" + k
		if !strings.Contains(k, "/") {
			p = "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		}
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			c.add(Finding{Kind: "host.sysctl-missing", Severity: Error, Field: field,
				Message: fmt.Sprintf("this kernel has no sysctl %s (no %s)", k, p),
				Hint:    "remove it, or load the module that provides it"})
		}
	}
}

// checkDevices: linux.devices are made with mknod, or bound from the host
// in a user namespace (where mknod is refused).
func (c *checker) checkDevices() {
	l := c.spec.Linux
	if l == nil {
		return
	}
	userns := hasNamespace(l, specs.UserNamespace)
	for i, d := range l.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if d.Type == "p" {
			continue
		}
		if _, err := os.Stat(d.Path); err != nil && userns {
			c.add(Finding{Kind: "host.device-missing", Severity: Error, Field: field + ".path",
				Message: fmt.Sprintf("%s does not exist on the host, and in a user namespace devices are bound from the host", d.Path),
				Hint:    "load the driver that provides it, or remove the device"})
			continue
		}
		class := "char"
		if d.Type == "b" {
			class = "block"
		}
		if _, err := os.Stat(fmt.Sprintf("/sys/dev/%s/%d:%d", class, d.Major, d.Minor)); errors.Is(err, os.ErrNotExist) {
			c.add(Finding{Kind: "host.device-missing", Severity: Warning, Field: field,
				Message: fmt.Sprintf("no %s device %d:%d is registered on this host: %s will be made, but opening it fails (ENXIO)", class, d.Major, d.Minor, d.Path),
				Hint:    "check major and minor (ls -l " + d.Path + " on a host that has it), or load its driver"})
		}
	}
}

// checkMountSources: a bind mount's source must exist; an idmapped one's
// file system must support idmapping.
func (c *checker) checkMountSources() {
	for i, m := range c.spec.Mounts {
		opts := mountOptions(m)
		if !opts["bind"] && !opts["rbind"] && m.Type != "bind" {
			continue
		}
		src := c.bindSource(m)
		if _, err := os.Stat(src); err != nil {
			c.add(Finding{Kind: "host.mount-source-missing", Severity: Error, Field: fmt.Sprintf("mounts[%d].source", i),
				Message: fmt.Sprintf("%s: %v", src, errors.Unwrap(err)),
				Hint:    "create it on the host, or fix the path"})
			continue
		}
		if rootfs.IsIdmapped(m) {
			c.checkIDMap(i, m, src)
		}
	}
}

func (c *checker) checkIDMap(i int, m specs.Mount, src string) {
	field := fmt.Sprintf("mounts[%d]", i)
	if os.Geteuid() != 0 {
		return // create's rootless checks say why it cannot (host.rootless)
	}
	uid, gid := m.UIDMappings, m.GIDMappings
	if len(uid) == 0 && c.spec.Linux != nil {
		uid, gid = c.spec.Linux.UIDMappings, c.spec.Linux.GIDMappings
	}
	if len(uid) == 0 || len(gid) == 0 {
		c.add(Finding{Kind: "config.idmap-without-mappings", Severity: Error, Field: field,
			Message: "idmap needs uidMappings and gidMappings on the mount, or a user namespace with mappings",
			Hint:    "add uidMappings and gidMappings to the mount"})
		return
	}
	if err := libcontainer.ProbeIDMap(src, uid, gid); err != nil {
		c.add(Finding{Kind: "host.idmap-unsupported", Severity: Error, Field: field, Message: err.Error(),
			Hint: "use a source on a file system that supports idmapped mounts (ext4, xfs, btrfs, tmpfs ...), or drop idmap"})
	}
}

// bindSource is a bind mount's source on the host (relative to the bundle
// when relative, as create takes it).
func (c *checker) bindSource(m specs.Mount) string {
	if filepath.IsAbs(m.Source) {
		return m.Source
	}
	return filepath.Join(c.bundle, m.Source)
}

func mountOptions(m specs.Mount) map[string]bool {
	opts := map[string]bool{}
	for _, o := range m.Options {
		opts[o] = true
	}
	return opts
}

func hasNamespace(l *specs.Linux, t specs.LinuxNamespaceType) bool {
	for _, ns := range l.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}
