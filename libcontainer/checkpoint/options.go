package checkpoint

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"
)

// Options are checkpoint's and restore's CRIU settings (runc's flags).
type Options struct {
	// ImagePath holds the images (made if missing); empty: ./checkpoint.
	ImagePath string
	// WorkPath holds CRIU's log and temporary files; empty: ImagePath.
	WorkPath string
	// ParentPath is a previous pre-dump, relative to ImagePath.
	ParentPath string

	LeaveRunning    bool
	TCPEstablished  bool
	TCPSkipInFlight bool
	LinkRemap       bool
	ExtUnixSk       bool
	ShellJob        bool
	FileLocks       bool
	PreDump         bool
	AutoDedup       bool
	LazyPages       bool
	// StatusFd, if not -1, gets a \0 once the lazy-pages server is ready.
	StatusFd int
	// PageServer is ADDRESS:PORT of a CRIU page server to send pages to.
	PageServer string
	// ManageCgroupsMode is soft, full, strict or ignore ("": CRIU's default, soft).
	ManageCgroupsMode string
	// EmptyNs are namespaces CRIU makes but does not restore the contents
	// of (only "network"); the network namespace is always one, as in
	// runc: nook does not manage network devices.
	EmptyNs []string
	// LsmProfile (TYPE:NAME) and LsmMountContext replace the image's at restore.
	LsmProfile      string
	LsmMountContext string
}

// cgMode maps --manage-cgroups-mode to CRIU's enum.
func cgMode(mode string) (rpc.CriuCgMode, error) {
	switch mode {
	case "":
		return rpc.CriuCgMode_DEFAULT, nil
	case "soft":
		return rpc.CriuCgMode_SOFT, nil
	case "full":
		return rpc.CriuCgMode_FULL, nil
	case "strict":
		return rpc.CriuCgMode_STRICT, nil
	case "ignore":
		return rpc.CriuCgMode_IGNORE, nil
	}
	return 0, fmt.Errorf("invalid --manage-cgroups-mode %q: must be soft, full, strict or ignore", mode)
}

// emptyNsMask is the clone flags of the namespaces CRIU restores empty.
func emptyNsMask(names []string) (uint32, error) {
	mask := uint32(unix.CLONE_NEWNET)
	for _, n := range names {
		if n != "network" {
			return 0, fmt.Errorf("invalid --empty-ns %q: only network is supported", n)
		}
	}
	return mask, nil
}

// pageServer parses ADDRESS:PORT.
func pageServer(s string) (*rpc.CriuPageServerInfo, error) {
	if s == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("invalid --page-server %q: must be ADDRESS:PORT", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil, fmt.Errorf("invalid --page-server %q: port %q is not a number from 1 to 65535", s, port)
	}
	n := int32(p)
	return &rpc.CriuPageServerInfo{Address: &host, Port: &n}, nil
}

// check validates what can be checked before CRIU runs.
func (o *Options) check() error {
	if _, err := cgMode(o.ManageCgroupsMode); err != nil {
		return err
	}
	if _, err := emptyNsMask(o.EmptyNs); err != nil {
		return err
	}
	if _, err := pageServer(o.PageServer); err != nil {
		return err
	}
	if filepath.IsAbs(o.ParentPath) {
		return fmt.Errorf("invalid --parent-path %s: must be relative to --image-path (e.g. ../pre-dump)", o.ParentPath)
	}
	if o.StatusFd != -1 && !o.LazyPages {
		return errors.New("--status-fd is only used with --lazy-pages")
	}
	if o.StatusFd != -1 {
		flags, err := unix.FcntlInt(uintptr(o.StatusFd), unix.F_GETFL, 0)
		if err != nil {
			return fmt.Errorf("invalid --status-fd %d: %w", o.StatusFd, err)
		}
		if flags&unix.O_ACCMODE == unix.O_RDONLY {
			return fmt.Errorf("invalid --status-fd %d: not open for writing", o.StatusFd)
		}
	}
	return nil
}

// imageDir makes (for a checkpoint) or checks (for a restore) the image
// directory and returns it absolute and open, with the parent path checked.
func (o *Options) imageDir(create bool) (*os.File, error) {
	if o.ImagePath == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("--image-path not given and the working directory is unknown: %w", err)
		}
		o.ImagePath = filepath.Join(wd, "checkpoint")
	}
	abs, err := filepath.Abs(o.ImagePath)
	if err != nil {
		return nil, fmt.Errorf("--image-path %s: %w", o.ImagePath, err)
	}
	o.ImagePath = abs
	if create {
		// Searchable by anyone (not listable): a restored container's
		// root in a user namespace, unmapped on the host, is who reads
		// some of the images.
		if err := os.MkdirAll(abs, 0o711); err != nil {
			return nil, fmt.Errorf("--image-path %s: %w", abs, err)
		}
	}
	dir, err := os.OpenFile(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--image-path %s: %w", abs, err)
	}
	if err := o.checkParent(); err != nil {
		dir.Close()
		return nil, err
	}
	return dir, nil
}

// checkParent: --parent-path is relative to the image directory (CRIU
// resolves it there) and must be a directory.
func (o *Options) checkParent() error {
	if o.ParentPath == "" {
		return nil
	}
	p := filepath.Join(o.ImagePath, o.ParentPath)
	fi, err := os.Stat(p)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return fmt.Errorf("invalid --parent-path %s (%s): %w", o.ParentPath, p, err)
	}
	return nil
}

// workDir makes and opens --work-path; nil when it is not given (CRIU
// then works in the image directory). logDir is where the log ends up.
func (o *Options) workDir() (dir *os.File, logDir string, err error) {
	if o.WorkPath == "" {
		return nil, o.ImagePath, nil
	}
	abs, err := filepath.Abs(o.WorkPath)
	if err != nil {
		return nil, "", fmt.Errorf("--work-path %s: %w", o.WorkPath, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, "", fmt.Errorf("--work-path %s: %w", abs, err)
	}
	dir, err = os.OpenFile(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("--work-path %s: %w", abs, err)
	}
	return dir, abs, nil
}
