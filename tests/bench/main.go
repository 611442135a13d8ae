// Command bench measures full container lifecycles (create, start, wait
// for exit, delete) of several OCI runtimes side by side, so nook can be
// compared with runc and crun on the same machine, bundle and rootfs.
// After the lifecycles it times single commands (run, exec, state, kill;
// commands.go) and measures what created, never started ("parked")
// containers cost: their init's memory and list's time per container
// (parked.go).
//
// Usage:
//
//	go run ./tests/bench -n 30 \
//	    -runtime nook=./nook -runtime runc=/usr/sbin/runc -runtime crun=/usr/bin/crun \
//	    -baseline runc [-crun-private-cgroup2] [-json] [-max-ratio 0.6] \
//	    [-commands-n 30] [-parked 100] [-list-runs 30] [-lifecycle-only]
//
// It must run as root. With -json, one JSON object follows the human
// readable report on stdout (it starts at the first line that is "{").
package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// privNSEnv marks the re-executed child of -crun-private-cgroup2. Its value
// is the parent's mount namespace link, so the child can prove it really is
// in a different namespace before it unmounts anything: unmounting
// /sys/fs/cgroup in the host namespace would break the host.
const privNSEnv = "NOOK_BENCH_PRIVATE_MNTNS"

// cmdTimeout bounds every single runtime invocation, so a hung runtime
// cannot hang the benchmark forever.
const cmdTimeout = 30 * time.Second

type runtimeFlag struct {
	name, path string
}

type runtimeFlags []runtimeFlag

func (r *runtimeFlags) String() string {
	var parts []string
	for _, f := range *r {
		parts = append(parts, f.name+"="+f.path)
	}
	return strings.Join(parts, ",")
}

func (r *runtimeFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want name=path, got %q", v)
	}
	for _, f := range *r {
		if f.name == name {
			return fmt.Errorf("runtime %q given twice", name)
		}
	}
	*r = append(*r, runtimeFlag{name, path})
	return nil
}

type options struct {
	n            int
	warmup       int
	runtimes     runtimeFlags
	baseline     string
	rootfs       string
	jsonOut      bool
	maxRatio     float64
	privCgroup2  bool
	pollInterval time.Duration
	stopTimeout  time.Duration
	// seccompProfile is timed through package seccomp (issue 6: < 2 ms per create).
	seccompProfile string
	startupN       int
	// commandsN, parked and listRuns scale the single-command timings and
	// the parked-container measurements; lifecycleOnly skips them all.
	commandsN     int
	parked        int
	listRuns      int
	lifecycleOnly bool
	// recache drops the runtimes' binaries from the page cache first.
	recache bool
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.IntVar(&o.n, "n", 30, "measured lifecycles per runtime")
	flag.IntVar(&o.warmup, "warmup", 2, "uncounted warm-up lifecycles per runtime (at least 1: the first decides whether a runtime is usable)")
	flag.Var(&o.runtimes, "runtime", "runtime to measure as name=path (repeatable; default nook=./nook runc=/usr/sbin/runc crun=/usr/bin/crun)")
	flag.StringVar(&o.baseline, "baseline", "runc", "runtime the ratios are computed against")
	flag.StringVar(&o.rootfs, "rootfs", "", "rootfs directory to use (default: build a busybox rootfs from /bin/busybox in a temp dir)")
	flag.BoolVar(&o.jsonOut, "json", false, "also print the results as one JSON object after the report")
	flag.Float64Var(&o.maxRatio, "max-ratio", 0, "exit 1 if nook's lifecycle median divided by the baseline's exceeds this (0 disables)")
	flag.BoolVar(&o.privCgroup2, "crun-private-cgroup2", false, "run everything in a private mount namespace with cgroup2 mounted on /sys/fs/cgroup, so every runtime sees a pure cgroup2 host (crun 1.8 refuses hybrid hosts)")
	flag.DurationVar(&o.pollInterval, "poll", time.Millisecond, "pause between 'state' polls while waiting for the container to stop")
	flag.DurationVar(&o.stopTimeout, "timeout", 10*time.Second, "how long to wait for a started container to reach 'stopped'")
	flag.IntVar(&o.startupN, "startup", 40, "also time this many starts of each runtime's `state` of a missing id, /bin/true and an empty Go program (0: skip)")
	flag.StringVar(&o.seccompProfile, "seccomp-profile", "tests/testdata/seccomp/docker-default.json", "time compiling this linux.seccomp profile as create does (empty: skip)")
	flag.IntVar(&o.commandsN, "commands-n", -1, "measured samples of each single command (run, exec, state, kill 0, kill KILL) per runtime (default: as -n; 0: skip)")
	flag.IntVar(&o.parked, "parked", 100, "created, never started containers per runtime whose init memory and list cost are measured (0: skip)")
	flag.IntVar(&o.listRuns, "list-runs", 30, "measured `list` runs per runtime, with the parked containers and with none (0: skip)")
	flag.BoolVar(&o.recache, "recache", false, "drop the runtimes' binaries from the page cache first, so each is read back the same way (for an A/B of two builds: how the page cache holds a binary moves its commands' times)")
	flag.BoolVar(&o.lifecycleOnly, "lifecycle-only", false, "measure only the lifecycles (and the start-up and seccomp reports): no single commands, no parked containers")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		return 2
	}
	if o.n < 1 || o.warmup < 1 {
		fmt.Fprintln(os.Stderr, "bench: -n and -warmup must be at least 1")
		return 2
	}
	if o.commandsN < 0 {
		o.commandsN = o.n
	}
	if o.parked < 0 || o.listRuns < 0 {
		fmt.Fprintln(os.Stderr, "bench: -parked and -list-runs must not be negative")
		return 2
	}
	if o.lifecycleOnly {
		o.commandsN, o.parked, o.listRuns = 0, 0, 0
	}
	if len(o.runtimes) == 0 {
		o.runtimes = runtimeFlags{{"nook", "./nook"}, {"runc", "/usr/sbin/runc"}, {"crun", "/usr/bin/crun"}}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: must run as root")
		return 1
	}

	if o.privCgroup2 {
		marker, inChild := os.LookupEnv(privNSEnv)
		if !inChild {
			return reexecPrivate()
		}
		if err := setupPrivateCgroup2(marker); err != nil {
			fmt.Fprintf(os.Stderr, "bench: private cgroup2 setup: %v\n", err)
			return 1
		}
		fmt.Println("private mount namespace: /sys/fs/cgroup is a pure cgroup2 mount for every runtime")
	}

	if o.recache {
		if err := dropFromPageCache(o.runtimes); err != nil {
			fmt.Fprintf(os.Stderr, "bench: -recache: %v\n", err)
			return 1
		}
	}
	// Interrupts stop the loop between lifecycles; cleanup still runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return bench(ctx, &o)
}

// reexecPrivate runs this same program again in a new mount namespace and
// returns its exit code. A re-exec is needed because unshare(CLONE_NEWNS) in
// a Go process only affects the calling thread, while os/exec may fork the
// runtimes from any thread.
func reexecPrivate() int {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), privNSEnv+"="+self)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	// The child gets the same terminal signals; it does its own cleanup,
	// so the parent only has to outlive it.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "bench: re-exec in private mount namespace: %v\n", err)
		return 1
	}
	return 0
}

// setupPrivateCgroup2 replaces /sys/fs/cgroup (a tmpfs full of v1
// hierarchies on a hybrid host) by the single cgroup2 hierarchy, in this
// process's private mount namespace only. Nothing is created on the host's
// cgroup tmpfs: we mount over the mount point that already exists.
func setupPrivateCgroup2(parentNS string) error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	if self == parentNS {
		return fmt.Errorf("still in the parent's mount namespace %s; refusing to touch /sys/fs/cgroup", self)
	}
	// Go already makes / private after CLONE_NEWNS, but the unmount below
	// must never propagate to the host, so do not rely on that detail.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	// Lazy, because the v1 hierarchies below it may be busy; EINVAL means
	// /sys/fs/cgroup was not a mount point at all, which is fine.
	if err := unix.Unmount("/sys/fs/cgroup", unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("umount -l /sys/fs/cgroup: %w", err)
	}
	if err := unix.Mount("none", "/sys/fs/cgroup", "cgroup2", 0, ""); err != nil {
		return fmt.Errorf("mount cgroup2 on /sys/fs/cgroup: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return err
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("/sys/fs/cgroup has fs magic %#x after mounting, not cgroup2", st.Type)
	}
	return nil
}

// sample is one measured lifecycle.
type sample struct {
	total, create, start, wait, del time.Duration
	polls                           int
	createMaxRSSKiB                 int64
}

type runtime struct {
	name, path  string
	version     string
	root        string // --root state directory, private to this runtime
	emptyRoot   string // a --root that never holds a container (list's floor)
	bundle      string
	sleepBundle string   // the same config running sleep, for running containers
	log         *os.File // stdio of every runtime command, to show errors
	skipped     string
	samples     []sample
	failures    int
	firstErr    string
	// live holds ids that may still exist in the runtime's state, so
	// cleanup can delete --force exactly those.
	live map[string]bool
	// cmds holds the single-command timings by command (commands.go).
	cmds map[string]*cmdStats
	// park holds what the parked containers cost (parked.go).
	park parkStats
}

func bench(ctx context.Context, o *options) int {
	tmp, err := os.MkdirTemp("", "nook-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	var rts []*runtime
	// Runs on every return path, also after an interrupt: containers
	// first, since their state lives under tmp.
	defer func() {
		for _, rt := range rts {
			rt.cleanup()
		}
		sweepCgroups(fmt.Sprintf("nb%d-", os.Getpid()))
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintf(os.Stderr, "bench: removing %s: %v\n", tmp, err)
		}
	}()

	rootfs := o.rootfs
	if rootfs == "" {
		rootfs = filepath.Join(tmp, "rootfs")
		if err := buildRootfs(rootfs, "/bin/busybox"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: building rootfs: %v\n", err)
			return 1
		}
	} else if rootfs, err = filepath.Abs(rootfs); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if _, err := os.Stat(filepath.Join(rootfs, "bin", "true")); err != nil {
		fmt.Fprintf(os.Stderr, "bench: rootfs %s has no usable /bin/true: %v\n", rootfs, err)
		return 1
	}
	cfg, err := json.MarshalIndent(benchSpec(rootfs), "", "\t")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	// The same config with an init that waits, for exec, state and kill
	// on a running container. busybox sleep takes whole seconds only.
	sleepSpec := benchSpec(rootfs)
	sleepSpec.Process.Args = []string{"/bin/sleep", "100000"}
	sleepCfg, err := json.MarshalIndent(sleepSpec, "", "\t")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}

	for i, f := range o.runtimes {
		rt, err := newRuntime(tmp, i, f, cfg, sleepCfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
		rts = append(rts, rt)
	}

	fmt.Printf("bench: %d measured lifecycles per runtime after %d warm-ups, rootfs %s, kernel %s\n",
		o.n, o.warmup, rootfs, kernelRelease())
	for _, rt := range rts {
		if rt.skipped == "" {
			fmt.Printf("  %-8s %s (%s)\n", rt.name, rt.path, rt.version)
		}
	}

	// Warm-ups interleave like the measured runs. Only the first one
	// decides whether a runtime is usable at all.
	for w := 0; w < o.warmup; w++ {
		for _, rt := range rts {
			if rt.skipped != "" || ctx.Err() != nil {
				continue
			}
			_, err := rt.lifecycle(o, rt.id(fmt.Sprintf("w%d", w)))
			if err != nil && w == 0 {
				rt.skipped = "first warm-up lifecycle failed:\n" + indent(err.Error())
			} else if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s warm-up %d failed: %v\n", rt.name, w, err)
			}
		}
	}
	for _, rt := range rts {
		if rt.skipped != "" {
			fmt.Printf("skip %s: %s\n", rt.name, rt.skipped)
		}
	}

	// Alternate runtimes within each iteration so that slow phases of the
	// machine (other builds, page cache flushes) hit every runtime alike.
	for i := 0; i < o.n && ctx.Err() == nil; i++ {
		for _, rt := range rts {
			if rt.skipped != "" || ctx.Err() != nil {
				continue
			}
			s, err := rt.lifecycle(o, rt.id(fmt.Sprint(i)))
			if err != nil {
				rt.failures++
				if rt.firstErr == "" {
					rt.firstErr = err.Error()
					fmt.Fprintf(os.Stderr, "bench: %s lifecycle %d failed: %v\n", rt.name, i, err)
				}
				continue
			}
			rt.samples = append(rt.samples, s)
		}
	}
	if o.commandsN > 0 && ctx.Err() == nil {
		commandsPhase(ctx, o, rts)
	}
	if o.parked > 0 && ctx.Err() == nil {
		parkedPhase(ctx, o, rts)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		return 130
	}
	res, code := report(o, rootfs, rts)
	if o.commandsN > 0 {
		commandsReport(o, rts, &res)
	}
	if o.parked > 0 {
		parkedReport(o, rts, &res)
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
	}
	if o.startupN > 0 {
		startupReport(rts, o.baseline, o.startupN)
	}
	if o.seccompProfile != "" && !seccompReport(o.seccompProfile, 20) && code == 0 {
		code = 1
	}
	return code
}

func newRuntime(tmp string, idx int, f runtimeFlag, cfg, sleepCfg []byte) (*runtime, error) {
	rt := &runtime{name: f.name, path: f.path, live: map[string]bool{}, cmds: map[string]*cmdStats{}}
	dir := filepath.Join(tmp, fmt.Sprintf("rt%d-%s", idx, sanitize(f.name)))
	rt.root = filepath.Join(dir, "state")
	rt.emptyRoot = filepath.Join(dir, "empty-state")
	rt.bundle = filepath.Join(dir, "bundle")
	rt.sleepBundle = filepath.Join(dir, "bundle-sleep")
	for _, d := range []string{rt.root, rt.emptyRoot, rt.bundle, rt.sleepBundle} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(rt.bundle, "config.json"), cfg, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(rt.sleepBundle, "config.json"), sleepCfg, 0o644); err != nil {
		return nil, err
	}
	// O_APPEND so that every command's output starts at offset 0 after a
	// truncate, even though container processes share the open file.
	log, err := os.OpenFile(filepath.Join(dir, "cmd.log"), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	rt.log = log

	p, err := exec.LookPath(f.path)
	if err != nil {
		rt.skipped = fmt.Sprintf("binary %s not usable: %v", f.path, err)
		return rt, nil
	}
	if rt.path, err = filepath.Abs(p); err != nil {
		return nil, err
	}
	rt.version = runtimeVersion(rt.path)
	return rt, nil
}

// id makes container ids unique per process, runtime and iteration, so a
// leftover from an earlier crashed run can never collide.
func (rt *runtime) id(tag string) string {
	return fmt.Sprintf("nb%d-%s-%s", os.Getpid(), sanitize(rt.name), tag)
}

// exec runs one runtime command with the global --root before the
// subcommand, as runc's command line wants it. Stdout and stderr go to a
// file rather than a pipe: the container process inherits create's stdio,
// and os/exec would wait for a pipe's writers, i.e. for the container.
func (rt *runtime) exec(stdout io.Writer, args ...string) (*os.ProcessState, error) {
	return rt.execIn(rt.root, stdout, args...)
}

// execIn is exec with another --root (list's empty root).
func (rt *runtime) execIn(root string, stdout io.Writer, args ...string) (*os.ProcessState, error) {
	if err := rt.log.Truncate(0); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rt.path, append([]string{"--root", root}, args...)...)
	cmd.Stdout, cmd.Stderr = rt.log, rt.log
	// Own process group: a Ctrl-C on the terminal then reaches only the
	// benchmark, which finishes the current step and cleans up, instead of
	// killing a runtime half-way through create or delete.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	err := cmd.Run()
	if err != nil {
		out, _ := os.ReadFile(rt.log.Name())
		return cmd.ProcessState, fmt.Errorf("%s %s: %v\n%s", rt.name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return cmd.ProcessState, nil
}

// lifecycle runs create → start → poll state until stopped → delete and
// times each step. On failure it force-deletes the container right away so
// a broken runtime does not pile up containers.
func (rt *runtime) lifecycle(o *options, id string) (sample, error) {
	var s sample
	t0 := time.Now()
	rt.live[id] = true // create may fail half-way and still leave state
	ps, err := rt.exec(nil, "create", "--bundle", rt.bundle, id)
	if err != nil {
		rt.forceDelete(id)
		return s, err
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		s.createMaxRSSKiB = ru.Maxrss // Linux reports kilobytes
	}
	t1 := time.Now()
	if _, err := rt.exec(nil, "start", id); err != nil {
		rt.forceDelete(id)
		return s, err
	}
	t2 := time.Now()
	if s.polls, err = rt.waitStopped(o, id); err != nil {
		rt.forceDelete(id)
		return s, err
	}
	t3 := time.Now()
	if _, err := rt.exec(nil, "delete", id); err != nil {
		rt.forceDelete(id)
		return s, err
	}
	delete(rt.live, id)
	t4 := time.Now()
	s.create, s.start, s.wait, s.del, s.total = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t4.Sub(t0)
	return s, nil
}

// waitStopped polls `state` until the container is stopped and returns
// how many polls that took.
func (rt *runtime) waitStopped(o *options, id string) (int, error) {
	deadline := time.Now().Add(o.stopTimeout)
	var out bytes.Buffer
	for polls := 1; ; polls++ {
		out.Reset()
		st, err := rt.state(&out, id)
		if err != nil {
			return polls, err
		}
		if st.Status == specs.StateStopped {
			return polls, nil
		}
		if time.Now().After(deadline) {
			return polls, fmt.Errorf("%s: container %s still %q after %v", rt.name, id, st.Status, o.stopTimeout)
		}
		time.Sleep(o.pollInterval)
	}
}

// state runs `state id` with its output in out (a buffer reused by the
// caller) and decodes it.
func (rt *runtime) state(out *bytes.Buffer, id string) (specs.State, error) {
	var st specs.State
	if _, err := rt.exec(out, "state", id); err != nil {
		return st, err
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return st, fmt.Errorf("%s state %s: bad JSON: %v: %q", rt.name, id, err, out.String())
	}
	return st, nil
}

func (rt *runtime) forceDelete(id string) {
	if _, err := rt.exec(nil, "delete", "--force", id); err == nil {
		delete(rt.live, id)
	}
}

// cleanup force-deletes every container that may still exist. If the
// runtime forgot one, its state directory is still under the temp dir
// and goes with it; the reason is printed so leaks are noticed.
func (rt *runtime) cleanup() {
	for id := range rt.live {
		if err := rt.ensureGone(id); err != nil {
			fmt.Fprintf(os.Stderr, "bench: could not delete %s container %s: %v\n", rt.name, id, err)
		}
	}
	if rt.log != nil {
		rt.log.Close()
	}
}

// ensureGone force-deletes id. A container that does not exist (create
// failed early, or `run` deleted it) makes delete fail; that is only an
// error if the runtime still lists the id.
func (rt *runtime) ensureGone(id string) error {
	_, err := rt.exec(nil, "delete", "--force", id)
	if err == nil {
		delete(rt.live, id)
		return nil
	}
	var out bytes.Buffer
	if _, lerr := rt.exec(&out, "list", "-q"); lerr != nil {
		return fmt.Errorf("%v; and then: %v", err, lerr)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.TrimSpace(line) == id {
			return err
		}
	}
	delete(rt.live, id)
	return nil
}

// sweepCgroups removes cgroup directories named after our container ids.
// Runtimes create those themselves, and some (crun 1.8 after a failed
// create) leave them behind; in -crun-private-cgroup2 mode they would
// otherwise stay in the host's real cgroup2 hierarchy. Only directories on
// a cgroup filesystem are touched, and rmdir there cannot remove a cgroup
// that still has processes or children.
func sweepCgroups(prefix string) {
	var found []string
	_ = filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable subtree holds none of ours
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), prefix) {
			found = append(found, p)
		}
		return nil
	})
	// Children before parents, since rmdir needs an empty cgroup.
	sort.Slice(found, func(i, j int) bool {
		return strings.Count(found[i], "/") > strings.Count(found[j], "/")
	})
	for _, p := range found {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil ||
			(st.Type != unix.CGROUP_SUPER_MAGIC && st.Type != unix.CGROUP2_SUPER_MAGIC) {
			continue
		}
		if err := unix.Rmdir(p); err != nil {
			fmt.Fprintf(os.Stderr, "bench: leftover cgroup %s: %v\n", p, err)
		} else {
			fmt.Fprintf(os.Stderr, "bench: removed cgroup %s that a runtime left behind\n", p)
		}
	}
}

// benchSpec is the bundle config every runtime gets: the defaults of a
// freshly generated OCI bundle running /bin/true, without cgroup mount or
// cgroupsPath, so the runtimes choose their own default cgroup placement.
//
// Unlike `runc spec` it has no linux.resources.devices deny-all rule. On
// cgroup2, crun 1.8 raises RLIMIT_MEMLOCK to infinity before loading its
// eBPF device program; without CAP_SYS_RESOURCE (missing in this
// sandbox's bounding set) that fails, and crun only tolerates the failure
// when the config has no deny rule. Each runtime still applies its
// built-in default device rules, so the configs stay comparable.
func benchSpec(rootfs string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		// The config only uses 1.0 features, so it declares 1.0.2: crun
		// 1.8 rejects any ociVersion outside 1.0 ("unknown version
		// specified"), and a 1.3 runtime must accept older 1.x bundles.
		Version: "1.0.2",
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"/bin/true"},
			Env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfs, Readonly: true},
		Hostname: "nookbench",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.NetworkNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// buildRootfs makes a minimal busybox rootfs. busybox must be static
// because the rootfs has no dynamic loader or libc.
func buildRootfs(dir, busybox string) error {
	if err := requireStatic(busybox); err != nil {
		return err
	}
	for _, d := range []string{"bin", "etc", "proc", "dev", "sys", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	// MkdirAll is subject to the umask; /tmp must be world-writable+sticky.
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o777|os.ModeSticky); err != nil {
		return err
	}
	if err := copyFile(busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", busybox, err)
	}
	for _, name := range strings.Fields(string(list)) {
		if name == "busybox" || strings.Contains(name, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", name)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\ntty:x:5:\nnobody:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w (install busybox-static)", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; install busybox-static", path)
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func runtimeVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// sanitize keeps a runtime name usable inside container ids and paths.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

// percentile interpolates linearly between the closest ranks; with the
// small sample counts used here that is steadier than nearest-rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := p * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

type dist struct {
	Median float64 `json:"median"`
	P10    float64 `json:"p10"`
	P90    float64 `json:"p90"`
}

func distOf(samples []sample, get func(sample) float64) *dist {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = get(s)
	}
	sort.Float64s(v)
	return &dist{Median: percentile(v, 0.5), P10: percentile(v, 0.1), P90: percentile(v, 0.9)}
}

type runtimeResult struct {
	Name            string  `json:"name"`
	Path            string  `json:"path"`
	Version         string  `json:"version,omitempty"`
	Skipped         string  `json:"skipped,omitempty"`
	OK              int     `json:"ok"`
	Failed          int     `json:"failed"`
	FirstError      string  `json:"first_error,omitempty"`
	LifecycleMs     *dist   `json:"lifecycle_ms,omitempty"`
	CreateMs        *dist   `json:"create_ms,omitempty"`
	StartMs         *dist   `json:"start_ms,omitempty"`
	WaitMs          *dist   `json:"wait_stopped_ms,omitempty"`
	DeleteMs        *dist   `json:"delete_ms,omitempty"`
	StatePolls      float64 `json:"state_polls_median,omitempty"`
	CreateMaxRSSMiB *dist   `json:"create_maxrss_mib,omitempty"`
}

type ratio struct {
	Runtime         string  `json:"runtime"`
	Baseline        string  `json:"baseline"`
	LifecycleMedian float64 `json:"lifecycle_median"`
	CreateMaxRSS    float64 `json:"create_maxrss"`
	CreateMedian    float64 `json:"create_median"`
	StartMedian     float64 `json:"start_median"`
	WaitMedian      float64 `json:"wait_stopped_median"`
	DeleteMedian    float64 `json:"delete_median"`
}

type results struct {
	N                int             `json:"n"`
	Warmup           int             `json:"warmup"`
	Rootfs           string          `json:"rootfs"`
	Kernel           string          `json:"kernel"`
	PrivateCgroup2   bool            `json:"private_cgroup2"`
	Baseline         string          `json:"baseline"`
	Runtimes         []runtimeResult `json:"runtimes"`
	Ratios           []ratio         `json:"ratios"`
	MaxRatio         float64         `json:"max_ratio,omitempty"`
	MaxRatioExceeded bool            `json:"max_ratio_exceeded"`
	BaselineRan      bool            `json:"baseline_ran"`
	// Commands and Parked are filled by commandsReport and parkedReport.
	Commands *commandsResult `json:"commands,omitempty"`
	Parked   *parkedResult   `json:"parked,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// div returns 0 instead of NaN or Inf, which encoding/json cannot encode.
func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// report prints the lifecycle table and ratios and returns them for the
// JSON output, with the exit code they call for.
func report(o *options, rootfs string, rts []*runtime) (results, int) {
	res := results{N: o.n, Warmup: o.warmup, Rootfs: rootfs, Kernel: kernelRelease(),
		PrivateCgroup2: o.privCgroup2, Baseline: o.baseline, MaxRatio: o.maxRatio, Ratios: []ratio{}}
	byName := map[string]*runtimeResult{}
	for _, rt := range rts {
		r := runtimeResult{Name: rt.name, Path: rt.path, Version: rt.version, Skipped: rt.skipped,
			OK: len(rt.samples), Failed: rt.failures, FirstError: rt.firstErr}
		if len(rt.samples) > 0 {
			r.LifecycleMs = distOf(rt.samples, func(s sample) float64 { return ms(s.total) })
			r.CreateMs = distOf(rt.samples, func(s sample) float64 { return ms(s.create) })
			r.StartMs = distOf(rt.samples, func(s sample) float64 { return ms(s.start) })
			r.WaitMs = distOf(rt.samples, func(s sample) float64 { return ms(s.wait) })
			r.DeleteMs = distOf(rt.samples, func(s sample) float64 { return ms(s.del) })
			r.StatePolls = distOf(rt.samples, func(s sample) float64 { return float64(s.polls) }).Median
			r.CreateMaxRSSMiB = distOf(rt.samples, func(s sample) float64 { return float64(s.createMaxRSSKiB) / 1024 })
		}
		res.Runtimes = append(res.Runtimes, r)
	}
	for i := range res.Runtimes {
		byName[res.Runtimes[i].Name] = &res.Runtimes[i]
	}

	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runtime\tok/n\tlifecycle median ms\tp10 ms\tp90 ms\tcreate ms\tstart ms\twait-stopped ms\tdelete ms\tstate polls\tcreate maxrss MiB\t")
	for _, r := range res.Runtimes {
		if r.OK == 0 {
			fmt.Fprintf(tw, "%s\t%d/%d\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\n", r.Name, r.OK, o.n)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.1f\t\n",
			r.Name, r.OK, o.n, r.LifecycleMs.Median, r.LifecycleMs.P10, r.LifecycleMs.P90,
			r.CreateMs.Median, r.StartMs.Median, r.WaitMs.Median, r.DeleteMs.Median,
			r.StatePolls, r.CreateMaxRSSMiB.Median)
	}
	tw.Flush()
	fmt.Println("(create/start/wait-stopped/delete are medians of each step; wait-stopped includes the 'state' polls)")
	fmt.Println()

	base := byName[o.baseline]
	res.BaselineRan = base != nil && base.OK > 0
	code := 0
	if !res.BaselineRan {
		fmt.Printf("baseline %s did not run; no ratios\n", o.baseline)
		code = 1
	} else {
		for _, r := range res.Runtimes {
			if r.Name == o.baseline || r.OK == 0 {
				continue
			}
			q := ratio{Runtime: r.Name, Baseline: o.baseline,
				LifecycleMedian: div(r.LifecycleMs.Median, base.LifecycleMs.Median),
				CreateMaxRSS:    div(r.CreateMaxRSSMiB.Median, base.CreateMaxRSSMiB.Median),
				CreateMedian:    div(r.CreateMs.Median, base.CreateMs.Median),
				StartMedian:     div(r.StartMs.Median, base.StartMs.Median),
				WaitMedian:      div(r.WaitMs.Median, base.WaitMs.Median),
				DeleteMedian:    div(r.DeleteMs.Median, base.DeleteMs.Median),
			}
			res.Ratios = append(res.Ratios, q)
			fmt.Printf("ratio %s/%s lifecycle median: %.2f\n", q.Runtime, q.Baseline, q.LifecycleMedian)
			fmt.Printf("ratio %s/%s create maxrss: %.2f\n", q.Runtime, q.Baseline, q.CreateMaxRSS)
			fmt.Printf("ratio %s/%s steps (create start wait-stopped delete): %.2f %.2f %.2f %.2f\n",
				q.Runtime, q.Baseline, q.CreateMedian, q.StartMedian, q.WaitMedian, q.DeleteMedian)
			if o.maxRatio > 0 && r.Name == "nook" && q.LifecycleMedian > o.maxRatio {
				res.MaxRatioExceeded = true
				fmt.Printf("FAIL: nook/%s lifecycle median %.2f exceeds -max-ratio %.2f\n", o.baseline, q.LifecycleMedian, o.maxRatio)
				code = 1
			}
		}
	}
	// crun is the speed nook aims at: say how far off it is.
	if nook, crun := byName["nook"], byName["crun"]; o.baseline != "crun" && nook != nil && crun != nil && nook.OK > 0 && crun.OK > 0 {
		fmt.Printf("ratio nook/crun lifecycle median: %.2f; steps (create start wait-stopped delete): %.2f %.2f %.2f %.2f\n",
			div(nook.LifecycleMs.Median, crun.LifecycleMs.Median), div(nook.CreateMs.Median, crun.CreateMs.Median),
			div(nook.StartMs.Median, crun.StartMs.Median), div(nook.WaitMs.Median, crun.WaitMs.Median),
			div(nook.DeleteMs.Median, crun.DeleteMs.Median))
	}
	return res, code
}

// eachRatio prints the ratio line of every runtime in names against the
// baseline and returns what line made of them, then prints nook against
// crun (when crun is not the baseline, and both ran: line returns nil for
// a pair it has no numbers for).
func eachRatio[Q any](names []string, baseline string, line func(name, base string) *Q) []Q {
	var out []Q
	for _, n := range names {
		if n == baseline {
			continue
		}
		if q := line(n, baseline); q != nil {
			out = append(out, *q)
		}
	}
	if baseline != "crun" {
		line("nook", "crun")
	}
	return out
}
