package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/rawfile"
	"github.com/nookrt/nook/libcontainer/rootfs"
)

// External mounts: what CRIU must not dump as part of the container but
// find again on the host at restore. Everything nook binds into the
// container from the host is one (as in runc): the config's bind mounts,
// the cgroup hierarchies of a container without a cgroup namespace, the
// host's device nodes bound in a user namespace, and the /dev/null masking
// a file. At dump each is named by its destination in the container; at
// restore that name is mapped to the host path to bind again.

// extMount is one external mount.
type extMount struct {
	dest   string // where it is in the container
	name   string // its name in the image: dest, but /dev/null for masks
	source string // the host path a restore binds there
	dir    bool   // the mountpoint is a directory (else a file)
}

func newExtMount(dest, source string, dir bool) extMount {
	return extMount{dest: dest, name: dest, source: source, dir: dir}
}

// defaultDevices are the device nodes every container gets (runtime-spec
// config-linux.md, "Default Devices"); in a user namespace nook binds the
// host's.
var defaultDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// devNullKey names every masked file in the image: they are all the
// host's /dev/null again at restore.
const devNullKey = "/dev/null"

// mountDest is where m lands in rootfs (symlinks resolved inside it), as
// the container saw it.
func mountDest(rootfsPath, dest string) string {
	dest = filepath.Clean("/" + dest)
	if p, err := securejoin.SecureJoin(rootfsPath, dest); err == nil {
		if rel, err := filepath.Rel(rootfsPath, p); err == nil {
			return filepath.Clean("/" + rel)
		}
	}
	return dest
}

// validKey refuses names CRIU would misread: CRIU (before 4.3.1) stores a
// mapping as "mnt[KEY]:VAL" unescaped, so "]:" in a key would end it early
// and point the mount elsewhere; an empty key asks CRIU to guess.
func validKey(key string) error {
	if key == "" || key == "/" || strings.Contains(key, "]:") {
		return fmt.Errorf("mount destination %q cannot be named to CRIU as an external mount", key)
	}
	return nil
}

// bindMounts are the config's bind mounts as external mounts.
func bindMounts(s *specs.Spec, rootfsPath, bundle string) []extMount {
	var out []extMount
	for _, m := range s.Mounts {
		if !rootfs.IsBind(m) {
			continue
		}
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(bundle, src)
		}
		fi, err := os.Stat(src)
		out = append(out, newExtMount(mountDest(rootfsPath, m.Destination), src, err != nil || fi.IsDir()))
	}
	return out
}

// deviceMounts are the host's device nodes a user-namespaced container
// has bound (mknod is refused there); none when the config binds /dev.
func deviceMounts(s *specs.Spec, userns bool) []extMount {
	if !userns || rootfs.DevFromConfig(s.Mounts) {
		return nil
	}
	seen := map[string]bool{}
	var out []extMount
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, newExtMount(p, p, false))
		}
	}
	for _, d := range defaultDevices {
		add(d)
	}
	if s.Linux != nil {
		for _, d := range s.Linux.Devices {
			add(d.Path)
		}
	}
	return out
}

// maskedFiles are the masked paths that are files in the running
// container (directories are masked with a tmpfs, which CRIU dumps).
func maskedFiles(s *specs.Spec, pid int) []string {
	if s.Linux == nil {
		return nil
	}
	var out []string
	for _, p := range s.Linux.MaskedPaths {
		fi, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", pid, filepath.Clean("/"+p)))
		if err != nil || fi.IsDir() {
			continue
		}
		out = append(out, filepath.Clean("/"+p))
	}
	return out
}

// cgroupDest is the destination of the config's cgroup mount ("" for none).
func cgroupDest(s *specs.Spec, rootfsPath string) string {
	for _, m := range s.Mounts {
		if m.Type == "cgroup" {
			return mountDest(rootfsPath, m.Destination)
		}
	}
	return ""
}

// procCgroups maps /proc/PID/cgroup's hierarchy names (controllers as the
// kernel joins them, "name=x", "" for cgroup2) to the process's path.
func procCgroups(pid int) (map[string]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			out[parts[1]] = parts[2]
		}
	}
	return out, sc.Err()
}

// cgroupMounts are the binds of a container without a cgroup namespace:
// its own cgroup directory in each host hierarchy (pid is a process in the
// container's cgroup, the init at dump and CRIU itself at restore). With a
// cgroup namespace the container mounted cgroupfs itself: nothing external.
func cgroupMounts(s *specs.Spec, rootfsPath string, pid int) ([]extMount, error) {
	dest := cgroupDest(s, rootfsPath)
	if dest == "" || initproto.HasNamespace(s.Linux, specs.CgroupNamespace) {
		return nil, nil
	}
	hier, err := rootfs.HostCgroupsOf(pid)
	if err != nil {
		return nil, fmt.Errorf("cgroups of %d: %w", pid, err)
	}
	var out []extMount
	for _, h := range hier {
		at := dest
		// Pure cgroup2 is one bind on the destination; otherwise a tmpfs
		// there holds one bind per hierarchy.
		if !(len(hier) == 1 && h.Mountpoint == "/sys/fs/cgroup") {
			at = filepath.Join(dest, filepath.Base(h.Mountpoint))
		}
		out = append(out, newExtMount(at, h.Dir, true))
	}
	return out, nil
}

// nsPath is the path of a namespace the container joins ("" when it has
// its own, or none of that type).
func nsPath(s *specs.Spec, t specs.LinuxNamespaceType) string {
	if s.Linux == nil {
		return ""
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path
		}
	}
	return ""
}

// addExtMounts appends the mappings to opts in a stable order, refusing
// names CRIU would misread: at dump each destination to its name in the
// image, at restore each name to its host source.
func addExtMounts(opts *rpc.CriuOpts, mounts []extMount, dump bool) error {
	type pair struct{ key, val string }
	var pairs []pair
	for _, m := range mounts {
		p := pair{m.name, m.source}
		if dump {
			p = pair{m.dest, m.name}
		}
		if err := validKey(p.key); err != nil {
			return err
		}
		pairs = append(pairs, p)
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].key < pairs[j].key })
	seen := map[string]bool{}
	for _, p := range pairs {
		if seen[p.key] {
			continue
		}
		seen[p.key] = true
		key, val := p.key, p.val
		opts.ExtMnt = append(opts.ExtMnt, &rpc.ExtMountMap{Key: &key, Val: &val})
	}
	return nil
}

// makeMountpoints creates, in the rootfs a restore uses, the mountpoints
// of external mounts that are missing (a restore into a fresh copy of the
// image): CRIU binds onto them but does not make them. Paths are resolved
// inside the rootfs, never through a symlink out of it. A mountpoint in a
// tmpfs the container mounted is CRIU's to restore with the tmpfs.
func makeMountpoints(rootfsPath string, s *specs.Spec, mounts []extMount) error {
	for _, m := range mounts {
		if onTmpfs(m.dest, s.Mounts) {
			continue
		}
		if err := makeMountpoint(rootfsPath, m); err != nil {
			return fmt.Errorf("create mountpoint %s for restore: %w", m.dest, err)
		}
	}
	return nil
}

func makeMountpoint(rootfsPath string, m extMount) error {
	root, err := os.OpenFile(rootfsPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	if fd, err := rawfile.Openat2(int(root.Fd()), m.dest, &how); err == nil {
		unix.Close(fd)
		return nil // there already
	} else if !errors.Is(err, unix.ENOENT) {
		return err
	}
	dir := m.dest
	if !m.dir {
		dir = filepath.Dir(m.dest)
	}
	d, err := pathrs.MkdirAllHandle(root, dir, 0o755)
	if err != nil {
		return err
	}
	defer d.Close()
	if m.dir {
		return nil
	}
	fd, err := unix.Openat(int(d.Fd()), filepath.Base(m.dest), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err == nil {
		unix.Close(fd)
	}
	return nil
}

// onTmpfs: path lies inside a tmpfs the config mounts.
func onTmpfs(path string, mounts []specs.Mount) bool {
	for _, m := range mounts {
		if m.Type == "tmpfs" && strings.HasPrefix(path, filepath.Clean(m.Destination)+"/") {
			return true
		}
	}
	return false
}
