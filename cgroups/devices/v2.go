package devices

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// programName marks nook's filters among the programs attached to a
// cgroup (systemd, for one, attaches its own); the kernel keeps 15 bytes.
const programName = "nook_devices"

// SetV2 enforces rules on the cgroup2 directory dir with an eBPF program,
// replacing the program nook attached before (so `update` can change it).
// The new program is attached (BPF_F_ALLOW_MULTI) before the old one is
// detached: meanwhile both run and a request must pass both, so there is
// never a moment without a filter. Rules that allow everything need no
// program: the old one is just detached.
func SetV2(dir string, rules []specs.LinuxDeviceCgroup) error {
	parsed, err := parseRules(rules)
	if err != nil {
		return err
	}
	cg, err := openCgroup2(dir)
	if err != nil {
		return fmt.Errorf("linux.resources.devices: %w", err)
	}
	defer unix.Close(cg)

	old, err := nookPrograms(cg)
	if err != nil {
		return fmt.Errorf("linux.resources.devices: %s: %w", dir, err)
	}
	defer closeFDs(old)

	if !allowsEverything(parsed) {
		prog, err := loadDeviceProgram(programName, buildProgram(parsed))
		if err != nil {
			return fmt.Errorf("linux.resources.devices: loading the device filter eBPF program: %w%s", err, bpfHint(err))
		}
		// Once attached the cgroup holds its own reference.
		defer unix.Close(prog)
		if err := attachDeviceProgram(cg, prog); err != nil {
			hint := bpfHint(err)
			if errors.Is(err, unix.EPERM) {
				hint = " (a program attached without BPF_F_ALLOW_MULTI excludes others)"
			}
			return fmt.Errorf("linux.resources.devices: attaching the device filter to %s: %w%s", dir, err, hint)
		}
	}
	for _, p := range old {
		if err := detachDeviceProgram(cg, p); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("linux.resources.devices: detaching the previous device filter from %s: %w", dir, err)
		}
	}
	return nil
}

// openCgroup2 opens dir and checks it is on cgroup2: attaching to anything
// else fails with a baffling EBADF.
func openCgroup2(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not a cgroup2 directory", dir)
	}
	return fd, nil
}

// nookPrograms opens the device programs nook attached to the cgroup.
func nookPrograms(cg int) ([]int, error) {
	ids, err := attachedDeviceProgramIDs(cg)
	if err != nil {
		return nil, fmt.Errorf("listing attached device filters: %w%s", err, bpfHint(err))
	}
	var out []int
	for _, id := range ids {
		fd, err := programFD(id)
		if errors.Is(err, unix.ENOENT) {
			continue // detached meanwhile
		}
		if err != nil {
			closeFDs(out)
			return nil, fmt.Errorf("opening attached device filter %d: %w%s", id, err, bpfHint(err))
		}
		if _, name, err := programInfo(fd); err != nil || name != programName {
			unix.Close(fd)
			continue
		}
		out = append(out, fd)
	}
	return out, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// bpfHint names the usual reason behind a bpf(2) refusal.
func bpfHint(err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return " (needs CAP_SYS_ADMIN)"
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		return " (does the kernel have CONFIG_CGROUP_BPF?)"
	}
	return ""
}
