package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nookrt/nook/libcontainer/kernel"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are what every container gets (runtime-spec config-linux.md,
// "Default Devices").
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// defaultLinks are the /dev symlinks of the same section, plus runc's
// /dev/core.
var defaultLinks = [][2]string{
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
	{"pts/ptmx", "/dev/ptmx"},
}

// createDevices makes the default devices and linux.devices. A device the
// config lists replaces the default of the same path.
func createDevices(k kernel.Kernel, root *os.File, configured []specs.LinuxDevice, inUserns bool, guard *writeGuard) error {
	devs := map[string]specs.LinuxDevice{}
	var order []string
	for _, d := range append(append([]specs.LinuxDevice{}, defaultDevices...), configured...) {
		p := filepath.Clean(d.Path)
		if _, ok := devs[p]; !ok {
			order = append(order, p)
		}
		devs[p] = d
	}
	for _, p := range order {
		d := devs[p]
		var err error
		if inUserns {
			// mknod is refused in a user namespace: bind the host's node.
			err = bindDevice(k, root, d, guard)
		} else {
			err = makeDevice(k, root, d, guard)
		}
		if err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	for _, l := range defaultLinks {
		if err := symlinkInRoot(k, root, l[0], l[1], guard); err != nil {
			return err
		}
	}
	if _, err := k.Stat("/proc/kcore"); err == nil {
		return symlinkInRoot(k, root, "/proc/kcore", "/dev/core", guard)
	}
	return nil
}

func deviceMode(d specs.LinuxDevice) (uint32, error) {
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(*d.FileMode) & 0o7777
	}
	switch d.Type {
	case "c", "u":
		return perm | unix.S_IFCHR, nil
	case "b":
		return perm | unix.S_IFBLK, nil
	case "p":
		return perm | unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("type %q: must be c, b, u or p", d.Type)
}

func makeDevice(k kernel.Kernel, root *os.File, d specs.LinuxDevice, guard *writeGuard) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	dir, err := mkdirInRoot(k, root, filepath.Dir(d.Path))
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := guard.check(dir, "mknod"); err != nil {
		return err
	}
	name := filepath.Base(d.Path)
	dev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if err := k.Mknodat(int(dir.Fd()), name, mode, int(dev)); err != nil {
		if !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mknod: %w", err)
		}
		// Something is there already (an image's own /dev): replace it so the
		// container gets exactly the device the config asks for.
		if err := k.Unlinkat(int(dir.Fd()), name, 0); err != nil {
			return fmt.Errorf("replace existing: %w", err)
		}
		if err := k.Mknodat(int(dir.Fd()), name, mode, int(dev)); err != nil {
			return fmt.Errorf("mknod: %w", err)
		}
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if uid != -1 || gid != -1 {
		if err := k.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	return nil
}

func bindDevice(k kernel.Kernel, root *os.File, d specs.LinuxDevice, guard *writeGuard) error {
	if _, err := deviceMode(d); err != nil {
		return err
	}
	// The target is made here, never an entry the image left: a symlink
	// at the device's path would send the bind elsewhere in the rootfs.
	dir, err := mkdirInRoot(k, root, filepath.Dir(d.Path))
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := guard.check(dir, "bind the host's node"); err != nil {
		return err
	}
	name := filepath.Base(d.Path)
	if err := k.Unlinkat(int(dir.Fd()), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("replace existing %s: %w", d.Path, err)
	}
	fd, err := k.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", d.Path, err)
	}
	target := os.NewFile(uintptr(fd), d.Path)
	defer target.Close()
	tree, err := k.OpenTree(unix.AT_FDCWD, d.Path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("in a user namespace no device node can be made (mknod), only the host's bound, and the host has no %s", d.Path)
	}
	if err != nil {
		return fmt.Errorf("clone host %s: %w", d.Path, err)
	}
	defer unix.Close(tree)
	if err := sameHostNode(k, tree, d); err != nil {
		return err
	}
	return attachTree(k, tree, target)
}

// sameHostNode checks that the host's node bound for d (tree) is the device
// the config names: binding another one silently would give the container
// a device it did not ask for.
func sameHostNode(k kernel.Kernel, tree int, d specs.LinuxDevice) error {
	var want uint32
	switch d.Type {
	case "c", "u":
		want = unix.S_IFCHR
	case "b":
		want = unix.S_IFBLK
	default:
		return nil
	}
	var st unix.Stat_t
	if err := k.Fstat(tree, &st); err != nil {
		return fmt.Errorf("stat host %s: %w", d.Path, err)
	}
	if st.Mode&unix.S_IFMT != want || unix.Major(st.Rdev) != uint32(d.Major) || unix.Minor(st.Rdev) != uint32(d.Minor) {
		return fmt.Errorf("in a user namespace only the host's node can be bound, and the host's %s is not %s %d:%d as the config says", d.Path, d.Type, d.Major, d.Minor)
	}
	return nil
}

func symlinkInRoot(k kernel.Kernel, root *os.File, target, link string, guard *writeGuard) error {
	dir, err := mkdirInRoot(k, root, filepath.Dir(link))
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := guard.check(dir, "symlink "+link); err != nil {
		return err
	}
	err = k.Symlinkat(target, int(dir.Fd()), filepath.Base(link))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("symlink %s -> %s: %w", link, target, err)
	}
	return nil
}
