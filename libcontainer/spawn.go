package libcontainer

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/initproto"
	"github.com/nookrt/nook/libcontainer/sched"
	"github.com/nookrt/nook/startup"
)

// Stage0 is nsenter's first stage, started before nook reads the config:
// its exec and C start-up then overlap nook's own work (reading and
// checking the config, making the state directory, dialing the console
// socket). It waits for the Bootstrap message and needs nothing else of
// the config: the start barrier and the sockets it hands to the init go
// with the Config message, later.
//
// Whoever starts one hands it to Create (CreateOptions.Stage0) and calls
// Discard when done: Discard kills and reaps it unless Create took it.
type Stage0 struct {
	p         *initProcess
	inherited int
}

// startStage0 starts stage 0. The first `inherited` fds from 3 up
// (LISTEN_FDS, --preserve-fds) are passed on at their numbers; debug, if
// set, hears of what a failed command kills.
func startStage0(inherited int, debug func(format string, args ...any)) (*Stage0, error) {
	p, err := spawnStage0(inherited, debug)
	if err != nil {
		return nil, err
	}
	return &Stage0{p: p, inherited: inherited}, nil
}

// Discard kills and reaps stage 0 if nothing took it.
func (s *Stage0) Discard() {
	if s != nil && s.p != nil {
		s.p.kill()
		s.p = nil
	}
}

// Bootstrap sends stage 0 the namespaces ahead of the rest of the config
// (view: spec.Config.BootstrapView), so that the init is cloned and its Go
// runtime starts while nook decodes and checks the whole config; a config
// that then fails is refused all the same, and Discard kills the init. It
// is only a head start: if it cannot be sent, stage 0 is dropped and Create
// starts and bootstraps a new one from the whole config, so any error is
// reported where it would have been.
func (s *Stage0) Bootstrap(view *specs.Spec) {
	if s == nil || s.p == nil || s.p.bootstrapped {
		return
	}
	if err := s.p.bootstrap(view); err != nil {
		s.Discard()
	}
}

// take returns the stage 0 started for the same inherited fds (it may have
// had its Bootstrap: p.bootstrapped), or starts one now (nil s: the caller
// started none).
func (s *Stage0) take(inherited int, debug func(format string, args ...any)) (*initProcess, error) {
	if s == nil || s.p == nil {
		return spawnStage0(inherited, debug)
	}
	p := s.p
	s.p = nil
	if s.inherited != inherited {
		p.kill()
		return spawnStage0(inherited, debug)
	}
	return p, nil
}

// spawnStage0 execs the protected nook binary as nsenter's stage 0, with
// the init socket at fd 3+inherited.
func spawnStage0(inherited int, debug func(format string, args ...any)) (*initProcess, error) {
	// Invariant 3 (CVE-2024-21626): an fd nook inherited from its caller
	// without close-on-exec would reach the init, where a process.cwd of
	// /proc/self/fd/N could name a host directory. Only the ones asked for
	// (LISTEN_FDS, --preserve-fds) cross; the fork passes its own.
	if err := unix.CloseRange(uint(3+inherited), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("close_range: %w", err)
	}
	self, err := protectedSelf()
	if err != nil {
		return nil, fmt.Errorf("protect nook binary: %w", err)
	}
	defer self.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "init-parent")
	childSock := os.NewFile(uintptr(fds[1]), "init-child")
	defer childSock.Close()

	// Child fd i is files[i]: stdio, the inherited fds at their numbers,
	// then the init socket.
	files := []uintptr{0, 1, 2}
	for i := 0; i < inherited; i++ {
		files = append(files, uintptr(3+i))
	}
	files = append(files, childSock.Fd())
	sockFd := 3 + inherited
	// The exec goes through /proc/self/fd/N, so N must be above the fds
	// the child's set-up replaces (0..sockFd).
	selfFd := int(self.Fd())
	if selfFd <= sockFd {
		fd, err := unix.FcntlInt(self.Fd(), unix.F_DUPFD_CLOEXEC, sockFd+1)
		if err != nil {
			parentSock.Close()
			return nil, fmt.Errorf("protect nook binary: %w", err)
		}
		defer unix.Close(fd)
		selfFd = fd
	}
	// syscall.ForkExec rather than os/exec: os.StartProcess first probes
	// pidfd support with a throw-away clone, and nook reaps stage 0 itself.
	pid, err := syscall.ForkExec("/proc/self/fd/"+strconv.Itoa(selfFd), []string{"nook", "init"}, &syscall.ProcAttr{
		Dir:   "/",
		Env:   stage0Env(sockFd),
		Files: files,
	})
	if err != nil {
		parentSock.Close()
		return nil, fmt.Errorf("start init: %w", err)
	}
	return &initProcess{stage0: pid, sock: parentSock, debug: debug}, nil
}

// stage0Env is the whole environment of stage 0 and the init: one P (the
// init runs on one locked thread, and every extra P costs it threads and
// page faults at start-up), and the timer slack of create's caller, which
// the container's process gets back (see nsenter/timerslack.c). The user
// process gets process.env, never this environment.
func stage0Env(sockFd int) []string {
	env := []string{initproto.InitPipeEnv + "=" + strconv.Itoa(sockFd), "GOMAXPROCS=1"}
	if slack := startup.CallerTimerSlack(); slack > 0 {
		env = append(env, startup.CallerTimerSlackEnv+"="+strconv.FormatUint(slack, 10))
	}
	return env
}

// reapStage0 waits for nsenter's stage 0, which exits once it has sent
// InitPid (or an error).
func (p *initProcess) reapStage0() error {
	if p.stage0 == 0 {
		return nil
	}
	var ws unix.WaitStatus
	_, err := unix.Wait4(p.stage0, &ws, 0, nil)
	for err == unix.EINTR {
		_, err = unix.Wait4(p.stage0, &ws, 0, nil)
	}
	p.stage0 = 0
	switch {
	case err != nil:
		return fmt.Errorf("nsenter stage 0: wait: %w", err)
	case ws.Signaled():
		return fmt.Errorf("nsenter stage 0: killed by %v", ws.Signal())
	case ws.ExitStatus() != 0:
		return fmt.Errorf("nsenter stage 0: exit status %d", ws.ExitStatus())
	}
	return nil
}

// sendConfig sends the Config message with the files the init takes over
// (the start barrier, the console and seccomp sockets, idmap namespaces):
// cfg names each by its slot, which the init resolves to its own fd.
func (p *initProcess) sendConfig(cfg *initproto.InitConfig, warn func(string)) error {
	var files []*os.File
	if p.handoff != nil {
		var err error
		if files, err = p.handoff.files(cfg); err != nil {
			return err
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode %s: %w", initproto.Config, err)
	}
	return p.sent(initproto.SendFiles(p.sock, initproto.Config, b, files), warn)
}

// setInitialAffinity puts stage 0 on the CPUs of list
// (process.execCPUAffinity.initial; "" leaves it alone). Stage 0 is
// single-threaded C until it clones the process, which inherits the mask:
// the initial CPUs apply from the process's first instruction on.
func (p *initProcess) setInitialAffinity(list string) error {
	if list == "" {
		return nil
	}
	mask, err := sched.ParseCPUMask(list)
	if err == nil {
		err = mask.Apply(p.stage0)
	}
	if err != nil {
		return fmt.Errorf("process.execCPUAffinity.initial: %w", err)
	}
	return nil
}

func (p *initProcess) sendBootstrap(payload []byte) error {
	if err := initproto.Send(p.sock, initproto.Bootstrap, payload); err != nil {
		return err
	}
	p.bootstrapped = true
	return nil
}

// settle learns the init's pid if stage 0 may have cloned it unseen: after
// Bootstrap, stage 0 sends InitPid or Error, or dies, on its own, unless
// it waits for UsernsMapped (before any clone). One stuck before the clone
// (opening a namespace path that never opens) is given a second.
func (p *initProcess) settle() {
	if !p.bootstrapped || p.pid != 0 || p.awaitsMapping {
		return
	}
	fds := []unix.PollFd{{Fd: int32(p.sock.Fd()), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 1000)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		t, payload, err := initproto.Recv(p.sock)
		if err != nil {
			return
		}
		switch t {
		case initproto.Warning:
			continue
		case initproto.InitPid:
			if pid, err := initproto.U32(payload); err == nil {
				p.pid = int(pid)
			}
		}
		return // InitPid, Error, or UsernsReady (nothing cloned yet)
	}
}

// interrupt wakes any read or write on the init socket at once, for a
// create that was told to stop: shutdown ends a blocked read, where close
// would not. It may run on another goroutine than the conversation; the
// socket's own reference count keeps the fd valid while it does.
func (p *initProcess) interrupt() {
	rc, err := p.sock.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RDWR) })
}

// kill tears a half-made init down: SIGKILL, then reap what is ours to reap.
// Once: a second call must not signal a pid that may have been reused.
func (p *initProcess) kill() {
	if p.killed {
		return
	}
	p.killed = true
	p.settle()
	p.sock.Close()
	if p.pid > 0 {
		unix.Kill(p.pid, unix.SIGKILL)
		// The init is our child (CLONE_PARENT): reap it.
		var ws unix.WaitStatus
		unix.Wait4(p.pid, &ws, 0, nil)
		if p.debug != nil {
			p.debug("killed and reaped the init, pid %d", p.pid)
		}
	}
	if pid := p.stage0; pid != 0 {
		unix.Kill(pid, unix.SIGKILL)
		p.reapStage0()
		if p.debug != nil {
			p.debug("killed and reaped nsenter stage 0, pid %d", pid)
		}
	}
}
