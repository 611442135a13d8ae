// Command seccompagent is a small seccomp agent for nook's tests: the other
// end of linux.seccomp.listenerPath.
//
//	seccompagent -socket PATH -state-file FILE [-fake-mkdir DIR]
//
// It listens on PATH, prints "ready" on stdout once connections are accepted,
// receives one container process state with its seccomp listener fd, writes
// that state as JSON to FILE, then answers notifications until no process
// uses the filter any more:
//
//   - mkdir/mkdirat of DIR (as the container names it): success, nothing
//     created — so a test can tell the agent answered;
//   - any other notified syscall: SECCOMP_USER_NOTIF_FLAG_CONTINUE, the
//     kernel runs it as if unfiltered;
//   - a path the agent cannot read from the target: that error (EFAULT for
//     a bad pointer), as the kernel would have answered.
//
// Each answer is logged on stderr.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/nookrt/nook/seccomp"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func main() {
	socket := flag.String("socket", "", "unix socket path to listen on (linux.seccomp.listenerPath)")
	stateFile := flag.String("state-file", "", "file to write the received container process state to")
	fakeMkdir := flag.String("fake-mkdir", "", "directory whose mkdir is answered with success without creating it")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("seccompagent: ")
	if *socket == "" || *stateFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*socket, *stateFile, filepath.Clean(*fakeMkdir)); err != nil {
		log.Fatal(err)
	}
}

func run(socket, stateFile, fakeMkdir string) error {
	_ = os.Remove(socket) // a stale socket from an earlier run
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		return err
	}
	fmt.Println("ready")
	conn, err := ln.AcceptUnix()
	ln.Close() // one container per agent
	if err != nil {
		return err
	}
	st, fd, err := seccomp.ReceiveListener(conn)
	conn.Close()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := writeState(stateFile, st); err != nil {
		return err
	}
	log.Printf("listener received from pid %d (container %s)", st.Pid, st.State.ID)
	return serve(libseccomp.ScmpFd(fd), fakeMkdir)
}

// writeState writes the state atomically, so a test polling for the file
// never reads half of it.
func writeState(path string, st any) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// serve answers notifications until the filter has no users left: poll
// reports POLLHUP then, while a receive would block forever.
func serve(fd libseccomp.ScmpFd, fakeMkdir string) error {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("poll listener: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			log.Print("no process uses the filter any more, exiting")
			return nil
		}
		req, err := libseccomp.NotifReceive(fd)
		if err != nil {
			// ENOENT: the target died or its syscall was interrupted
			// between poll and receive; there is nothing to answer.
			log.Printf("receive: %v", err)
			continue
		}
		resp, what := answer(fd, req, fakeMkdir)
		if resp == nil {
			log.Printf("%s: target gone, no answer", what)
			continue
		}
		if err := libseccomp.NotifRespond(fd, resp); err != nil {
			log.Printf("%s: respond: %v", what, err)
			continue
		}
		log.Print(what)
	}
}

// answer decides the response to one notification; nil means the
// notification is no longer valid and must not be answered.
func answer(fd libseccomp.ScmpFd, req *libseccomp.ScmpNotifReq, fakeMkdir string) (*libseccomp.ScmpNotifResp, string) {
	resp := &libseccomp.ScmpNotifResp{ID: req.ID}
	name, err := req.Data.Syscall.GetNameByArch(req.Data.Arch)
	if err != nil {
		name = fmt.Sprintf("syscall %d", req.Data.Syscall)
	}
	var dirfd int32
	var addr uint64
	switch name {
	case "mkdir":
		dirfd, addr = unix.AT_FDCWD, req.Data.Args[0]
	case "mkdirat":
		dirfd, addr = int32(req.Data.Args[0]), req.Data.Args[1]
	default:
		resp.Flags = libseccomp.NotifRespFlagContinue
		return resp, fmt.Sprintf("pid %d %s: continue", req.Pid, name)
	}
	t := target{fd: fd, id: req.ID, pid: int(req.Pid)}
	path, err := t.path(dirfd, addr)
	switch {
	case errors.Is(err, errGone):
		return nil, fmt.Sprintf("pid %d %s", req.Pid, name)
	case err != nil:
		var errno unix.Errno
		if !errors.As(err, &errno) {
			errno = unix.EFAULT
		}
		resp.Error = int32(errno) // positive: the bindings negate it for the kernel
		return resp, fmt.Sprintf("pid %d %s: %v", req.Pid, name, err)
	case fakeMkdir != "." && path == fakeMkdir:
		resp.Val = 0
		return resp, fmt.Sprintf("pid %d %s %s: faked success", req.Pid, name, path)
	}
	resp.Flags = libseccomp.NotifRespFlagContinue
	return resp, fmt.Sprintf("pid %d %s %s: continue", req.Pid, name, path)
}
