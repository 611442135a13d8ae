package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/state"
)

// RestoreOptions are `nook restore`'s inputs besides the CRIU options.
type RestoreOptions struct {
	Options
	ID     string
	Bundle string // absolute
	Spec   *specs.Spec
	Rootfs string // absolute, resolved by spec.ResolveRootfs
	// PidFile, if set, gets the restored init's pid.
	PidFile       string
	SystemdCgroup bool
	// Stdio are CRIU's stdin, stdout and stderr: a pipe the init had as
	// one of them at dump is replaced by the same-numbered one of these
	// (nil: /dev/null).
	Stdio [3]*os.File
	// Console receives the master of the restored terminal (a container
	// with process.terminal); required for one.
	Console func(master *os.File) error
	Warn    func(string)
	Debug   func(format string, args ...any)
}

// Restored is a container brought back, running.
type Restored struct {
	ID        string
	Pid       int
	StartTime uint64
}

// Restore brings the container checkpointed in o.ImagePath back as a new
// container o.ID, running, from the bundle's config: the same kind of
// state record, cgroup and hooks as create makes. On failure nothing of
// it is left: no record, cgroup, mount or process.
func Restore(rt libcontainer.Root, c Criu, o RestoreOptions) (*Restored, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Spec.Process != nil && o.Spec.Process.Terminal && o.Console == nil {
		return nil, errors.New("process.terminal is true: restoring the terminal needs a --console-socket to hand it to")
	}
	if err := libcontainer.PrepareSpec(o.Spec, o.Rootfs, o.Warn); err != nil {
		return nil, err
	}
	if err := needMountNS(o.Spec, o.ID); err != nil {
		return nil, err
	}
	if err := c.checkVersion(); err != nil {
		return nil, err
	}
	imgDir, err := o.imageDir(false)
	if err != nil {
		return nil, err
	}
	defer imgDir.Close()
	if err := searchableForUserns(imgDir, o.Spec); err != nil {
		return nil, err
	}
	stdio, err := readDescriptors(o.ImagePath)
	if err != nil {
		return nil, err
	}
	workDir, logDir, err := o.workDir()
	if err != nil {
		return nil, err
	}
	if workDir != nil {
		defer workDir.Close()
	}
	cg, err := libcontainer.NewCgroupManager(o.ID, o.Spec, o.SystemdCgroup)
	if err != nil {
		return nil, err
	}
	h, err := rt.Store().Create(o.ID)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rec := libcontainer.NewRecord(o.ID, o.Bundle, o.Rootfs, o.Spec, cg)
	// Saved before the cgroup or any process exists, as by create: a
	// restore killed from here on leaves what delete --force cleans.
	if err := h.Save(rec); err != nil {
		h.Destroy()
		return nil, err
	}
	r := &restore{o: o, c: c, h: h, rec: rec, cg: cg, imgDir: imgDir, workDir: workDir, stdio: stdio}
	if err := r.run(); err != nil {
		err = criuFailedIf(fmt.Sprintf("restore of container %s", o.ID), err, logDir)
		if cerr := libcontainer.Delete(h, rec, true, o.Warn); cerr != nil {
			err = fmt.Errorf("%w (cleanup: %v)", err, cerr)
		}
		return nil, err
	}
	return &Restored{ID: o.ID, Pid: rec.Pid, StartTime: rec.InitStartTime}, nil
}

// errCriu marks an error CRIU reported (its log says more).
type errCriu struct{ err error }

func (e *errCriu) Error() string { return e.err.Error() }
func (e *errCriu) Unwrap() error { return e.err }

// criuFailedIf adds CRIU's log to an error that came from CRIU.
func criuFailedIf(what string, err error, logDir string) error {
	var ce *errCriu
	if errors.As(err, &ce) {
		return criuFailed(what, ce.err, logDir, restoreLog)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// restore is one restore in progress.
type restore struct {
	o               RestoreOptions
	c               Criu
	h               *state.Handle
	rec             *state.Record
	cg              cgroups.Manager
	imgDir, workDir *os.File
	stdio           []string // descriptors.json
	// extra are files CRIU inherits from fd 4 up.
	extra []*os.File
}

func (r *restore) run() error {
	defer func() {
		for _, f := range r.extra {
			f.Close()
		}
	}()
	opts, err := r.opts()
	if err != nil {
		return err
	}
	mounts := append(bindMounts(r.o.Spec, r.o.Rootfs, r.o.Bundle), deviceMounts(r.o.Spec, initproto.HasNamespace(r.o.Spec.Linux, specs.UserNamespace))...)
	if err := makeMountpoints(r.o.Rootfs, r.o.Spec, mounts); err != nil {
		return err
	}
	if r.o.Spec.Linux != nil && len(r.o.Spec.Linux.MaskedPaths) > 0 {
		mounts = append(mounts, extMount{dest: devNullKey, name: devNullKey, source: devNullKey})
	}
	root := filepath.Join(r.h.Dir, "criu-root")
	opts.Root = &root
	// CRIU mounts the cgroup hierarchies it restores into in a "yard",
	// by default in its working directory: that is the work directory
	// nook opened, a mount of nook's namespace, where CRIU (in its own
	// namespace) may not mount. A directory of the state dir instead.
	yard := filepath.Join(r.h.Dir, "criu-cgyard")
	if err := os.Mkdir(yard, 0o700); err != nil {
		return fmt.Errorf("criu cgroup yard: %w", err)
	}
	defer removeYard(yard)
	opts.CgroupYard = &yard
	sw, err := r.startCriu(root)
	if err != nil {
		return err
	}
	defer sw.kill()
	defer os.Remove(root) // once CRIU, whose mount is on it, is gone
	// CRIU itself goes into the container's cgroup, and restores the
	// processes there (cg_root): a new id gets a cgroup of its own.
	if err := r.placeCriu(opts, sw.pid()); err != nil {
		return err
	}
	cgMounts, err := cgroupMounts(r.o.Spec, r.o.Rootfs, sw.pid())
	if err != nil {
		return err
	}
	if err := addExtMounts(opts, append(mounts, cgMounts...), false); err != nil {
		return err
	}
	t := rpc.CriuReqType_RESTORE
	resp, err := sw.call(r.c, &rpc.CriuReq{Type: &t, Opts: opts}, r.notify)
	if err != nil {
		return &errCriu{err}
	}
	pid := int(resp.GetRestore().GetPid())
	if pid <= 0 {
		return &errCriu{errors.New("criu's answer names no restored process")}
	}
	r.rec.Pid = pid
	if err := sw.finish(); err != nil {
		return &errCriu{err}
	}
	return r.adopt(pid)
}

// startCriu starts CRIU with the rootfs bound on root (<state dir>/criu-root:
// CRIU wants a root that is a mount point whose parent is not overmounted).
// The bind is made in nook's mount namespace only until CRIU has its own
// copy of it (privateMounts): a restore killed at any point leaves no mount
// on the host, and delete then removes the empty directory with the rest.
func (r *restore) startCriu(root string) (*swrk, error) {
	if err := bindRoot(root, r.o.Rootfs); err != nil {
		return nil, err
	}
	sw, err := r.c.start(swrkIO{
		stdin: r.o.Stdio[0], stdout: r.o.Stdio[1], stderr: r.o.Stdio[2],
		extra: r.extra, privateMounts: true,
	})
	// Private: the unmount does not reach CRIU's copy.
	unix.Unmount(root, unix.MNT_DETACH)
	if err != nil {
		os.Remove(root)
		return nil, err
	}
	return sw, nil
}

// opts are the CRIU options of the restore, without root and mounts.
func (r *restore) opts() (*rpc.CriuOpts, error) {
	o := r.o.Options
	opts, err := commonOpts(o, r.o.Spec, r.imgDir, r.workDir, restoreLog)
	if err != nil {
		return nil, err
	}
	yes := true
	opts.EvasiveDevices = &yes
	opts.RstSibling = &yes
	if o.LsmProfile != "" {
		opts.LsmProfile = ptr(o.LsmProfile)
	}
	if o.LsmMountContext != "" {
		opts.LsmMountContext = ptr(o.LsmMountContext)
	}
	if err := r.namespaces(opts); err != nil {
		return nil, err
	}
	// The init's stdio pipes at dump are replaced by CRIU's own stdio.
	for i, s := range r.stdio {
		if strings.HasPrefix(s, "pipe:") {
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(s), Fd: ptr(int32(i))})
		}
	}
	return opts, nil
}

// namespaces hands CRIU the namespaces the config joins by path: the
// network and pid ones recorded as external at dump are inherited as
// open files, the others joined by CRIU.
func (r *restore) namespaces(opts *rpc.CriuOpts) error {
	if r.o.Spec.Linux == nil {
		return nil
	}
	for _, ns := range r.o.Spec.Linux.Namespaces {
		if ns.Path == "" {
			continue
		}
		switch ns.Type {
		case specs.NetworkNamespace, specs.PIDNamespace:
			f, err := os.Open(ns.Path)
			if err != nil {
				return fmt.Errorf("%s namespace to join: %w", ns.Type, err)
			}
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(extNsKey(ns.Type)), Fd: ptr(extraFd(len(r.extra)))})
			r.extra = append(r.extra, f)
		case specs.CgroupNamespace:
			return errors.New("a cgroup namespace joined by path cannot be restored (CRIU has no way to join one)")
		default:
			opts.JoinNs = append(opts.JoinNs, &rpc.JoinNamespace{Ns: ptr(criuNsName(ns.Type)), NsFile: ptr(ns.Path)})
		}
	}
	return nil
}

// placeCriu puts CRIU in the container's cgroup with its resources, and
// tells it to restore the processes into the cgroups it is in.
func (r *restore) placeCriu(opts *rpc.CriuOpts, pid int) error {
	if err := r.cg.Apply(pid); err != nil {
		return err
	}
	var res *specs.LinuxResources
	if r.o.Spec.Linux != nil {
		res = r.o.Spec.Linux.Resources
	}
	if err := r.cg.Set(res); err != nil {
		return err
	}
	own, err := procCgroups(pid)
	if err != nil {
		return fmt.Errorf("read cgroups of criu: %w", err)
	}
	keys := make([]string, 0, len(own))
	for k := range own {
		keys = append(keys, k)
	}
	// Stable order; "" (cgroup2) names no controller: CRIU takes a root
	// without a controller for every hierarchy not listed.
	sort.Strings(keys)
	for _, k := range keys {
		opts.CgRoot = append(opts.CgRoot, &rpc.CgroupRoot{Ctrl: ptr(k), Path: ptr(own[k])})
	}
	return nil
}

// notify handles CRIU's steps of a restore.
func (r *restore) notify(n *rpc.CriuNotify, oob []byte) error {
	switch n.GetScript() {
	case "setup-namespaces":
		// The processes exist in their namespaces and have not run: the
		// moment create runs prestart and createRuntime hooks.
		return r.runHooks(int(n.GetPid()))
	case "post-restore":
		// Recorded at once: a failure from here on kills it.
		r.rec.Pid = int(n.GetPid())
	case "orphan-pts-master":
		master, err := receivedFile(oob)
		if err != nil {
			return err
		}
		defer master.Close()
		if r.o.Console == nil {
			return errors.New("the checkpoint has a terminal but no --console-socket was given to hand it to")
		}
		return r.o.Console(master)
	}
	return nil
}

func (r *restore) runHooks(pid int) error {
	s := r.o.Spec
	pre, rt := hooks.Of(s.Hooks, hooks.Prestart), hooks.Of(s.Hooks, hooks.CreateRuntime)
	if len(pre)+len(rt) == 0 {
		return nil
	}
	st := r.rec.State
	st.Pid = pid
	// As at create: prestart sees "created", createRuntime the truth.
	st.Status = state.Created
	if err := hooks.Run(hooks.Prestart, pre, st); err != nil {
		return err
	}
	st.Status = state.Creating
	return hooks.Run(hooks.CreateRuntime, rt, st)
}

// adopt records the restored init as the container's and writes the pid file.
func (r *restore) adopt(pid int) error {
	if err := libcontainer.Adopt(r.rec, pid, r.o.Spec); err != nil {
		return err
	}
	if err := r.h.Save(r.rec); err != nil {
		return err
	}
	if r.o.PidFile != "" {
		abs, err := filepath.Abs(r.o.PidFile)
		if err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
		if err := state.WriteFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
	}
	return nil
}

// searchableForUserns: CRIU reads some images as the restored
// container's root, which in a user namespace is an unmapped uid on the
// host: without search permission for others on the image directory that
// fails half-way with EACCES. Said up front instead.
func searchableForUserns(dir *os.File, s *specs.Spec) error {
	if !initproto.HasNamespace(s.Linux, specs.UserNamespace) {
		return nil
	}
	fi, err := dir.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("--image-path %s (mode %04o) must be searchable by others for a container with a user namespace: CRIU reads images there as the container's root (chmod o+x it)", dir.Name(), fi.Mode().Perm())
	}
	return nil
}

// readDescriptors reads the init's stdio as recorded at dump.
func readDescriptors(imagePath string) ([]string, error) {
	p := filepath.Join(imagePath, descriptorsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--image-path %s holds no checkpoint of a container (no %s; a pre-dump cannot be restored)", imagePath, descriptorsFile)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return out, nil
}

// removeYard removes the cgroup yard CRIU used: the controller
// directories it made there, then the yard. Only empty directories are
// removed, one by one: a directory with something mounted on it, here, is
// left rather than walked into (under it would be a host cgroup tree).
func removeYard(yard string) {
	entries, _ := os.ReadDir(yard)
	for _, e := range entries {
		unix.Rmdir(filepath.Join(yard, e.Name()))
	}
	unix.Rmdir(yard)
}

// bindRoot binds rootfs on root, a new directory, as a private mount.
func bindRoot(root, rootfs string) error {
	if err := os.Mkdir(root, 0o755); err != nil {
		return fmt.Errorf("criu root: %w", err)
	}
	if err := unix.Mount(rootfs, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		os.Remove(root)
		return fmt.Errorf("bind rootfs %s for criu: %w", rootfs, err)
	}
	// Private: neither what CRIU does under it nor its unmount here may
	// reach another namespace.
	if err := unix.Mount("", root, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		unix.Unmount(root, unix.MNT_DETACH)
		os.Remove(root)
		return fmt.Errorf("make criu root private: %w", err)
	}
	return nil
}

// receivedFile is the one fd CRIU sent with a notification.
func receivedFile(oob []byte) (*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse criu's fd: %w", err)
	}
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil || len(fds) == 0 {
			continue
		}
		for _, fd := range fds[1:] {
			unix.Close(fd)
		}
		return os.NewFile(uintptr(fds[0]), "pty-master"), nil
	}
	return nil, errors.New("criu sent no fd with the terminal's master")
}
