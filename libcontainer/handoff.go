package libcontainer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/console"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/procfs"
	"github.com/nookrt/nook/libcontainer/rootfs"
	"github.com/nookrt/nook/seccomp"
)

// handoffs are what nook opens on the host and the init takes over, sent
// with the Config message: the start barrier, the --console-socket (the pty
// master goes there), the seccomp listenerPath (the notify fd goes there),
// the procfs every write of the init goes through (procfs.OpenHost) and the
// user namespaces of idmapped mounts. Dialing the sockets before
// anything else is created makes a socket nobody listens on fail create
// cleanly, and the init needs no path on the host once it has pivoted.
type handoffs struct {
	fifo             *os.File // the start barrier, read-write (create only)
	proc             *os.File // a clone of the host's /proc
	console, seccomp *net.UnixConn
	// pidfd is the --pidfd-socket, which the parent itself sends the
	// process's pidfd to once it is ready (sendPidfd).
	pidfd *net.UnixConn
	dups  []*os.File
	// idmap holds one user namespace per idmapped mount (mounts[i] for i
	// in idmapMounts) the init must idmap itself.
	idmap       []*os.File
	idmapMounts []int
	// binds holds the bind mounts' sources cloned on the host
	// (rootfs.PrepareBind), by index in mounts.
	binds map[int]*os.File
}

func dialHandoffs(o CreateOptions, prog *seccomp.Program) (*handoffs, error) {
	proc, err := procfs.OpenHost()
	if err != nil {
		return nil, err
	}
	h := &handoffs{proc: proc}
	if o.Spec.Process != nil && o.Spec.Process.Terminal {
		c, err := console.DialSocket(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		h.console = c
	}
	if o.PidfdSocket != "" {
		c, err := dialPidfdSocket(o.PidfdSocket)
		if err != nil {
			h.close()
			return nil, err
		}
		h.pidfd = c
	}
	if prog != nil && prog.NeedsListener() {
		c, err := seccomp.DialListener(prog.ListenerPath)
		if err != nil {
			h.close()
			return nil, err
		}
		h.seccomp = c
	}
	files, mounts, err := idmapFiles(o.Spec)
	if err != nil {
		h.close()
		return nil, err
	}
	h.idmap, h.idmapMounts = files, mounts
	if err := h.prepareBinds(o); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// prepareBinds clones bind mount sources on the host, with their
// attributes and idmapping, for the init to attach: the host's root opens
// sources the container's root could not reach and makes idmapped mounts a
// user namespace could not (as runc does). That is every bind of a
// container with a user namespace, and idmapped ones anywhere; the init of
// a container without one clones its sources itself, in the config's order
// (mountinfo lists mounts in the order they were made, and the runtime-spec
// tests read it). Where the runtime may not clone mounts at all (no
// CAP_SYS_ADMIN: rootless), the init clones them itself.
func (h *handoffs) prepareBinds(o CreateOptions) error {
	var propagation string
	if o.Spec.Linux != nil {
		propagation = o.Spec.Linux.RootfsPropagation
	}
	userns := initproto.HasNamespace(o.Spec.Linux, specs.UserNamespace)
	for i, m := range o.Spec.Mounts {
		if !rootfs.IsBind(m) || !userns && !slices.Contains(h.idmapMounts, i) {
			continue
		}
		idmapFd, k := 0, slices.Index(h.idmapMounts, i)
		if k >= 0 {
			idmapFd = int(h.idmap[k].Fd())
		}
		tree, err := rootfs.PrepareBind(m, o.Bundle, idmapFd, propagation, userns)
		if errors.Is(err, unix.EPERM) && len(h.binds) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mounts[%d]: %w", i, err)
		}
		if h.binds == nil {
			h.binds = map[int]*os.File{}
		}
		h.binds[i] = tree
		if k >= 0 {
			// Idmapped already: the init needs no namespace for it.
			h.idmap[k].Close()
			h.idmap = slices.Delete(h.idmap, k, k+1)
			h.idmapMounts = slices.Delete(h.idmapMounts, k, k+1)
		}
	}
	return nil
}

// openFifo opens the start barrier for the init to read. Read-write: that
// never blocks on a fifo, and the init needs no path or permission of its
// own to reopen it.
func (h *handoffs) openFifo(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open start barrier: %w", err)
	}
	h.fifo = os.NewFile(uintptr(fd), "exec.fifo")
	return nil
}

// releaseBarrier opens the start barrier ahead of the init (a container
// started by create): the byte a start writes waits in the fifo for the
// init's read.
func (h *handoffs) releaseBarrier() error {
	if _, err := unix.Write(int(h.fifo.Fd()), []byte{'0'}); err != nil {
		return fmt.Errorf("release start barrier: %w", err)
	}
	return nil
}

// files returns the files to send with the Config message and records in
// cfg the slot of each (its 1-based position among them), which the init
// resolves to the fd it received it as.
func (h *handoffs) files(cfg *initproto.InitConfig) ([]*os.File, error) {
	var out []*os.File
	slot := func(f *os.File) int {
		out = append(out, f)
		return len(out)
	}
	if h.fifo != nil {
		cfg.FifoFd = slot(h.fifo)
	}
	cfg.ProcFd = slot(h.proc)
	for _, x := range []struct {
		conn *net.UnixConn
		slot *int
	}{{h.console, &cfg.ConsoleFd}, {h.seccomp, &cfg.SeccompFd}} {
		if x.conn == nil {
			continue
		}
		f, err := x.conn.File()
		if err != nil {
			return nil, fmt.Errorf("hand a socket to the init: %w", err)
		}
		h.dups = append(h.dups, f)
		*x.slot = slot(f)
	}
	for k, f := range h.idmap {
		if cfg.IdmapFds == nil {
			cfg.IdmapFds = map[int]int{}
		}
		cfg.IdmapFds[h.idmapMounts[k]] = slot(f)
	}
	for i, f := range h.binds {
		if cfg.BindFds == nil {
			cfg.BindFds = map[int]int{}
		}
		cfg.BindFds[i] = slot(f)
	}
	return out, nil
}

func (h *handoffs) close() {
	for _, c := range []*net.UnixConn{h.console, h.seccomp, h.pidfd} {
		if c != nil {
			c.Close()
		}
	}
	for _, f := range h.dups {
		f.Close()
	}
	for _, f := range []*os.File{h.fifo, h.proc} {
		if f != nil {
			f.Close()
		}
	}
	closeAll(h.idmap)
	for _, f := range h.binds {
		f.Close()
	}
}
