package devices

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the process put in a test cgroup: with
// helperEnv set, TestHelperProcess serves requests from stdin and exits.
const helperEnv = "NOOK_DEVICES_TEST_HELPER"

func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "access":
		serveAccess(os.Stdin, os.Stdout)
	case "setv2-nocap":
		setV2WithoutCaps(os.Stdout)
	}
	os.Exit(0)
}

// serveAccess answers lines "open PATH r|w|rw" and "mknod PATH c|b MAJ MIN"
// with "ok" or the errno name.
func serveAccess(in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var err error
		switch {
		case len(f) == 3 && f[0] == "open":
			flag := map[string]int{"r": unix.O_RDONLY, "w": unix.O_WRONLY, "rw": unix.O_RDWR}[f[2]]
			var fd int
			fd, err = unix.Open(f[1], flag|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
			if err == nil {
				unix.Close(fd)
			}
		case len(f) == 5 && f[0] == "mknod":
			mode := uint32(unix.S_IFCHR)
			if f[2] == "b" {
				mode = unix.S_IFBLK
			}
			major, _ := strconv.ParseUint(f[3], 10, 32)
			minor, _ := strconv.ParseUint(f[4], 10, 32)
			err = unix.Mknod(f[1], mode|0o600, int(unix.Mkdev(uint32(major), uint32(minor))))
			if err == nil {
				os.Remove(f[1])
			}
		default:
			err = errors.New("bad request")
		}
		fmt.Fprintln(out, reply(err))
	}
}

func reply(err error) string {
	var errno unix.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return "error: " + err.Error()
}

// setV2WithoutCaps calls SetV2 on a thread without the capabilities bpf(2)
// wants and prints the error ("ok" if none).
func setV2WithoutCaps(out io.Writer) {
	done := make(chan string)
	go func() {
		// Never unlocked: the thread dies with the goroutine.
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- "capget: " + err.Error()
			return
		}
		for _, c := range []uint{unix.CAP_SYS_ADMIN, unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_NET_ADMIN} {
			data[c/32].Effective &^= 1 << (c % 32)
			data[c/32].Permitted &^= 1 << (c % 32)
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- "capset: " + err.Error()
			return
		}
		err := SetV2(os.Getenv("NOOK_DEVICES_TEST_DIR"), nil)
		if err == nil {
			done <- "ok"
			return
		}
		done <- err.Error()
	}()
	fmt.Fprintln(out, <-done)
}

// helper is a running helper process in "access" mode.
type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHelper(t *testing.T) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=access")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	t.Cleanup(h.stop)
	return h
}

// stop ends the helper and reaps it, so its cgroup can be removed.
func (h *helper) stop() {
	if h.cmd.ProcessState != nil {
		return
	}
	h.in.Close()
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

func (h *helper) ask(t *testing.T, request string) string {
	t.Helper()
	if _, err := fmt.Fprintln(h.in, request); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if !h.out.Scan() {
		t.Fatalf("helper died answering %q: %v", request, h.out.Err())
	}
	return h.out.Text()
}

// joinCgroup moves the helper into the cgroup directory dir.
func (h *helper) joinCgroup(t *testing.T, dir string) {
	t.Helper()
	pid := strconv.Itoa(h.cmd.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pid), 0); err != nil {
		t.Fatalf("moving helper into %s: %v", dir, err)
	}
}

// makeTestCgroup creates a uniquely named cgroup under parent and removes
// it when the test ends (after the helpers, registered later, stopped).
func makeTestCgroup(t testing.TB, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, fmt.Sprintf("nook-devtest-%d-%d", os.Getpid(), randomSuffix()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("creating test cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing test cgroup: %v", err)
		}
	})
	return dir
}

func randomSuffix() uint32 { return rand.Uint32() }
