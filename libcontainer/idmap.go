package libcontainer

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/rootfs"
)

// idmapUserns makes a user namespace holding the given mappings and returns
// an fd of it, for mount_setattr(MOUNT_ATTR_IDMAP). The namespace is kept
// alive by the fd alone: the process that made it (nook itself, parked in
// its C constructor before the Go runtime starts) is killed at once.
func idmapUserns(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	conv := func(ms []specs.LinuxIDMapping) []syscall.SysProcIDMap {
		out := make([]syscall.SysProcIDMap, 0, len(ms))
		for _, m := range ms {
			out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		return out
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/exe",
		Args: []string{"nook", "userns-holder"},
		Env:  []string{"_NOOK_USERNS_HOLDER=1"},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: conv(uid),
			GidMappings: conv(gid),
			Pdeathsig:   syscall.SIGKILL,
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("user namespace for an idmapped mount: %w", err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	if err != nil {
		return nil, fmt.Errorf("user namespace for an idmapped mount: %w", err)
	}
	return f, nil
}

// idmapFiles makes one user namespace per idmapped mount and returns the
// files to hand to the init with, for each, the mount's index.
func idmapFiles(s *specs.Spec) (files []*os.File, mounts []int, err error) {
	for i, m := range s.Mounts {
		if !rootfs.IsIdmapped(m) {
			continue
		}
		uid, gid := m.UIDMappings, m.GIDMappings
		if len(uid) == 0 && s.Linux != nil {
			// "idmap" without mappings: the container's own.
			uid, gid = s.Linux.UIDMappings, s.Linux.GIDMappings
		}
		if len(uid) == 0 || len(gid) == 0 {
			closeAll(files)
			return nil, nil, fmt.Errorf("mounts[%d]: idmap needs uidMappings and gidMappings on the mount or a user namespace with mappings", i)
		}
		f, err := idmapUserns(uid, gid)
		if err != nil {
			closeAll(files)
			return nil, nil, fmt.Errorf("mounts[%d]: %w", i, err)
		}
		files = append(files, f)
		mounts = append(mounts, i)
	}
	return files, mounts, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
