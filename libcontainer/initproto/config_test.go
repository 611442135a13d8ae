package initproto

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// pipes returns n fds to stand for the files received with the Config
// message.
func pipes(t *testing.T, n int) []int {
	t.Helper()
	var fds []int
	for len(fds) < n {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		unix.Close(p[1])
		fds = append(fds, p[0])
	}
	return fds // ResolveFds closes what it does not hand out
}

func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

func TestResolveFds(t *testing.T) {
	fds := pipes(t, 5)
	cfg := InitConfig{FifoFd: 1, ConsoleFd: 3, SeccompFd: 2, IdmapFds: map[int]int{7: 4}}
	if err := cfg.ResolveFds(fds); err != nil {
		t.Fatal(err)
	}
	if cfg.FifoFd != fds[0] || cfg.SeccompFd != fds[1] || cfg.ConsoleFd != fds[2] || cfg.IdmapFds[7] != fds[3] {
		t.Errorf("resolved %+v from %v", cfg, fds)
	}
	// The fifth file no slot names is closed; the others stay open.
	for i, fd := range fds {
		if want := i < 4; isOpen(fd) != want {
			t.Errorf("fd %d (file %d): open %v, want %v", fd, i+1, !want, want)
		}
	}
	for _, fd := range fds[:4] {
		unix.Close(fd)
	}
}

func TestResolveFdsNoneSent(t *testing.T) {
	cfg := InitConfig{}
	if err := cfg.ResolveFds(nil); err != nil || cfg.FifoFd != 0 || cfg.ConsoleFd != 0 {
		t.Errorf("empty config: %+v, %v", cfg, err)
	}
}

func TestResolveFdsRefusesBadSlots(t *testing.T) {
	for _, c := range []struct {
		cfg  InitConfig
		want string
	}{
		{InitConfig{FifoFd: 3}, "start barrier names file 3 of the 2"},
		{InitConfig{FifoFd: -1}, "start barrier"},
		{InitConfig{FifoFd: 1, ConsoleFd: 1}, "console socket names file 1"},
		{InitConfig{IdmapFds: map[int]int{2: 9}}, "idmapped mount 2"},
	} {
		fds := pipes(t, 2)
		cfg := c.cfg
		err := cfg.ResolveFds(fds)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.cfg, err, c.want)
		}
		// On error nothing received stays open.
		for _, fd := range fds {
			if isOpen(fd) {
				t.Errorf("%+v: fd %d left open after the error", c.cfg, fd)
			}
		}
	}
}
