// Package checkpoint saves a running container with CRIU and brings it back
// (`nook checkpoint`, `nook restore`), the way runc does: CRIU is driven in
// swrk mode over a socketpair with its RPC protocol (go-criu's messages),
// never through its command line or output.
package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/startup"
)

// minVersion is CRIU 3.0 (the VERSION request is that old); older ones are
// refused with a clear message.
const minVersion = 30000

// Criu names the CRIU binary nook drives (--criu).
type Criu struct {
	// Path is the binary: a bare name is looked up in PATH.
	Path string
	// Debug, if set, receives what is sent to CRIU and what comes back.
	Debug func(format string, args ...any)
}

func (c Criu) debugf(format string, args ...any) {
	if c.Debug != nil {
		c.Debug(format, args...)
	}
}

// binary resolves Path, with an error that says what to do when CRIU is
// missing.
func (c Criu) binary() (string, error) {
	path := c.Path
	if path == "" {
		path = "criu"
	}
	bin, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("criu binary %q not found (checkpoint and restore need CRIU 3.0 or later: install it or give nook --criu PATH): %w", path, err)
	}
	return bin, nil
}

// swrk is one `criu swrk` process and the client end of its socket.
type swrk struct {
	cmd  *exec.Cmd
	conn *net.UnixConn
	done bool // the process was waited for
}

// swrkIO is what the CRIU process gets besides its socket: the stdio it
// passes on to restored processes (inherit_fd), and extra files from fd 4
// up (namespaces it must join).
type swrkIO struct {
	stdin, stdout, stderr *os.File
	extra                 []*os.File
	// privateMounts starts CRIU in a mount namespace of its own (a
	// private copy of nook's): a mount nook made for it there is gone
	// with CRIU, whatever becomes of nook.
	privateMounts bool
}

// extraFd is the fd number CRIU sees files[i] of swrkIO.extra at: 0-2 are
// stdio, 3 the socket.
func extraFd(i int) int32 { return int32(4 + i) }

// start runs `criu swrk 3` with the server end of a SEQPACKET socketpair as
// its fd 3.
func (c Criu) start(io swrkIO) (*swrk, error) {
	bin, err := c.binary()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("criu socketpair: %w", err)
	}
	client := os.NewFile(uintptr(fds[0]), "criu-client")
	server := os.NewFile(uintptr(fds[1]), "criu-server")
	defer server.Close()
	fc, err := net.FileConn(client)
	client.Close()
	if err != nil {
		server.Close()
		return nil, fmt.Errorf("criu socket: %w", err)
	}
	cmd := exec.Command(bin, "swrk", "3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.stdin, io.stdout, io.stderr
	cmd.ExtraFiles = append([]*os.File{server}, io.extra...)
	// A CRIU whose nook is gone has no one to answer (a lazy dump would
	// keep the container stopped, serving pages): it dies with nook.
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if io.privateMounts {
		// os/exec also makes the copy's "/" recursively private.
		cmd.SysProcAttr.Unshareflags = unix.CLONE_NEWNS
	}
	// Nothing nook starts keeps nook's raised timer slack: CRIU's would
	// pass to the processes it restores.
	if err := startup.WithCallerTimerSlack(cmd.Start); err != nil {
		fc.Close()
		return nil, fmt.Errorf("start %s swrk: %w", bin, err)
	}
	c.debugf("criu: started %s swrk as pid %d", bin, cmd.Process.Pid)
	return &swrk{cmd: cmd, conn: fc.(*net.UnixConn)}, nil
}

// pid is the CRIU process's.
func (s *swrk) pid() int { return s.cmd.Process.Pid }

// notifyFunc handles one notification (a "script" CRIU runs at a step of
// the dump or restore); oob holds any fd CRIU sent with it. An error
// stops CRIU.
type notifyFunc func(n *rpc.CriuNotify, oob []byte) error

// call sends req and returns CRIU's final answer, handling the
// notifications that come before it.
func (s *swrk) call(c Criu, req *rpc.CriuReq, notify notifyFunc) (*rpc.CriuResp, error) {
	if err := s.send(req); err != nil {
		return nil, err
	}
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return nil, fmt.Errorf("read from criu: %w", err)
		}
		if n == 0 {
			return nil, errors.New("criu closed its socket without an answer")
		}
		if n == len(buf) {
			return nil, errors.New("criu's answer is larger than the buffer for it")
		}
		resp := &rpc.CriuResp{}
		if err := resp.UnmarshalVT(buf[:n]); err != nil {
			return nil, fmt.Errorf("decode criu's answer: %w", err)
		}
		if !resp.GetSuccess() {
			return resp, respError(resp)
		}
		if resp.GetType() != rpc.CriuReqType_NOTIFY {
			if resp.GetType() != req.GetType() {
				return resp, fmt.Errorf("criu answered %s to a %s request", resp.GetType(), req.GetType())
			}
			return resp, nil
		}
		c.debugf("criu: notify %s (pid %d)", resp.GetNotify().GetScript(), resp.GetNotify().GetPid())
		if notify != nil {
			if err := notify(resp.GetNotify(), oob[:oobn]); err != nil {
				return resp, &notifyError{script: resp.GetNotify().GetScript(), err: err}
			}
		}
		t := rpc.CriuReqType_NOTIFY
		ok := true
		if err := s.send(&rpc.CriuReq{Type: &t, NotifySuccess: &ok}); err != nil {
			return resp, err
		}
	}
}

// notifyError is nook's own failure at one of CRIU's steps (a hook, the
// console socket): CRIU did not fail, and its log has nothing to add.
type notifyError struct {
	script string
	err    error
}

func (e *notifyError) Error() string { return e.err.Error() }
func (e *notifyError) Unwrap() error { return e.err }

func (s *swrk) send(req *rpc.CriuReq) error {
	b, err := req.MarshalVT()
	if err != nil {
		return fmt.Errorf("encode criu request: %w", err)
	}
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("send criu request: %w", err)
	}
	return nil
}

// respError is the error of an unsuccessful answer: CRIU's own message
// when it gives one, else the request type and errno.
func respError(resp *rpc.CriuResp) error {
	msg := strings.TrimSpace(resp.GetCrErrmsg())
	if msg == "" {
		msg = fmt.Sprintf("%s failed", strings.ToLower(resp.GetType().String()))
	}
	if e := resp.GetCrErrno(); e != 0 {
		return fmt.Errorf("%s: %w", msg, unix.Errno(e))
	}
	return errors.New(msg)
}

// finish closes the socket and waits for CRIU to exit; its exit status is
// returned as an error when it failed.
func (s *swrk) finish() error {
	if s.done {
		return nil
	}
	s.done = true
	s.conn.Close()
	err := s.cmd.Wait()
	if err != nil {
		return fmt.Errorf("criu: %w", err)
	}
	return nil
}

// kill stops a CRIU that is still running (a failure half-way) and reaps it.
func (s *swrk) kill() {
	if s.done {
		return
	}
	s.cmd.Process.Kill()
	s.finish()
}

// request runs one request in a CRIU process of its own.
func (c Criu) request(req *rpc.CriuReq) (*rpc.CriuResp, error) {
	s, err := c.start(swrkIO{})
	if err != nil {
		return nil, err
	}
	defer s.kill()
	resp, err := s.call(c, req, nil)
	if err != nil {
		return nil, err
	}
	s.finish()
	return resp, nil
}

// Version asks CRIU its version as runc numbers it: major*10000 +
// minor*100 + sublevel (CRIU 4.2 is 40200).
func (c Criu) Version() (int, error) {
	t := rpc.CriuReqType_VERSION
	resp, err := c.request(&rpc.CriuReq{Type: &t})
	if err != nil {
		return 0, fmt.Errorf("ask criu its version: %w", err)
	}
	v := resp.GetVersion()
	if v == nil {
		return 0, errors.New("ask criu its version: no version in its answer")
	}
	return int(v.GetMajorNumber())*10000 + int(v.GetMinorNumber())*100 + int(v.GetSublevel()), nil
}

// checkVersion refuses a CRIU older than minVersion (or one that does not
// answer: not installed, or broken on this kernel).
func (c Criu) checkVersion() error {
	v, err := c.Version()
	if err != nil {
		return err
	}
	if v < minVersion {
		return fmt.Errorf("criu version %d.%d.%d is too old: checkpoint and restore need CRIU 3.0 or later", v/10000, v/100%100, v%100)
	}
	c.debugf("criu: version %d", v)
	return nil
}

// features asks which of the features in want this CRIU and kernel have.
func (c Criu) features(want *rpc.CriuFeatures) (*rpc.CriuFeatures, error) {
	t := rpc.CriuReqType_FEATURE_CHECK
	resp, err := c.request(&rpc.CriuReq{Type: &t, Features: want})
	if err != nil {
		return nil, fmt.Errorf("criu feature check: %w", err)
	}
	if resp.GetFeatures() == nil {
		return nil, errors.New("criu feature check: no features in its answer")
	}
	return resp.GetFeatures(), nil
}

// logErrors is what CRIU's log says went wrong: its first error line and
// its last one before the closing summary ("Dumping FAILED.", which only
// says that something did), both without their timestamps; last is empty
// when it is the first. CRIU's complaint that it cannot raise
// RLIMIT_NOFILE is passed over: it goes on without (a sandbox may deny it).
func logErrors(path string) (first, last string) {
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "Error (")
		if i < 0 || strings.Contains(line, "RLIMIT_NOFILE") {
			continue
		}
		if strings.HasSuffix(line, " FAILED.") {
			break
		}
		last = strings.TrimSpace(line[i:])
		if first == "" {
			first = last
		}
	}
	if last == first {
		last = ""
	}
	return first, last
}

// criuFailed is the error of a failed CRIU request: what CRIU's log says
// (its answer only when the log says nothing) and where the log is.
func criuFailed(what string, err error, logDir, logFile string) error {
	var ne *notifyError
	if errors.As(err, &ne) {
		return fmt.Errorf("%s: %w", what, err)
	}
	path := filepath.Join(logDir, logFile)
	first, last := logErrors(path)
	switch {
	case first == "":
		return fmt.Errorf("%s: criu failed: %w (log: %s)", what, err, path)
	case last == "":
		return fmt.Errorf("%s: criu failed: %s (log: %s)", what, first, path)
	}
	return fmt.Errorf("%s: criu failed: %s; last error: %s (log: %s)", what, first, last, path)
}
