// Package explain says why executing a program in a container fails, or
// would fail: the file is missing or not executable, a script's #!
// interpreter is missing or ends with a \r, an ELF binary is built for
// another machine or its dynamic loader is missing, the file is on a
// noexec mount.
//
// The container's init asks it only once execve has failed (Wrap), so a
// process that starts pays nothing; `nook check` asks it about a bundle
// before anything runs, resolving every path inside the bundle's rootfs
// (Host), never outside it.
package explain

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/rootfs"
)

// Root is a container's root filesystem as seen from where the analysis
// runs: the process's own root (inside the container, after pivot_root),
// or a rootfs directory on the host with the config's mounts over it.
type Root struct {
	// dir is the rootfs on the host; nil for the process's own root.
	dir *os.File
	// mounts are the config's mounts over dir, longest destination first.
	mounts []Mount
	// cwd resolves relative paths (process.cwd; "/" if empty).
	cwd string
	// cred is who executes; nil: the calling process (inside the
	// container it already has the process's credentials).
	cred *Cred
}

// Mount is one of config.json's mounts, as far as executing a file under
// it is concerned.
type Mount struct {
	// Index is the mount's index in config.json's mounts, for messages.
	Index int
	// Destination is the clean absolute path in the container.
	Destination string
	// Source is the host file or directory of a bind mount, or "" when
	// the contents are not on the host to look at (tmpfs, proc, ...).
	Source string
	// NoExec and Exec are the options noexec and exec; with neither the
	// mount keeps the flags of its source's filesystem.
	NoExec, Exec bool
}

// Cred is the user a program is executed as.
type Cred struct {
	UID, GID uint32
	Groups   []uint32
}

// Options configure a Root on the host.
type Options struct {
	Mounts []Mount
	Cwd    string
	Cred   *Cred
}

// Host opens the rootfs directory dir for analysis. Every lookup stays
// inside dir (openat2 RESOLVE_IN_ROOT): absolute symlinks and ".." in the
// image are resolved as the container would, never on the host.
func Host(dir string, o Options) (*Root, error) {
	f, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r := &Root{dir: f, cwd: o.Cwd, cred: o.Cred}
	// Innermost first: the longest destination, and of two mounts on the
	// same one the later (mounted on top).
	for i := len(o.Mounts) - 1; i >= 0; i-- {
		m := o.Mounts[i]
		m.Destination = filepath.Clean("/" + m.Destination)
		r.mounts = append(r.mounts, m)
	}
	sort.SliceStable(r.mounts, func(a, b int) bool {
		return len(r.mounts[a].Destination) > len(r.mounts[b].Destination)
	})
	return r, nil
}

// Container is the calling process's own root: the init after pivot_root,
// or an exec'd process in the container's mount namespace.
func Container() *Root { return &Root{} }

// Close releases the rootfs handle.
func (r *Root) Close() {
	if r.dir != nil {
		r.dir.Close()
	}
}

// ErrUnknown: the path is under a mount whose contents cannot be seen
// from the host; nothing can be said about it.
var ErrUnknown = errors.New("under a mount whose contents are not on the host")

// ErrNotRegular: Open refuses anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens the regular file p (in the container; relative to the
// working directory) for reading, resolving it inside the root. It fails
// with ErrUnknown under a mount whose contents are not on the host.
func (r *Root) Open(p string) (*os.File, error) {
	return r.openFile(r.abs(p))
}

// IsDir says whether p (in the container) is a directory.
func (r *Root) IsDir(p string) (bool, error) {
	f, err := r.open(r.abs(p), unix.O_PATH)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// openFile opens the regular file p for reading.
func (r *Root) openFile(p string) (*os.File, error) {
	pf, err := r.open(p, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	return readable(pf)
}

// readable reopens pf, an O_PATH handle, for reading if it is a regular
// file. Nothing else is ever opened for reading: a FIFO would block, and
// opening some devices acts (an image can hold any device node). The
// reopen goes through the handle, so what was checked is what is read.
func readable(pf *os.File) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(pf.Fd()), &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, ErrNotRegular
	}
	const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(int(pf.Fd())), flags, 0)
	if errors.Is(err, unix.ENOENT) && filepath.IsAbs(pf.Name()) {
		// /proc shows no "self" to a thread of nook's in a container's
		// root (its procfs is of the container's pid namespace: the C
		// init's root, built from the parent): the file by its name, if
		// that still is the file checked.
		fd, err = reopenSame(pf.Name(), &st, flags)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), pf.Name()), nil
}

// reopenSame opens name with flags if it is the file st describes.
func reopenSame(name string, st *unix.Stat_t, flags int) (int, error) {
	fd, err := unix.Open(name, flags, 0)
	if err != nil {
		return -1, err
	}
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil || now.Dev != st.Dev || now.Ino != st.Ino {
		unix.Close(fd)
		return -1, ErrNotRegular
	}
	return fd, nil
}

// abs makes p absolute against the working directory.
func (r *Root) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if r.dir == nil {
		return p // the process's own working directory resolves it
	}
	cwd := r.cwd
	if cwd == "" {
		cwd = "/"
	}
	return filepath.Join(cwd, p)
}

// open opens p (absolute, in the container) with flags, following
// symlinks inside the root.
func (r *Root) open(p string, flags int) (*os.File, error) {
	if r.dir == nil {
		fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), p), nil
	}
	m, rel := r.mountOf(p)
	switch {
	case m == nil:
		return rootfs.OpenInRoot(r.dir, p, flags)
	case m.Source == "":
		return nil, ErrUnknown
	}
	fi, err := os.Stat(m.Source)
	if err != nil {
		return nil, ErrUnknown // create would fail on the source itself
	}
	if !fi.IsDir() {
		if rel != "/" {
			return nil, unix.ENOTDIR
		}
		fd, err := unix.Open(m.Source, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), m.Source), nil
	}
	src, err := os.OpenFile(m.Source, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, ErrUnknown
	}
	defer src.Close()
	return rootfs.OpenInRoot(src, rel, flags)
}

// mountOf returns the innermost config mount over p and p relative to its
// destination ("/" for the destination itself), or nil.
func (r *Root) mountOf(p string) (*Mount, string) {
	for i := range r.mounts {
		m := &r.mounts[i]
		if p == m.Destination {
			return m, "/"
		}
		if rel, ok := strings.CutPrefix(p, m.Destination+"/"); ok {
			return m, "/" + rel
		}
	}
	return nil, ""
}

// readlink reads p when it is a symbolic link (its parent resolved in the
// root); ok is false when p is not one or cannot be read.
func (r *Root) readlink(p string) (target string, ok bool) {
	parent, err := r.open(filepath.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return "", false
	}
	defer parent.Close()
	target, err = readlinkat(int(parent.Fd()), filepath.Base(p))
	return target, err == nil
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
