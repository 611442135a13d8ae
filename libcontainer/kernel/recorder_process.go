package kernel

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/rlimits"
)

// The Recorder as a Process: the init's steps are recorded as Calls after
// the rootfs ones, none is made. Reads that decide a step answer from the
// tree (ReadFile, Getwd, and Kernel's Stat and OpenFile: the container's
// /etc/passwd is the rootfs's) or from what the Recorder was told
// (SetInUserNS) and what the recorded steps changed (the permitted set).
//
// How each step is recorded (Path, Data and Flags of its Call):
//
//	unshare                      Flags: the CLONE_* flags
//	loopback_up, setsid
//	sethostname, setdomainname   Path: the name
//	keyctl_join_session_keyring  Path: the keyring's name
//	setgroups                    Path: the gids, comma-separated
//	setresgid, setresuid         Path: the id (real, effective and saved)
//	prctl                        Path: the option (PR_SET_KEEPCAPS), Data: arg2
//	drop_bounding                Flags: the bounding set kept, Data: its names
//	capset                       Data: CapsetData of the sets
//	cap_ambient                  Flags: the ambient set raised, Data: its names
//	prlimit                      Path: RLIMIT_*, Data: soft:hard
//	apparmor_exec                Path: the profile
//	selinux_exec                 Path: the label ("" too: the call is made)
//	close_range                  Path: first fd, Data: last fd, Flags: flags
//	seccomp                      Data: "listener" when the filter needs one
//	poll                         Path: the file's name (the start barrier), Data: the timeout
//	park                         Path: the file's name (the start barrier)
//	read                         Path: the file's name (the start barrier)
//	execve                       Path: the path, Data: argv and env (LastExec)
//	parker                       Path: the start barrier, Data: "restore nofile" when asked to
//	execve_parker                Path: the program's path, Data: argv and env (LastExec)

// processState is what the init's steps changed, or scripted answers.
type processState struct {
	failOnce  map[string]error
	permitted caps.Set
	inUserNS  bool
	exec      *ExecCall
	// startLate: WaitReadable times out (`nook start` comes late).
	startLate bool
	// parker: the binary embeds the parked init's program (HasParker).
	parker bool
}

// ExecCall is the execve a Recorder was asked for.
type ExecCall struct {
	Path      string
	Argv, Env []string
}

// allCaps is every capability this nook knows: a root init's permitted set.
func allCaps() caps.Set {
	var s caps.Set
	for _, n := range caps.Names() {
		if c, ok := caps.Parse(n); ok {
			s = s.With(c)
		}
	}
	return s
}

func newProcessState() processState {
	return processState{failOnce: map[string]error{}, permitted: allCaps()}
}

// FailOnce is Fail for the next such call only: a chdir refused as root
// and allowed as the user, say.
func (r *Recorder) FailOnce(op, path string, err error) { r.proc.failOnce[op+" "+path] = err }

// SetInUserNS sets what RunningInUserNS answers (false by default).
func (r *Recorder) SetInUserNS(in bool) { r.proc.inUserNS = in }

// SetStartLate makes WaitReadable time out, as for a container left in
// created longer than the init waits before it settles down (by default
// the start barrier is readable at once).
func (r *Recorder) SetStartLate(late bool) { r.proc.startLate = late }

// SetParker sets what HasParker answers (false by default: a binary
// built without the parked init's program).
func (r *Recorder) SetParker(has bool) { r.proc.parker = has }

// SetPermitted sets the permitted capabilities CurrentPermitted answers
// until a capset changes them (every capability by default, as a root
// init has).
func (r *Recorder) SetPermitted(s caps.Set) { r.proc.permitted = s }

// InRootfs makes the rootfs the root and working directory, as a finished
// rootfs.Setup leaves them, without recording a call: for tests of what
// the init does after the set-up.
func (r *Recorder) InRootfs() { r.root, r.cwd = r.rootfs, r.rootfs }

// LastExec is the last execve recorded.
func (r *Recorder) LastExec() (ExecCall, bool) {
	if r.proc.exec == nil {
		return ExecCall{}, false
	}
	return *r.proc.exec, true
}

// CapsetData is how a capset Call shows the sets applied.
func CapsetData(s caps.Sets) string {
	return fmt.Sprintf("effective %#x permitted %#x inheritable %#x", uint64(s.Effective), uint64(s.Permitted), uint64(s.Inheritable))
}

func (r *Recorder) Unshare(flags int) error {
	return r.record(Call{Op: "unshare", Flags: uint64(flags)})
}

func (r *Recorder) LoopbackUp() error { return r.record(Call{Op: "loopback_up"}) }

func (r *Recorder) Setsid() (int, error) {
	if err := r.record(Call{Op: "setsid"}); err != nil {
		return -1, err
	}
	return os.Getpid(), nil
}

func (r *Recorder) Sethostname(name []byte) error {
	return r.record(Call{Op: "sethostname", Path: string(name)})
}

func (r *Recorder) Setdomainname(name []byte) error {
	return r.record(Call{Op: "setdomainname", Path: string(name)})
}

func (r *Recorder) KeyctlJoinSessionKeyring(name string) (int, error) {
	if err := r.record(Call{Op: "keyctl_join_session_keyring", Path: name}); err != nil {
		return -1, err
	}
	return 1, nil
}

func (r *Recorder) ReadFile(path string) ([]byte, error) { return os.ReadFile(r.real(path)) }

// Getwd answers as the kernel does: the working directory as seen from the
// root, or ENOENT when it is outside the root.
func (r *Recorder) Getwd() (string, error) {
	if !within(r.cwd, r.root) {
		return "", unix.ENOENT
	}
	return "/" + strings.TrimPrefix(strings.TrimPrefix(r.cwd, r.root), "/"), nil
}

func (r *Recorder) RunningInUserNS() bool { return r.proc.inUserNS }

func (r *Recorder) Setgroups(gids []uint32) error {
	ids := make([]string, len(gids))
	for i, g := range gids {
		ids[i] = strconv.FormatUint(uint64(g), 10)
	}
	return r.record(Call{Op: "setgroups", Path: strings.Join(ids, ",")})
}

func (r *Recorder) Setresgid(gid uint32) error {
	return r.record(Call{Op: "setresgid", Path: strconv.FormatUint(uint64(gid), 10)})
}

func (r *Recorder) Setresuid(uid uint32) error {
	return r.record(Call{Op: "setresuid", Path: strconv.FormatUint(uint64(uid), 10)})
}

// prctlNames names the options the init uses.
var prctlNames = map[int]string{
	unix.PR_SET_KEEPCAPS:        "PR_SET_KEEPCAPS",
	unix.PR_SET_NO_NEW_PRIVS:    "PR_SET_NO_NEW_PRIVS",
	unix.PR_SET_TIMERSLACK:      "PR_SET_TIMERSLACK",
	unix.PR_SET_PDEATHSIG:       "PR_SET_PDEATHSIG",
	unix.PR_SET_DUMPABLE:        "PR_SET_DUMPABLE",
	unix.PR_CAP_AMBIENT:         "PR_CAP_AMBIENT",
	unix.PR_CAPBSET_DROP:        "PR_CAPBSET_DROP",
	unix.PR_SET_CHILD_SUBREAPER: "PR_SET_CHILD_SUBREAPER",
}

func (r *Recorder) Prctl(option int, arg2, arg3, arg4, arg5 uintptr) error {
	name, ok := prctlNames[option]
	if !ok {
		name = "option " + strconv.Itoa(option)
	}
	return r.record(Call{Op: "prctl", Path: name, Data: strconv.FormatUint(uint64(arg2), 10)})
}

// DropUnavailableCaps keeps every capability: the Recorder's bounding set
// is full.
func (r *Recorder) DropUnavailableCaps(s caps.Sets) (caps.Sets, []string) { return s, nil }

func (r *Recorder) DropBounding(keep caps.Sets) error {
	return r.record(Call{Op: "drop_bounding", Flags: uint64(keep.Bounding), Data: keep.Bounding.String()})
}

func (r *Recorder) ApplyCaps(s caps.Sets) error {
	if err := r.record(Call{Op: "capset", Data: CapsetData(s)}); err != nil {
		return err
	}
	r.proc.permitted = s.Permitted
	return nil
}

func (r *Recorder) ApplyAmbient(s caps.Sets) error {
	return r.record(Call{Op: "cap_ambient", Flags: uint64(s.Ambient), Data: s.Ambient.String()})
}

func (r *Recorder) CurrentPermitted() (caps.Set, error) { return r.proc.permitted, nil }

func (r *Recorder) ApplyRlimits(limits []rlimits.Rlimit) error {
	for _, l := range limits {
		if err := r.record(Call{Op: "prlimit", Path: l.Name, Data: fmt.Sprintf("%d:%d", l.Soft, l.Hard)}); err != nil {
			return err
		}
	}
	return nil
}

func (r *Recorder) ApplyApparmorProfile(procFd int, name string) error {
	return r.record(Call{Op: "apparmor_exec", Path: name})
}

func (r *Recorder) SetSelinuxExecLabel(label string) error {
	return r.record(Call{Op: "selinux_exec", Path: label})
}

func (r *Recorder) CloseRange(first, last uint, flags uint) error {
	return r.record(Call{Op: "close_range", Path: strconv.FormatUint(uint64(first), 10),
		Data: strconv.FormatUint(uint64(last), 10), Flags: uint64(flags)})
}

// InstallSeccomp records the load; the filter is not installed, and a
// listener is neither made nor sent.
func (r *Recorder) InstallSeccomp(f SeccompFilter, send func(listenerFd int) error) error {
	c := Call{Op: "seccomp"}
	if f.NeedsListener() {
		c.Data = "listener"
	}
	return r.record(c)
}

// Read reads nothing: the start barrier is passed at once.
func (r *Recorder) WaitReadable(f *os.File, timeout time.Duration) (bool, error) {
	if err := r.record(Call{Op: "poll", Path: f.Name(), Data: timeout.String()}); err != nil {
		return false, err
	}
	return !r.proc.startLate, nil
}

func (r *Recorder) ParkUntilReadable(f *os.File) error {
	return r.record(Call{Op: "park", Path: f.Name()})
}

func (r *Recorder) HasParker() bool { return r.proc.parker }

// PrepareParker records the step and returns /dev/null as the program.
func (r *Recorder) PrepareParker(barrier *os.File, restoreNofile bool) (*os.File, error) {
	c := Call{Op: "parker", Path: barrier.Name()}
	if restoreNofile {
		c.Data = "restore nofile"
	}
	if err := r.record(c); err != nil {
		return nil, err
	}
	fd, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "memfd:nook-parked"), nil
}

// ExecParker records the exec of the parker, which is to exec path, and
// returns as Exec does.
func (r *Recorder) ExecParker(program, barrier *os.File, path string, argv, env []string) error {
	defer program.Close()
	r.proc.exec = &ExecCall{Path: path, Argv: argv, Env: env}
	return r.record(Call{Op: "execve_parker", Path: path, Data: fmt.Sprintf("argv %q env %q", argv, env)})
}

func (r *Recorder) Read(f *os.File, p []byte) (int, error) {
	if err := r.record(Call{Op: "read", Path: f.Name()}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Exec records the execve and returns, as if it had failed with no error.
func (r *Recorder) Exec(path string, argv, env []string) error {
	r.proc.exec = &ExecCall{Path: path, Argv: argv, Env: env}
	return r.record(Call{Op: "execve", Path: path, Data: fmt.Sprintf("argv %q env %q", argv, env)})
}

var _ Process = (*Recorder)(nil)
