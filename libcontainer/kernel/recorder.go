package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/rawfile"
)

// Recorder is a Kernel for unit tests. It runs the set-up against a plain
// directory tree that stands for the host's "/" and needs neither root nor
// a mount namespace:
//
//   - lookups and the creation of directories, files and symlinks are made
//     for real in that tree, through the real fds the code holds (openat2
//     with RESOLVE_IN_ROOT included), so path handling is exercised as is;
//   - what needs privilege (mount, open_tree, move_mount, mount_setattr,
//     fsopen/fsmount, umount, pivot_root, chroot, mknod, chown, chmod,
//     umask) is only recorded, and its effect kept in tables: a mount table
//     (statx's mount id, statfs's type and mountinfo answer from it), the
//     device nodes made (fstat shows them as devices) and the current root
//     and working directory (absolute paths are taken inside that root);
//   - every change is recorded as a Call, in order, with its paths as the
//     container sees them ("/dev/pts") or, outside the rootfs, as the host
//     does ("host:/dev/null").
//
// Detached mounts (open_tree, fsmount) are real O_PATH fds of their source
// (or of an empty directory for a new filesystem), so the code can fstat and
// close them as usual. Mounts neither hide what is below them in the tree nor
// show their source's files there (tmpcopyup, which copies what a tmpfs
// covers into it, cannot be driven through a Recorder).
//
// A Recorder is not safe for concurrent use.
type Recorder struct {
	host    string // real directory standing for the host's "/"
	rootfs  string // real directory of the container's rootfs
	scratch string // real directory holding new filesystems' (empty) roots
	root    string // real directory that is "/" now
	cwd     string // real working directory
	umask   int

	calls  []Call
	trees  map[int]tree     // detached mounts and filesystem contexts by fd
	nodes  map[fileID]node  // device nodes made (or mounted) over placeholders
	mounts []*mountEntry    // in the order made; later ones cover earlier ones
	fail   map[string]error // "op path" -> the error that call returns
	nextID uint64

	proc processState // what the init's steps changed (recorder_process.go)
}

// Call is one recorded step.
type Call struct {
	Op     string // the syscall's name: mount, move_mount, pivot_root, …; "note" for Note
	Path   string // what it acts on (mount target, node made, attribute target)
	Source string // mount source, the detached mount moved, a symlink's target
	FSType string
	Flags  uint64 // the call's flags (fsmount: its attributes, mknod: mode)
	Data   string // mount data, a device's major:minor, a note's text
	Attr   unix.MountAttr
	Err    error // the scripted error the call returned (Fail)
}

func (c Call) String() string {
	var b strings.Builder
	b.WriteString(c.Op)
	for _, f := range []struct{ k, v string }{
		{"", c.Path}, {"from ", c.Source}, {"type ", c.FSType}, {"data ", c.Data},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s%s", f.k, f.v)
		}
	}
	if c.Flags != 0 {
		fmt.Fprintf(&b, " flags %#x", c.Flags)
	}
	if c.Attr != (unix.MountAttr{}) {
		fmt.Fprintf(&b, " attr set %#x clr %#x prop %#x", c.Attr.Attr_set, c.Attr.Attr_clr, c.Attr.Propagation)
	}
	if c.Err != nil {
		fmt.Fprintf(&b, " = %v", c.Err)
	}
	return b.String()
}

type tree struct {
	desc   string // how a Call names it: "clone /x", "tmpfs"
	fstype string // the filesystem it shows once attached
}

type fileID struct{ dev, ino uint64 }

type node struct {
	mode uint32
	rdev uint64
}

type mountEntry struct {
	id      uint64
	path    string // real path of the mount point
	fstype  string // "" for the real filesystem of the tree
	source  string
	vfsOpts string
	flags   uint64 // MS_RDONLY etc.
}

// NewRecorder makes a Recorder whose host "/" is dir/host (created) and
// whose container rootfs is rootfs, a path on that host ("/bundle/rootfs";
// created too).
func NewRecorder(dir, rootfs string) (*Recorder, error) {
	host := filepath.Join(dir, "host")
	scratch := filepath.Join(dir, "detached")
	r := &Recorder{
		host:    host,
		rootfs:  filepath.Join(host, filepath.Clean("/"+rootfs)),
		scratch: scratch,
		root:    host,
		cwd:     host,
		umask:   0o022,
		trees:   map[int]tree{},
		nodes:   map[fileID]node{},
		fail:    map[string]error{},
		proc:    newProcessState(),
	}
	for _, d := range []string{r.rootfs, scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	r.addMount(host, "", "/", "")
	return r, nil
}

// Host is the real directory standing for the host's "/", for tests to
// fill (bind sources, /proc/self/cgroup, …).
func (r *Recorder) Host() string { return r.host }

// HostMount declares a mount the host has at path (a host path): mountinfo
// lists it, statfs reports its type there. vfsOpts are its super options
// (a v1 cgroup's controllers). The directory is created.
func (r *Recorder) HostMount(path, fstype, vfsOpts string) error {
	p := filepath.Join(r.host, filepath.Clean("/"+path))
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	r.addMount(p, fstype, fstype, vfsOpts)
	return nil
}

// HostDevice makes a node at path (a host path) that fstat reports as a
// device of type mode (unix.S_IFCHR or S_IFBLK) and number major:minor.
func (r *Recorder) HostDevice(path string, mode uint32, major, minor uint32) error {
	p := filepath.Join(r.host, filepath.Clean("/"+path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, nil, 0o666); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	r.nodes[fileID{st.Dev, st.Ino}] = node{mode: mode | 0o666, rdev: unix.Mkdev(major, minor)}
	return nil
}

// Fail makes the call op on path (as a Call names it) return err, once
// recorded: scripted failures, e.g. Fail("mount", "/sys", unix.EPERM).
func (r *Recorder) Fail(op, path string, err error) { r.fail[op+" "+path] = err }

// Note records a marker among the calls (a hook that ran, say).
func (r *Recorder) Note(text string) { r.calls = append(r.calls, Call{Op: "note", Data: text}) }

// Calls returns the recorded calls, in order.
func (r *Recorder) Calls() []Call { return append([]Call(nil), r.calls...) }

// record appends c and returns the error scripted for it, if any.
func (r *Recorder) record(c Call) error {
	c.Err = r.fail[c.Op+" "+c.Path]
	if err, ok := r.proc.failOnce[c.Op+" "+c.Path]; ok {
		c.Err = err
		delete(r.proc.failOnce, c.Op+" "+c.Path)
	}
	r.calls = append(r.calls, c)
	return c.Err
}

func (r *Recorder) addMount(path, fstype, source, vfsOpts string) *mountEntry {
	r.nextID++
	m := &mountEntry{id: r.nextID, path: path, fstype: fstype, source: source, vfsOpts: vfsOpts}
	r.mounts = append(r.mounts, m)
	return m
}

// mountAt is the mount that holds real path p: the latest one made on the
// longest mount point that is p or a parent of it.
func (r *Recorder) mountAt(p string) *mountEntry {
	var best *mountEntry
	for _, m := range r.mounts {
		if within(p, m.path) && (best == nil || len(m.path) >= len(best.path)) {
			best = m
		}
	}
	return best
}

// within: p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// real maps a path the code passes to the real path in the tree: absolute
// paths are taken inside the current root, relative ones from the working
// directory, /proc/self/fd/N is what fd N is.
func (r *Recorder) real(path string) string {
	if n, ok := strings.CutPrefix(path, "/proc/self/fd/"); ok {
		if fd, err := strconv.Atoi(n); err == nil {
			return r.fdPath(fd)
		}
	}
	if filepath.IsAbs(path) {
		return filepath.Join(r.root, filepath.Clean(path))
	}
	return filepath.Join(r.cwd, path)
}

// fdPath is the real path of an fd (the process's own root is the real "/").
func (r *Recorder) fdPath(fd int) string {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return fmt.Sprintf("<fd %d: %v>", fd, err)
	}
	return p
}

// at is the real path of path relative to dirfd.
func (r *Recorder) at(dirfd int, path string) string {
	if dirfd == unix.AT_FDCWD || filepath.IsAbs(path) {
		return r.real(path)
	}
	if path == "" {
		return r.fdPath(dirfd)
	}
	return filepath.Join(r.fdPath(dirfd), path)
}

// show names a real path as a Call does.
func (r *Recorder) show(p string) string {
	switch {
	case within(p, r.rootfs):
		return "/" + strings.TrimPrefix(strings.TrimPrefix(p, r.rootfs), "/")
	case within(p, r.host):
		return "host:/" + strings.TrimPrefix(strings.TrimPrefix(p, r.host), "/")
	case within(p, r.scratch):
		return "detached"
	}
	return p
}

// fresh forgets what a reused fd number was: every fd the code gets is
// made through the Recorder, so a stale detached-mount entry never names a
// new fd.
func (r *Recorder) fresh(fd int, err error) (int, error) {
	if err == nil {
		delete(r.trees, fd)
	}
	return fd, err
}

func (r *Recorder) Open(path string, flags int, mode uint32) (int, error) {
	return r.fresh(unix.Open(r.real(path), flags, mode))
}

func (r *Recorder) OpenFile(path string, flags int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(r.real(path), flags, perm)
	if err == nil {
		delete(r.trees, int(f.Fd()))
	}
	return f, err
}

func (r *Recorder) Openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	if dirfd == unix.AT_FDCWD || filepath.IsAbs(path) {
		return r.fresh(unix.Open(r.at(dirfd, path), flags, mode))
	}
	return r.fresh(unix.Openat(dirfd, path, flags, mode))
}

// Openat2 resolves for real: the code only uses it relative to a root fd.
func (r *Recorder) Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	return r.fresh(rawfile.Openat2(dirfd, path, how))
}

func (r *Recorder) Stat(path string) (os.FileInfo, error) { return os.Stat(r.real(path)) }

// override shows a placeholder as the device made or mounted on it.
func (r *Recorder) override(st *unix.Stat_t) {
	if n, ok := r.nodes[fileID{st.Dev, st.Ino}]; ok {
		st.Mode, st.Rdev = n.mode, n.rdev
	}
}

func (r *Recorder) Fstat(fd int, st *unix.Stat_t) error {
	if err := unix.Fstat(fd, st); err != nil {
		return err
	}
	r.override(st)
	return nil
}

func (r *Recorder) Fstatat(dirfd int, path string, st *unix.Stat_t, flags int) error {
	if err := unix.Fstatat(dirfd, path, st, flags); err != nil {
		return err
	}
	r.override(st)
	return nil
}

func (r *Recorder) Statx(dirfd int, path string, flags, mask int, stx *unix.Statx_t) error {
	if err := unix.Statx(dirfd, path, flags, mask, stx); err != nil {
		return err
	}
	if mask&unix.STATX_MNT_ID != 0 {
		p := r.at(dirfd, path)
		if path == "" && flags&unix.AT_EMPTY_PATH != 0 {
			p = r.fdPath(dirfd)
		}
		if m := r.mountAt(p); m != nil {
			stx.Mnt_id = m.id
			stx.Mask |= unix.STATX_MNT_ID
		}
	}
	return nil
}

// fsMagic is statfs's f_type for a filesystem the Recorder mounted.
func fsMagic(fstype string) int64 {
	switch fstype {
	case "proc":
		return unix.PROC_SUPER_MAGIC
	case "sysfs":
		return unix.SYSFS_MAGIC
	case "tmpfs":
		return unix.TMPFS_MAGIC
	case "devpts":
		return unix.DEVPTS_SUPER_MAGIC
	case "mqueue":
		return 0x19800202 // MQUEUE_MAGIC (not in x/sys/unix)
	case "cgroup":
		return unix.CGROUP_SUPER_MAGIC
	case "cgroup2":
		return unix.CGROUP2_SUPER_MAGIC
	}
	return 0
}

// statfsAt reports the type and flags of the recorded mount holding real
// path p, or the real filesystem's.
func (r *Recorder) statfsAt(p string, st *unix.Statfs_t, real func() error) error {
	m := r.mountAt(p)
	if m == nil || m.fstype == "" {
		return real()
	}
	if err := real(); err != nil {
		return err
	}
	st.Type = fsMagic(m.fstype)
	st.Flags = 0
	if m.flags&unix.MS_RDONLY != 0 {
		st.Flags |= unix.ST_RDONLY
	}
	return nil
}

func (r *Recorder) Statfs(path string, st *unix.Statfs_t) error {
	p := r.real(path)
	return r.statfsAt(p, st, func() error { return unix.Statfs(p, st) })
}

func (r *Recorder) Fstatfs(fd int, st *unix.Statfs_t) error {
	return r.statfsAt(r.fdPath(fd), st, func() error { return unix.Fstatfs(fd, st) })
}

// Readlink of /proc/self/fd/N answers as the kernel does: the path as seen
// from the current root.
func (r *Recorder) Readlink(path string) (string, error) {
	if strings.HasPrefix(path, "/proc/self/fd/") {
		p := r.real(path)
		if !within(p, r.root) {
			return p, nil
		}
		return "/" + strings.TrimPrefix(strings.TrimPrefix(p, r.root), "/"), nil
	}
	return os.Readlink(r.real(path))
}

func (r *Recorder) Readlinkat(dirfd int, path string, buf []byte) (int, error) {
	return unix.Readlinkat(dirfd, path, buf)
}

// GetMounts lists the recorded mounts under the current root, with their
// mount points as seen from it.
func (r *Recorder) GetMounts(filter mountinfo.FilterFunc) ([]*mountinfo.Info, error) {
	var out []*mountinfo.Info
	for _, m := range r.mounts {
		if !within(m.path, r.root) {
			continue
		}
		i := &mountinfo.Info{
			ID: int(m.id), Root: "/", FSType: m.fstype, Source: m.source, VFSOptions: m.vfsOpts,
			Mountpoint: "/" + strings.TrimPrefix(strings.TrimPrefix(m.path, r.root), "/"),
		}
		skip, stop := false, false
		if filter != nil {
			skip, stop = filter(i)
		}
		if !skip {
			out = append(out, i)
		}
		if stop {
			break
		}
	}
	return out, nil
}

func (r *Recorder) Mkdirat(dirfd int, path string, mode uint32) error {
	if err := r.record(Call{Op: "mkdirat", Path: r.show(r.at(dirfd, path)), Flags: uint64(mode)}); err != nil {
		return err
	}
	if dirfd == unix.AT_FDCWD || filepath.IsAbs(path) {
		return unix.Mkdir(r.at(dirfd, path), mode)
	}
	return unix.Mkdirat(dirfd, path, mode)
}

// Mknodat makes an empty regular file that fstat then shows as the node.
func (r *Recorder) Mknodat(dirfd int, path string, mode uint32, dev int) error {
	c := Call{Op: "mknodat", Path: r.show(r.at(dirfd, path)), Flags: uint64(mode),
		Data: fmt.Sprintf("%d:%d", unix.Major(uint64(dev)), unix.Minor(uint64(dev)))}
	if err := r.record(c); err != nil {
		return err
	}
	fd, err := unix.Openat(dirfd, path, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	r.nodes[fileID{st.Dev, st.Ino}] = node{mode: mode, rdev: uint64(dev)}
	return nil
}

func (r *Recorder) Symlinkat(target string, dirfd int, link string) error {
	if err := r.record(Call{Op: "symlinkat", Path: r.show(r.at(dirfd, link)), Source: target}); err != nil {
		return err
	}
	return unix.Symlinkat(target, dirfd, link)
}

func (r *Recorder) Unlinkat(dirfd int, path string, flags int) error {
	if err := r.record(Call{Op: "unlinkat", Path: r.show(r.at(dirfd, path)), Flags: uint64(flags)}); err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, path, flags)
}

func (r *Recorder) Fchownat(dirfd int, path string, uid, gid, flags int) error {
	return r.record(Call{Op: "fchownat", Path: r.show(r.at(dirfd, path)), Data: fmt.Sprintf("%d:%d", uid, gid), Flags: uint64(flags)})
}

func (r *Recorder) Fchown(fd, uid, gid int) error {
	return r.record(Call{Op: "fchown", Path: r.show(r.fdPath(fd)), Data: fmt.Sprintf("%d:%d", uid, gid)})
}

func (r *Recorder) Fchmod(fd int, mode uint32) error {
	return r.record(Call{Op: "fchmod", Path: r.show(r.fdPath(fd)), Flags: uint64(mode)})
}

func (r *Recorder) Umask(mask int) int {
	r.record(Call{Op: "umask", Flags: uint64(mask)})
	old := r.umask
	r.umask = mask
	return old
}

const propagationFlags = unix.MS_SHARED | unix.MS_PRIVATE | unix.MS_SLAVE | unix.MS_UNBINDABLE

func (r *Recorder) Mount(source, target, fstype string, flags uintptr, data string) error {
	p := r.real(target)
	c := Call{Op: "mount", Path: r.show(p), Source: source, FSType: fstype, Flags: uint64(flags), Data: data}
	if source == "." || strings.HasPrefix(source, "/") {
		c.Source = r.show(r.real(source))
	}
	if err := r.record(c); err != nil {
		return err
	}
	switch {
	case flags&(unix.MS_MOVE|unix.MS_REMOUNT|unix.MS_BIND) != 0:
	case flags&propagationFlags != 0 && fstype == "":
	default:
		m := r.addMount(p, fstype, source, data)
		m.flags = uint64(flags)
	}
	return nil
}

// Unmount drops the mounts at and under target, but for the current root
// (pivot_root stacked the old root below it).
func (r *Recorder) Unmount(target string, flags int) error {
	p := r.real(target)
	if err := r.record(Call{Op: "umount2", Path: r.show(p), Flags: uint64(flags)}); err != nil {
		return err
	}
	kept := r.mounts[:0]
	for _, m := range r.mounts {
		if within(m.path, p) && (!within(m.path, r.root) || p == r.root) {
			continue
		}
		kept = append(kept, m)
	}
	r.mounts = kept
	return nil
}

func (r *Recorder) OpenTree(dirfd int, path string, flags uint) (int, error) {
	src := r.at(dirfd, path)
	shown := r.show(src)
	if path == "" && flags&unix.AT_EMPTY_PATH != 0 {
		src = r.fdPath(dirfd)
		shown = r.name(dirfd)
	}
	if err := r.record(Call{Op: "open_tree", Path: shown, Flags: uint64(flags)}); err != nil {
		return -1, err
	}
	var fd int
	var err error
	if path == "" && flags&unix.AT_EMPTY_PATH != 0 {
		fd, err = unix.FcntlInt(uintptr(dirfd), unix.F_DUPFD_CLOEXEC, 0)
	} else {
		oflags := unix.O_PATH | unix.O_CLOEXEC
		if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
			oflags |= unix.O_NOFOLLOW
		}
		fd, err = unix.Open(src, oflags, 0)
	}
	if err != nil {
		return -1, err
	}
	fstype := ""
	if m := r.mountAt(src); m != nil {
		fstype = m.fstype
	}
	desc := "clone " + r.show(src)
	if t, ok := r.trees[dirfd]; ok && path == "" {
		desc, fstype = "clone "+t.desc, t.fstype
	}
	r.trees[fd] = tree{desc: desc, fstype: fstype}
	return fd, nil
}

// name is how a Call names fd: a detached mount's description, or its path.
func (r *Recorder) name(fd int) string {
	if t, ok := r.trees[fd]; ok {
		return t.desc
	}
	return r.show(r.fdPath(fd))
}

func (r *Recorder) MoveMount(fromDirfd int, fromPath string, toDirfd int, toPath string, flags int) error {
	to := r.at(toDirfd, toPath)
	from := r.name(fromDirfd)
	if fromPath != "" {
		from = r.show(r.at(fromDirfd, fromPath))
	}
	if err := r.record(Call{Op: "move_mount", Path: r.show(to), Source: from, Flags: uint64(flags)}); err != nil {
		return err
	}
	t := r.trees[fromDirfd]
	r.addMount(to, t.fstype, t.desc, "")
	// A device mounted on a placeholder shows as that device.
	var src, dst unix.Stat_t
	if r.Fstat(fromDirfd, &src) == nil && unix.Stat(to, &dst) == nil {
		if typ := src.Mode & unix.S_IFMT; typ == unix.S_IFCHR || typ == unix.S_IFBLK {
			r.nodes[fileID{dst.Dev, dst.Ino}] = node{mode: src.Mode, rdev: src.Rdev}
		}
	}
	return nil
}

func (r *Recorder) MountSetattr(dirfd int, path string, flags uint, attr *unix.MountAttr) error {
	target := r.name(dirfd)
	if path != "" || dirfd == unix.AT_FDCWD {
		target = r.show(r.at(dirfd, path))
	}
	return r.record(Call{Op: "mount_setattr", Path: target, Flags: uint64(flags), Attr: *attr})
}

// Fsopen returns an fd of an empty directory standing for the context.
func (r *Recorder) Fsopen(fsName string, flags int) (int, error) {
	if err := r.record(Call{Op: "fsopen", FSType: fsName, Flags: uint64(flags)}); err != nil {
		return -1, err
	}
	fd, err := r.emptyDir()
	if err != nil {
		return -1, err
	}
	r.trees[fd] = tree{desc: fsName, fstype: fsName}
	return fd, nil
}

func (r *Recorder) FsconfigCreate(fd int) error {
	return r.record(Call{Op: "fsconfig_create", FSType: r.trees[fd].fstype})
}

// FsconfigSet records the option as the call's Data ("key" or "key=value").
func (r *Recorder) FsconfigSet(fd int, key, value string) error {
	data := key
	if value != "" {
		data += "=" + value
	}
	return r.record(Call{Op: "fsconfig_set", FSType: r.trees[fd].fstype, Data: data})
}

// Fsmount returns an fd of an empty directory: the new filesystem's root.
func (r *Recorder) Fsmount(fd, flags, mountAttrs int) (int, error) {
	ctx, ok := r.trees[fd]
	if !ok {
		return -1, errors.New("recorder: fsmount of an fd fsopen did not return")
	}
	if err := r.record(Call{Op: "fsmount", FSType: ctx.fstype, Flags: uint64(mountAttrs)}); err != nil {
		return -1, err
	}
	m, err := r.emptyDir()
	if err != nil {
		return -1, err
	}
	r.trees[m] = tree{desc: "new " + ctx.fstype, fstype: ctx.fstype}
	return m, nil
}

func (r *Recorder) emptyDir() (int, error) {
	d, err := os.MkdirTemp(r.scratch, "fs")
	if err != nil {
		return -1, err
	}
	return unix.Open(d, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

func (r *Recorder) PivotRoot(newroot, putold string) error {
	n := r.real(newroot)
	if err := r.record(Call{Op: "pivot_root", Path: r.show(n), Source: r.show(r.real(putold))}); err != nil {
		return err
	}
	r.root = n
	return nil
}

func (r *Recorder) Chroot(path string) error {
	p := r.real(path)
	if err := r.record(Call{Op: "chroot", Path: r.show(p)}); err != nil {
		return err
	}
	r.root = p
	return nil
}

func (r *Recorder) Chdir(path string) error {
	p := r.real(path)
	if err := r.record(Call{Op: "chdir", Path: r.show(p)}); err != nil {
		return err
	}
	r.cwd = p
	return nil
}

func (r *Recorder) Fchdir(fd int) error {
	p := r.fdPath(fd)
	if err := r.record(Call{Op: "fchdir", Path: r.show(p)}); err != nil {
		return err
	}
	r.cwd = p
	return nil
}

var _ Kernel = (*Recorder)(nil)
