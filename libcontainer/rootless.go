package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/libcontainer/state"
)

// callerIDs are nook's effective ids.
type callerIDs struct{ uid, gid uint32 }

func caller() callerIDs { return callerIDs{uint32(os.Geteuid()), uint32(os.Getegid())} }

// validateRootless refuses, before anything is started, a config that an
// unprivileged nook (euid != 0, runc's "rootless EUID") cannot apply, each
// with the field and the reason. What is merely skipped rootless (cgroups
// the user may not write, device rules) is decided where it is done.
func validateRootless(s *specs.Spec) error {
	if os.Geteuid() == 0 {
		return nil
	}
	return checkRootless(s, caller())
}

func checkRootless(s *specs.Spec, c callerIDs) error {
	l := s.Linux
	if !initproto.HasNamespace(l, specs.UserNamespace) {
		return fmt.Errorf("linux.namespaces: nook runs as uid %d, not root: a container needs a user namespace of its own (nook spec --rootless writes one) or a path to join one", c.uid)
	}
	if newUserns(l) {
		if len(l.UIDMappings) == 0 {
			return fmt.Errorf("linux.uidMappings: a rootless container's new user namespace needs a mapping (at least uid %d to 0)", c.uid)
		}
		if len(l.GIDMappings) == 0 {
			return fmt.Errorf("linux.gidMappings: a rootless container's new user namespace needs a mapping (at least gid %d to 0)", c.gid)
		}
	}
	if err := rootlessMountIDs(s); err != nil {
		return err
	}
	if p := s.Process; p != nil && len(p.User.AdditionalGids) > 0 && newUserns(l) && ownIDOnly(l.GIDMappings, c.gid) {
		return fmt.Errorf("process.user.additionalGids %v: nook (uid %d) maps only its own gid %d itself, which denies setgroups(2) in the container; map gids from /etc/subgid (newgidmap) to set supplementary groups",
			p.User.AdditionalGids, c.uid, c.gid)
	}
	if err := rootlessProcess(s.Process, c); err != nil {
		return err
	}
	for i, m := range s.Mounts {
		if rootfs.IsIdmapped(m) {
			return fmt.Errorf("mounts[%d] (%s): an idmapped mount needs CAP_SYS_ADMIN over the source's filesystem, on the host, which nook (uid %d) does not have", i, m.Destination, c.uid)
		}
	}
	if l != nil && len(l.NetDevices) > 0 {
		return fmt.Errorf("linux.netDevices: moving a host network device into the container needs CAP_NET_ADMIN on the host, which nook (uid %d) does not have", c.uid)
	}
	return nil
}

// rootlessProcess refuses the process attributes that the kernel grants only
// for capabilities in the initial user namespace, whatever the container's
// own. (A real-time policy may be allowed by RLIMIT_RTPRIO: the init tries,
// see sched.SetScheduler.)
func rootlessProcess(p *specs.Process, c callerIDs) error {
	if p == nil {
		return nil
	}
	if p.IOPriority != nil && p.IOPriority.Class == specs.IOPRIO_CLASS_RT {
		return fmt.Errorf("process.ioPriority: class %s needs CAP_SYS_ADMIN or CAP_SYS_NICE on the host, which nook (uid %d) does not have", p.IOPriority.Class, c.uid)
	}
	if p.Scheduler != nil && p.Scheduler.Policy == specs.SchedDeadline {
		return fmt.Errorf("process.scheduler: policy %s needs CAP_SYS_NICE on the host, which nook (uid %d) does not have", p.Scheduler.Policy, c.uid)
	}
	return nil
}

// newUserns: the config makes a user namespace (rather than joining one).
func newUserns(l *specs.Linux) bool {
	if l == nil {
		return false
	}
	for _, ns := range l.Namespaces {
		if ns.Type == specs.UserNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// rootlessMountIDs checks that the uid=/gid= options of every mount name ids
// the new user namespace maps: the kernel refuses (EINVAL) to mount, say,
// devpts with gid=5 when no host gid stands for 5 (runc's rule).
func rootlessMountIDs(s *specs.Spec) error {
	l := s.Linux
	if !newUserns(l) {
		return nil
	}
	for i, m := range s.Mounts {
		for _, o := range m.Options {
			key, val, ok := strings.Cut(o, "=")
			if !ok || (key != "uid" && key != "gid") {
				continue
			}
			id, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				continue // not an id: the filesystem judges it
			}
			maps, kind := l.UIDMappings, "linux.uidMappings"
			if key == "gid" {
				maps, kind = l.GIDMappings, "linux.gidMappings"
			}
			if !mapsID(maps, uint32(id)) {
				return fmt.Errorf("mounts[%d] (%s): option %s names an id that %s does not map, which a rootless container cannot use (drop the option, as nook spec --rootless does, or map the id)",
					i, m.Destination, o, kind)
			}
		}
	}
	return nil
}

// mapsID: container id is inside one of the mappings.
func mapsID(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if uint64(id) >= uint64(m.ContainerID) && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// noCgroupReason explains a container without a cgroup: a rootless one
// gets one only where its user may write.
func noCgroupReason() string {
	if os.Geteuid() == 0 {
		return ""
	}
	return " (a rootless container gets one only in a cgroup2 subtree delegated to its user; see README, Rootless containers)"
}

// pidsWithoutCgroup lists the processes of a container without a cgroup:
// those in the pid namespace its init made, or, in a pid namespace it
// joined or shares, the init alone (the others cannot be told apart).
func pidsWithoutCgroup(r *state.Record) ([]int, error) {
	if !processAlive(r.Pid, r.InitStartTime) {
		return nil, nil
	}
	if ownsNoPidNS(r) {
		return []int{r.Pid}, nil
	}
	// The init names the namespace: it must be the recorded one both
	// before and after its link is read, or the pid may have been reused.
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", r.Pid))
	if err != nil || !processAlive(r.Pid, r.InitStartTime) {
		return nil, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns == target {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// rootlessJoinDenied: err is a permission error joining the cgroup of a
// container made with rootless cgroups, which exec tolerates.
func rootlessJoinDenied(r *state.Record, err error) bool {
	return r.Cgroup != nil && r.Cgroup.Rootless && errors.Is(err, fs.ErrPermission)
}
