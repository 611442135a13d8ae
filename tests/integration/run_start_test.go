package integration

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// openedAhead is what `--debug` says when create starts the container
// itself, opening the start barrier before the init reaches it.
const openedAhead = "start barrier opened ahead of the init"

// `run` starts its container without a start's round trip: create opens
// the start barrier ahead of the init, which goes on to the program while
// the record is committed. Not when a start has more to do: poststart
// hooks (which must still see the program executed) or a NOTIFY_SOCKET to
// relay. A container of `run -d` is running when run returns, its barrier
// gone; `create` still leaves one waiting for start.
func TestRunStartsWithoutARoundTrip(t *testing.T) {
	e := newEnv(t)

	r := e.nook("--debug", "run", "--bundle", e.bundle(sh("echo ran; exit 3")), e.id())
	if r.Code != 3 || strings.TrimSpace(r.Stdout) != "ran" {
		t.Fatalf("run: %s", r)
	}
	if !strings.Contains(r.Stderr, openedAhead) {
		t.Errorf("run did not open the start barrier ahead of the init (--debug: %s)", r.Stderr)
	}

	// The hooks that come before the program (a prestart and a
	// createRuntime hook, slow) still do, with either init. (The init
	// waits for the parent's hooks before it reaches the barrier, so this
	// holds wherever create opens the barrier: checked by opening it
	// before the hooks run, which passes too.)
	var b string
	for _, in := range inits {
		check := sh("test -e /hooked && echo hooked || echo too-early")
		b = e.bundle(append([]specMod{check}, in.mods...)...)
		mark := `sleep 0.3; touch ` + filepath.Join(b, "rootfs", "hooked")
		hooked := e.bundle(append([]specMod{check, func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{
				Prestart:      []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 0.2"}}},
				CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", mark}}},
			}
		}}, in.mods...)...)
		must(t, os.Rename(filepath.Join(hooked, "config.json"), filepath.Join(b, "config.json")))
		r = e.nook("--debug", "run", "--bundle", b, e.id())
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "hooked" || !strings.Contains(r.Stderr, openedAhead) {
			t.Errorf("%s: run with prestart and createRuntime hooks: %s; want the program to see what they made, started ahead", in.name, r)
		}
	}

	// Poststart: run starts as before, and the hook sees the program.
	seen := filepath.Join(e.Dir, "poststart-exe")
	b = e.bundle(args("sleep", "1"), func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
			`pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); readlink /proc/$pid/exe > ` + seen}}}}
	})
	r = e.ok(e.nook("--debug", "run", "--bundle", b, e.id()))
	if strings.Contains(r.Stderr, openedAhead) {
		t.Errorf("run with a poststart hook opened the barrier ahead of the init")
	}
	if exe := strings.TrimSpace(readString(seen)); !strings.HasSuffix(exe, "/bin/busybox") {
		t.Errorf("poststart saw the container's process run %q, want the rootfs's /bin/busybox (sleep)", exe)
	}

	// NOTIFY_SOCKET: start relays it; run starts as before.
	sock := filepath.Join(e.Dir, "notify.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	must(t, err)
	defer l.Close()
	e.Environ = append(e.Environ, "NOTIFY_SOCKET="+sock)
	r = e.ok(e.nook("--debug", "run", "--bundle", e.bundle(args("true")), e.id()))
	e.Environ = e.Environ[:len(e.Environ)-1]
	if strings.Contains(r.Stderr, openedAhead) {
		t.Errorf("run with a NOTIFY_SOCKET opened the barrier ahead of the init")
	}

	// run -d: running at once, no barrier left.
	id := e.id()
	r = e.ok(e.nook("--debug", "run", "-d", "--bundle", e.bundle(args("sleep", "100")), id))
	if !strings.Contains(r.Stderr, openedAhead) {
		t.Errorf("run -d did not open the start barrier ahead of the init (--debug: %s)", r.Stderr)
	}
	st := e.state(id)
	e.register(st.Pid)
	if st.Status != "running" {
		t.Errorf("after run -d the container is %s, want running", st.Status)
	}
	if _, err := os.Stat(filepath.Join(e.Root, id, "exec.fifo")); !os.IsNotExist(err) {
		t.Errorf("after run -d the start barrier is still there (%v)", err)
	}
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/exe"); !strings.HasSuffix(exe, "/bin/busybox") {
		t.Errorf("after run -d the init runs %q, want the rootfs's /bin/busybox (sleep)", exe)
	}
	e.ok(e.nook("delete", "--force", id))

	// create: waits for start.
	id = e.id()
	r = e.ok(e.nook("--debug", "create", "--bundle", e.bundle(args("sleep", "100")), id))
	st = e.state(id)
	e.register(st.Pid)
	if strings.Contains(r.Stderr, openedAhead) || st.Status != "created" {
		t.Errorf("create opened the start barrier (status %s)", st.Status)
	}
	e.ok(e.nook("delete", "--force", id))
}
