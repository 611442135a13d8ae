package libcontainer

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/console"
	"github.com/nookrt/nook/libcontainer/procfs"
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
	dups             []*os.File
	// idmap holds one user namespace per idmapped mount (mounts[i] for i
	// in idmapMounts).
	idmap       []*os.File
	idmapMounts []int
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
	return h, nil
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

// files returns the files to send with the Config message and records in
// cfg the slot of each (its 1-based position among them), which the init
// resolves to the fd it received it as.
func (h *handoffs) files(cfg *InitConfig) ([]*os.File, error) {
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
	return out, nil
}

func (h *handoffs) close() {
	for _, c := range []*net.UnixConn{h.console, h.seccomp} {
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
}
