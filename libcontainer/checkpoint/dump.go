package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/state"
)

const (
	dumpLog    = "dump.log"
	restoreLog = "restore.log"
	// descriptorsFile lists what the init's stdio were at dump (runc's
	// name and format): a restore hands its own stdio in place of pipes.
	descriptorsFile = "descriptors.json"
	// defaultConfigFile is the CRIU configuration file read unless the
	// org.criu.config annotation names another (or, empty, none): runc's,
	// so that a host set up for runc's checkpoints serves nook's too.
	defaultConfigFile = "/etc/criu/runc.conf"
)

// Checkpoint dumps the running (or paused) container of rec into
// o.ImagePath. Unless o.LeaveRunning or o.PreDump, the container is then
// gone (CRIU killed it) and its record, cgroup and mounts are removed as
// by `delete`. It holds the container's lock throughout.
func Checkpoint(rt libcontainer.Root, id string, c Criu, o Options, warn func(string)) error {
	return rt.Locked(id, true, func(h *state.Handle, rec *state.Record) error {
		return checkpointLocked(h, rec, c, o, warn)
	})
}

func checkpointLocked(h *state.Handle, rec *state.Record, c Criu, o Options, warn func(string)) error {
	switch st := libcontainer.Status(h, rec); st {
	case state.Running, state.Paused:
	default:
		return fmt.Errorf("container %s cannot be checkpointed in the %s state (only a running or paused one can)", rec.ID, st)
	}
	if err := o.check(); err != nil {
		return err
	}
	s, err := rec.Spec()
	if err != nil {
		return err
	}
	if s == nil {
		return fmt.Errorf("container %s has no config in its state: it cannot be checkpointed", rec.ID)
	}
	if err := needMountNS(s, rec.ID); err != nil {
		return err
	}
	if err := c.checkVersion(); err != nil {
		return err
	}
	if err := checkDumpFeatures(c, o); err != nil {
		return err
	}
	imgDir, err := o.imageDir(true)
	if err != nil {
		return err
	}
	defer imgDir.Close()
	workDir, logDir, err := o.workDir()
	if err != nil {
		return err
	}
	if workDir != nil {
		defer workDir.Close()
	}
	opts, err := dumpOpts(rec, s, o, imgDir, workDir)
	if err != nil {
		return err
	}
	if !o.PreDump {
		if err := describeDump(opts, rec, s, o.ImagePath); err != nil {
			return err
		}
	}
	what := fmt.Sprintf("checkpoint of container %s", rec.ID)
	if err := runDump(c, opts, o); err != nil {
		return criuFailed(what, err, logDir, dumpLog)
	}
	if o.LeaveRunning || o.PreDump {
		return nil
	}
	// CRIU has killed the container's processes: what is left of it
	// goes as with `delete` (cgroup, mounts, poststop hooks, record).
	if err := libcontainer.Delete(h, rec, true, warn); err != nil {
		return fmt.Errorf("%s succeeded, but removing the container failed: %w", what, err)
	}
	return nil
}

// checkDumpFeatures asks CRIU about what a pre-dump or lazy pages need,
// so that a missing kernel feature is named instead of CRIU crashing on it.
func checkDumpFeatures(c Criu, o Options) error {
	if !o.PreDump && o.ParentPath == "" && !o.LazyPages {
		return nil
	}
	yes := true
	want := &rpc.CriuFeatures{}
	if o.PreDump || o.ParentPath != "" {
		want.MemTrack = &yes
	}
	if o.LazyPages {
		want.LazyPages = &yes
	}
	got, err := c.features(want)
	if err != nil {
		return err
	}
	var missing []string
	if want.MemTrack != nil && !got.GetMemTrack() {
		missing = append(missing, "memory tracking (soft-dirty page tracking, needed by --pre-dump and --parent-path)")
	}
	if want.LazyPages != nil && !got.GetLazyPages() {
		missing = append(missing, "lazy pages (userfaultfd, needed by --lazy-pages)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("criu cannot do this checkpoint on this host: the kernel lacks %s", strings.Join(missing, " and "))
	}
	return nil
}

// commonOpts are the CRIU options a dump and a restore share: the image
// and work directories, the log, cgroup management and what the command
// line asks of both.
func commonOpts(o Options, s *specs.Spec, imgDir, workDir *os.File, logFile string) (*rpc.CriuOpts, error) {
	mode, err := cgMode(o.ManageCgroupsMode)
	if err != nil {
		return nil, err
	}
	empty, err := emptyNsMask(o.EmptyNs)
	if err != nil {
		return nil, err
	}
	yes := true
	opts := &rpc.CriuOpts{
		ImagesDirFd:       ptr(int32(imgDir.Fd())),
		LogLevel:          ptr(int32(4)),
		LogFile:           ptr(logFile),
		ManageCgroups:     &yes,
		ManageCgroupsMode: &mode,
		NotifyScripts:     &yes,
		ShellJob:          ptr(o.ShellJob),
		TcpEstablished:    ptr(o.TCPEstablished),
		ExtUnixSk:         ptr(o.ExtUnixSk),
		FileLocks:         ptr(o.FileLocks),
		EmptyNs:           &empty,
		OrphanPtsMaster:   &yes,
		AutoDedup:         ptr(o.AutoDedup),
		LazyPages:         ptr(o.LazyPages),
	}
	if workDir != nil {
		opts.WorkDirFd = ptr(int32(workDir.Fd()))
	}
	configFile(opts, s)
	return opts, nil
}

// dumpOpts are the CRIU options of a dump or pre-dump.
func dumpOpts(rec *state.Record, s *specs.Spec, o Options, imgDir, workDir *os.File) (*rpc.CriuOpts, error) {
	ps, err := pageServer(o.PageServer)
	if err != nil {
		return nil, err
	}
	opts, err := commonOpts(o, s, imgDir, workDir, dumpLog)
	if err != nil {
		return nil, err
	}
	yes := true
	opts.Root = ptr(rec.Rootfs)
	opts.Pid = ptr(int32(rec.Pid))
	opts.LeaveRunning = ptr(o.LeaveRunning)
	opts.TcpSkipInFlight = ptr(o.TCPSkipInFlight)
	opts.LinkRemap = ptr(o.LinkRemap)
	opts.Ps = ps
	// A namespace the container joined by path is not the container's:
	// CRIU records it as external, and a restore hands it back.
	for _, t := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.PIDNamespace} {
		if p := nsPath(s, t); p != "" {
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return nil, fmt.Errorf("%s namespace %s: %w", t, p, err)
			}
			opts.External = append(opts.External, fmt.Sprintf("%s[%d]:%s", criuNsName(t), st.Ino, extNsKey(t)))
		}
	}
	// CRIU freezes the container with its cgroup freezer rather than
	// with ptrace, so that no process escapes while it dumps.
	if fc := freezerPath(rec); fc != "" {
		opts.FreezeCgroup = &fc
	}
	if o.ParentPath != "" {
		opts.ParentImg = ptr(o.ParentPath)
		opts.TrackMem = &yes
	}
	return opts, nil
}

func ptr[T any](v T) *T { return &v }

// needMountNS refuses a container without a mount namespace of its own:
// CRIU would restore it into the namespace of the restore's CRIU, a
// private copy of the host's (see restore.startCriu), not the host's.
func needMountNS(s *specs.Spec, id string) error {
	if nsPath(s, specs.MountNamespace) != "" || !initproto.HasNamespace(s.Linux, specs.MountNamespace) {
		return fmt.Errorf("container %s has no mount namespace of its own (linux.namespaces): nook checkpoints and restores only containers that have one", id)
	}
	return nil
}

// configFile sets the CRIU configuration file: the one the
// org.criu.config annotation names, none if it is empty, else runc's.
func configFile(opts *rpc.CriuOpts, s *specs.Spec) {
	if f, ok := s.Annotations["org.criu.config"]; ok {
		if f != "" {
			opts.ConfigFile = ptr(f)
		}
		return
	}
	opts.ConfigFile = ptr(defaultConfigFile)
}

// criuNsName is CRIU's name of a namespace type.
func criuNsName(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

// extNsKey names an external namespace in the image, as runc does
// (extRootNetNS, extRootPidNS), so images move between the two.
func extNsKey(t specs.LinuxNamespaceType) string {
	n := criuNsName(t)
	return "extRoot" + strings.ToUpper(n[:1]) + n[1:] + "NS"
}

// freezerPath is the container's freezer cgroup: the v1 freezer
// hierarchy's, or the cgroup2 directory on a pure cgroup2 host.
func freezerPath(rec *state.Record) string {
	if rec.Cgroup == nil {
		return ""
	}
	if p := rec.Cgroup.Paths["freezer"]; p != "" {
		return p
	}
	if rec.Cgroup.Mode == cgroups.ModeV2 {
		return rec.Cgroup.Paths[""]
	}
	return ""
}

// describeDump adds what a final dump (not a pre-dump) needs: the external
// mounts, and the init's stdio written to descriptors.json.
func describeDump(opts *rpc.CriuOpts, rec *state.Record, s *specs.Spec, imagePath string) error {
	mounts := bindMounts(s, rec.Rootfs, rec.Bundle)
	cg, err := cgroupMounts(s, rec.Rootfs, rec.Pid)
	if err != nil {
		return err
	}
	mounts = append(mounts, cg...)
	mounts = append(mounts, deviceMounts(s, initproto.HasNamespace(s.Linux, specs.UserNamespace))...)
	// Masked files all become the host's /dev/null again (runc's mapping).
	for _, p := range maskedFiles(s, rec.Pid) {
		mounts = append(mounts, extMount{dest: p, name: devNullKey, source: devNullKey})
	}
	if err := addExtMounts(opts, mounts, true); err != nil {
		return err
	}
	b, err := json.Marshal(stdioOf(rec.Pid))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(imagePath, descriptorsFile), b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", descriptorsFile, err)
	}
	return nil
}

// stdioOf is what fds 0-2 of pid are ("pipe:[123]", a path, "" if closed).
func stdioOf(pid int) []string {
	out := make([]string, 3)
	for i := range out {
		out[i], _ = os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, i))
	}
	return out
}

// runDump runs the dump in a CRIU of its own.
func runDump(c Criu, opts *rpc.CriuOpts, o Options) error {
	t := rpc.CriuReqType_DUMP
	if o.PreDump {
		t = rpc.CriuReqType_PRE_DUMP
	}
	sw, err := c.start(swrkIO{})
	if err != nil {
		return err
	}
	defer sw.kill()
	statusFd := o.StatusFd
	_, err = sw.call(c, &rpc.CriuReq{Type: &t, Opts: opts}, func(n *rpc.CriuNotify, _ []byte) error {
		if n.GetScript() == "status-ready" && statusFd != -1 {
			// The lazy-pages server is ready: tell whoever waits.
			_, werr := unix.Write(statusFd, []byte{0})
			unix.Close(statusFd)
			statusFd = -1
			return werr
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A pre-dump's CRIU waits for further requests and ends with a
	// failure status when the socket closes: its answer is what counts.
	if ferr := sw.finish(); ferr != nil && !o.PreDump {
		return ferr
	}
	return nil
}
