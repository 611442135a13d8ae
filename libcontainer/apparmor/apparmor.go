// Package apparmor applies process.apparmorProfile: the init asks the kernel to switch to the
// profile at its next execve, as libapparmor's aa_change_onexec does.
//
// A profile on a host without AppArmor is an error, as in runc, whose init writes the
// attribute unconditionally and so fails there. ValidateProfile lets `create` report that
// before any namespace exists; ApplyProfile gives the same answer from inside the init.
package apparmor

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/procfs"
)

// host names where the kernel's AppArmor interfaces live; tests point it at a fake tree.
type host struct {
	enabledParam string // "Y" when the AppArmor module is enabled
	procDir      string // a procfs mount
	// procFd, when > 0, is the procfs handle writes go through instead of
	// procDir (the init's: the parent opened it on the host).
	procFd int
	// checkFS rejects an fd that is not on procfs; tests of the attribute logic on a fake
	// tree replace it, the decoy tests keep the real one.
	checkFS func(fd int, name string) error
}

func realHost() host {
	return host{
		enabledParam: "/sys/module/apparmor/parameters/enabled",
		procDir:      "/proc",
		checkFS:      procfs.Require,
	}
}

// The exec attribute, below /proc/<pid>/: AppArmor's own directory first (the only one when
// another LSM owns the shared files), then the legacy shared file.
const (
	moduleExecAttr = "attr/apparmor/exec"
	legacyExecAttr = "attr/exec"
)

// Enabled reports whether AppArmor is enabled on this host: the module says so and the
// process attribute it is driven through exists.
func Enabled() bool {
	return realHost().enabled()
}

func (h host) enabled() bool {
	b, err := os.ReadFile(h.enabledParam)
	if err != nil || len(b) == 0 || b[0] != 'Y' {
		return false
	}
	for _, attr := range []string{moduleExecAttr, legacyExecAttr} {
		if _, err := os.Stat(h.procDir + "/self/" + attr); err == nil {
			return true
		}
	}
	return false
}

// ValidateProfile is the create-time check: a profile on a host without AppArmor cannot be
// applied, so the container would fail in its init anyway.
func ValidateProfile(name string) error {
	return realHost().validateProfile(name)
}

func (h host) validateProfile(name string) error {
	if name == "" {
		return nil
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("process.apparmorProfile %q: contains a NUL byte", name)
	}
	if !h.enabled() {
		return fmt.Errorf("process.apparmorProfile %q is set, but AppArmor is not enabled on this host", name)
	}
	return nil
}

// ApplyProfile makes the calling thread switch to profile name at its next execve; "" does
// nothing. It runs in the init (or an exec'd process) on the locked thread that will execve,
// and writes through procFd, the procfs handle the parent opened on the host: the container's
// own /proc may be anything by then (CVE-2025-52881 class).
func ApplyProfile(procFd int, name string) error {
	h := realHost()
	h.procFd = procFd
	return h.applyProfile(name)
}

func (h host) applyProfile(name string) error {
	if name == "" {
		return nil
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("process.apparmorProfile %q: contains a NUL byte", name)
	}
	if err := h.writeExecAttr("exec " + name); err != nil {
		return fmt.Errorf("process.apparmorProfile %q: %w", name, err)
	}
	return nil
}

// writeExecAttr writes value to this thread's AppArmor exec attribute in one write(2).
func (h host) writeExecAttr(value string) error {
	procFd := h.procFd
	if procFd <= 0 {
		fd, err := procfs.OpenDir(h.procDir, h.checkFS)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		procFd = fd
	} else if err := h.checkFS(procFd, h.procDir); err != nil {
		return err
	}

	// Only the calling thread's attribute matters (AppArmor lets a task change only its own),
	// hence thread-self rather than self.
	attr := "thread-self/" + moduleExecAttr
	fd, err := procfs.OpenForWrite(procFd, h.procDir, attr, true, h.checkFS)
	hasModuleDir := !errors.Is(err, unix.ENOENT)
	if !hasModuleDir {
		attr = "thread-self/" + legacyExecAttr
		fd, err = procfs.OpenForWrite(procFd, h.procDir, attr, true, h.checkFS)
	}
	if err != nil {
		return notEnabledHint(err, hasModuleDir)
	}
	defer unix.Close(fd)
	for {
		var n int
		n, err = unix.Write(fd, []byte(value))
		if err == unix.EINTR {
			continue
		}
		if err == nil && n != len(value) {
			err = unix.EIO // the kernel takes the attribute in one piece or not at all
		}
		break
	}
	if err != nil {
		return notEnabledHint(&os.PathError{Op: "write", Path: h.procDir + "/" + attr, Err: err}, hasModuleDir)
	}
	return nil
}

// notEnabledHint names the usual cause when the kernel has no AppArmor attribute directory
// and the legacy file is missing or refuses the write because no LSM behind it is AppArmor.
func notEnabledHint(err error, hasModuleDir bool) error {
	if hasModuleDir {
		return err
	}
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("AppArmor is not enabled in this kernel: %w", err)
	}
	return err
}
