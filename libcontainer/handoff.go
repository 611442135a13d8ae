package libcontainer

import (
	"fmt"
	"net"
	"os"

	"github.com/nookrt/nook/libcontainer/console"
	"github.com/nookrt/nook/seccomp"
)

// handoffs are connections nook makes on the host and the init takes over:
// the --console-socket (the pty master goes there) and the seccomp
// listenerPath (the notify fd goes there). Dialing them before anything
// else is created makes a socket nobody listens on fail create cleanly, and
// the init needs no path on the host once it has pivoted.
type handoffs struct {
	console, seccomp *net.UnixConn
	// fds the init will find them at (0: not handed off).
	consoleFd, seccompFd int
	dups                 []*os.File
	// idmap holds one user namespace per idmapped mount (mounts[i] for i
	// in idmapMounts); idmapFds is where the init finds each.
	idmap       []*os.File
	idmapMounts []int
	idmapFds    map[int]int
}

func dialHandoffs(o CreateOptions, prog *seccomp.Program) (*handoffs, error) {
	h := &handoffs{}
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

// files returns the files to pass to the init, numbering them from base.
func (h *handoffs) files(base int) ([]*os.File, error) {
	var out []*os.File
	for _, x := range []struct {
		conn *net.UnixConn
		fd   *int
	}{{h.console, &h.consoleFd}, {h.seccomp, &h.seccompFd}} {
		if x.conn == nil {
			continue
		}
		f, err := x.conn.File()
		if err != nil {
			return nil, fmt.Errorf("hand a socket to the init: %w", err)
		}
		h.dups = append(h.dups, f)
		*x.fd = base + len(out)
		out = append(out, f)
	}
	for k, f := range h.idmap {
		if h.idmapFds == nil {
			h.idmapFds = map[int]int{}
		}
		h.idmapFds[h.idmapMounts[k]] = base + len(out)
		out = append(out, f)
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
	closeAll(h.idmap)
}
