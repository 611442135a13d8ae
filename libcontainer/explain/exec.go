package explain

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Kinds of Problem: stable strings (`nook check --format json` prints them).
const (
	NotFound           = "rootfs.exec-not-found"
	IsDirectory        = "rootfs.exec-is-directory"
	NotRegular         = "rootfs.exec-not-regular"
	NotExecutable      = "rootfs.exec-not-executable"
	PermissionDenied   = "rootfs.exec-permission"
	NoExec             = "rootfs.noexec"
	InterpreterMissing = "rootfs.interpreter-missing"
	ShebangCRLF        = "rootfs.shebang-crlf"
	ShebangEmpty       = "rootfs.shebang-empty"
	TooManyLevels      = "rootfs.interpreter-loop"
	WrongArch          = "rootfs.wrong-arch"
	LoaderMissing      = "rootfs.loader-missing"
	BadFormat          = "rootfs.exec-format"
)

// Problem is why a file cannot be executed.
type Problem struct {
	Kind string
	// Path is the file the problem is about (args[0], its interpreter or
	// its loader), in the container.
	Path string
	// Message is one sentence naming the problem; Hint says what to do.
	Message, Hint string
	// detail: Message says more than "no such file or directory".
	detail bool
}

// maxInterpreters is how many #! interpreters (scripts themselves) the
// kernel follows before it gives up with ELOOP (fs/exec.c, exec_binprm).
const maxInterpreters = 5

// headerSize is how much of a file the kernel reads to recognise its
// format (BINPRM_BUF_SIZE): a #! line longer than that is cut.
const headerSize = 256

// Exec explains why executing path (args[0] as found along PATH) fails or
// would fail; nil when it sees no reason.
func (r *Root) Exec(path string) *Problem {
	return r.check(r.abs(path), 0)
}

// check looks at p, then at what the kernel would load for it (a script's
// interpreter, an ELF binary's loader).
func (r *Root) check(p string, depth int) *Problem {
	f, err := r.open(p, unix.O_PATH)
	if err != nil {
		return r.openProblem(p, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil
	}
	// In the kernel's order: the file's type and mode, the mount, then
	// the user's permission (access(2) too fails on a noexec mount).
	if prob := checkType(p, &st); prob != nil {
		return prob
	}
	if prob := r.checkNoExec(p, f); prob != nil {
		return prob
	}
	if prob := r.checkPermission(p, &st); prob != nil {
		return prob
	}
	rf, err := readable(f)
	if err != nil {
		return nil // not readable by us: nothing more to say
	}
	defer rf.Close()
	hdr, err := header(rf)
	if err != nil {
		return nil
	}
	switch {
	case len(hdr) >= 2 && hdr[0] == '#' && hdr[1] == '!':
		return r.checkScript(p, hdr, depth)
	case len(hdr) >= 4 && string(hdr[:4]) == "\x7fELF":
		return r.checkELF(p, rf, hdr)
	case len(hdr) == 0:
		return &Problem{Kind: BadFormat, Path: p, Message: fmt.Sprintf("%s is empty", p),
			Hint: "put the program there, or name another one in process.args[0]"}
	case binfmtHandles(hdr):
		return nil
	}
	return &Problem{Kind: BadFormat, Path: p,
		Message: fmt.Sprintf("%s is neither an ELF binary nor a script starting with #! (it starts with %q)", p, printable(hdr)),
		Hint:    "if it is a shell script, make #!/bin/sh (or its interpreter) its first line"}
}

// openProblem explains why p could not be opened.
func (r *Root) openProblem(p string, err error) *Problem {
	switch {
	case errors.Is(err, unix.ENOENT):
		return r.missing(p)
	case errors.Is(err, unix.ENOTDIR):
		return &Problem{Kind: NotFound, Path: p,
			Message: fmt.Sprintf("%s does not exist in the container: a component of the path is not a directory", p),
			Hint:    "check the path in process.args[0]"}
	case errors.Is(err, unix.ELOOP):
		return &Problem{Kind: NotFound, Path: p,
			Message: fmt.Sprintf("%s: too many levels of symbolic links in the container", p),
			Hint:    "fix the symbolic links in the image"}
	}
	return nil // ErrUnknown, EACCES on a directory on the way, ...
}

// missing words a path that does not exist: a dangling symbolic link, a
// missing directory, or just no such file.
func (r *Root) missing(p string) *Problem {
	prob := &Problem{Kind: NotFound, Path: p, Message: fmt.Sprintf("%s does not exist in the container", p),
		Hint: "add it to the image, or name the right path in process.args[0]"}
	if target, ok := r.readlink(p); ok {
		prob.Message = fmt.Sprintf("%s is a symbolic link to %s, which does not exist in the container", p, target)
		prob.Hint = "fix the link or add its target to the image"
		prob.detail = true
		return prob
	}
	dir := filepath.Dir(p)
	if d, err := r.open(dir, unix.O_PATH|unix.O_DIRECTORY); err != nil {
		if errors.Is(err, unix.ENOENT) {
			prob.Message = fmt.Sprintf("%s does not exist in the container (nor does its directory %s)", p, dir)
			prob.detail = true
		}
	} else {
		d.Close()
	}
	return prob
}

// checkType: a regular file with an execute bit.
func checkType(p string, st *unix.Stat_t) *Problem {
	mode := st.Mode & unix.S_IFMT
	perm := st.Mode & 0o7777
	switch {
	case mode == unix.S_IFDIR:
		return &Problem{Kind: IsDirectory, Path: p, Message: fmt.Sprintf("%s is a directory", p),
			Hint: "name the program inside it in process.args[0]"}
	case mode != unix.S_IFREG:
		return &Problem{Kind: NotRegular, Path: p, Message: fmt.Sprintf("%s is %s, not a regular file", p, fileKind(mode)),
			Hint: "name a program in process.args[0]"}
	case perm&0o111 == 0:
		return &Problem{Kind: NotExecutable, Path: p,
			Message: fmt.Sprintf("%s has no execute permission (mode %04o)", p, perm),
			Hint:    "make it executable in the image (chmod +x)"}
	}
	return nil
}

// checkPermission: the execute bit is one the user may use.
func (r *Root) checkPermission(p string, st *unix.Stat_t) *Problem {
	perm := st.Mode & 0o7777
	if r.mayExec(p, st) {
		return nil
	}
	who := "the container's user"
	if r.cred != nil {
		who = fmt.Sprintf("uid %d (gid %d)", r.cred.UID, r.cred.GID)
	}
	return &Problem{Kind: PermissionDenied, Path: p,
		Message: fmt.Sprintf("%s (mode %04o, owner %d:%d) cannot be executed by %s", p, perm, st.Uid, st.Gid, who),
		Hint:    "give it execute permission for that user, or run as its owner (process.user)"}
}

// mayExec applies the permission bits to the user (root needs one execute
// bit only: CAP_DAC_OVERRIDE covers the rest).
func (r *Root) mayExec(p string, st *unix.Stat_t) bool {
	c := r.cred
	if c == nil {
		if r.dir != nil {
			return true // the host's check names no user: nothing to say
		}
		// Inside the container we already are the process's user.
		err := unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS)
		return !errors.Is(err, unix.EACCES)
	}
	switch {
	case c.UID == 0:
		return true
	case st.Uid == c.UID:
		return st.Mode&0o100 != 0
	case st.Gid == c.GID || slices.Contains(c.Groups, st.Gid):
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}

// checkNoExec: execve refuses any file on a noexec mount.
func (r *Root) checkNoExec(p string, f *os.File) *Problem {
	if m, _ := r.mountOf(p); m != nil {
		switch {
		case m.NoExec:
			return &Problem{Kind: NoExec, Path: p,
				Message: fmt.Sprintf("%s is under mounts[%d] (%s), which has the noexec option", p, m.Index, m.Destination),
				Hint:    fmt.Sprintf("remove noexec from mounts[%d].options, or put the program elsewhere", m.Index)}
		case m.Exec:
			return nil
		}
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil || sfs.Flags&unix.ST_NOEXEC == 0 {
		return nil
	}
	where := "in the container"
	if r.dir != nil {
		where = "on the host (the container keeps the flag)"
	}
	return &Problem{Kind: NoExec, Path: p,
		Message: fmt.Sprintf("%s is on a filesystem mounted noexec %s", p, where),
		Hint:    "mount it without noexec, or put the program on another filesystem"}
}

// header returns the first bytes of f, as the kernel reads them.
func header(f *os.File) ([]byte, error) {
	buf := make([]byte, headerSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

func fileKind(mode uint32) string {
	switch mode {
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	}
	return "of an unknown type"
}

// printable is the start of hdr for a message: at most 16 bytes.
func printable(hdr []byte) string {
	if len(hdr) > 16 {
		hdr = hdr[:16]
	}
	return string(hdr)
}
