package fault

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/tests/harness"
)

// fault is where one lifecycle is interrupted.
type fault int

const (
	noFault         fault = iota
	killCreate            // SIGKILL `nook create` after a random delay
	killStart             // SIGKILL `nook start` after a random delay
	killDelete            // SIGKILL `nook delete --force` of a running container
	killInitCreated       // SIGKILL the init parked at the start barrier
	killInitRunning       // SIGKILL the init once it runs the user process
	faultKinds
)

func (f fault) String() string {
	return [...]string{"none", "kill create", "kill start", "kill delete", "kill created init", "kill running init"}[f]
}

// TestKillAtRandomPoints runs NOOK_FAULT_N (default 200) lifecycles of
// `sleep`: create, start, kill, delete. Each is interrupted at a random point
// by one fault (or none): SIGKILL of nook create, start or delete --force
// after a random delay, or of the container's init. Then `delete --force`
// must succeed (or find nothing) and the id must be entirely gone: no state
// dir, no cgroup directory in any hierarchy, no live init, no mount under the
// test's directory; at the end no process of the test is left
// (invariant 7). NOOK_FAULT_SEED replays a run.
func TestKillAtRandomPoints(t *testing.T) {
	e := newEnv(t)
	n := envInt(t, "NOOK_FAULT_N", 200)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("NOOK_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("NOOK_FAULT_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (NOOK_FAULT_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	b := e.Bundle(harness.Args("sleep", "100"))
	counts := map[fault]int{}
	for i := 0; i < n && !t.Failed(); i++ {
		f := fault(rng.IntN(int(faultKinds)))
		delay := time.Duration(rng.IntN(40_000)) * time.Microsecond
		counts[f]++
		id := e.ID()
		what := fmt.Sprintf("lifecycle %d (%s after %s)", i, f, delay)
		lifecycle(e, b, id, f, delay, what)
		e.ForceDelete(id)
		gone(e, id)
		for _, l := range leftoversOf(e, id) {
			t.Errorf("%s: left behind: %s", what, l)
		}
	}
	t.Logf("faults injected: %v", counts)
}

// lifecycle runs one create/start/kill/delete, with f injected.
func lifecycle(e *harness.Env, bundle, id string, f fault, delay time.Duration, what string) {
	t := e.T
	pidFile := filepath.Join(e.Dir, id+".pid")
	create, err := e.Start(harness.Opts{}, "create", "--bundle", bundle, "--pid-file", pidFile, id)
	if err != nil {
		t.Fatalf("%s: start nook create: %v", what, err)
	}
	if f == killCreate {
		time.Sleep(delay)
		create.Kill()
	}
	r := create.Wait()
	if f != killCreate {
		if r.Code != 0 {
			t.Errorf("%s: create: %s", what, r)
			return
		}
	} else if r.Code != 0 && r.Code != 128+int(unix.SIGKILL) {
		checkClean(t, r)
	}
	// Whatever create got to, its init (if any) is known by pid.
	pid, _ := strconv.Atoi(harness.ReadString(pidFile))
	if pid == 0 {
		if s, _, ok := e.TryState(id); ok {
			pid = s.Pid
		}
	}
	if pid > 0 {
		e.Register(pid)
	}
	if f == killCreate {
		return
	}
	if f == killInitCreated {
		unix.Kill(pid, unix.SIGKILL)
		return
	}
	start, err := e.Start(harness.Opts{}, "start", id)
	if err != nil {
		t.Fatalf("%s: start nook start: %v", what, err)
	}
	if f == killStart {
		time.Sleep(delay / 3)
		start.Kill()
	}
	if r := start.Wait(); f != killStart && r.Code != 0 {
		t.Errorf("%s: start: %s", what, r)
		return
	}
	switch f {
	case killInitRunning:
		unix.Kill(pid, unix.SIGKILL)
	case killDelete:
		del, err := e.Start(harness.Opts{}, "delete", "--force", id)
		if err != nil {
			t.Fatalf("%s: start nook delete: %v", what, err)
		}
		time.Sleep(delay / 2)
		del.Kill()
		if r := del.Wait(); r.Code != 0 && r.Code != 128+int(unix.SIGKILL) {
			checkClean(t, r)
		}
	case noFault:
		checkClean(t, e.Nook("kill", id, "KILL"))
	}
}

// leftoversOf is the per-lifecycle check, cheaper than the env's full one:
// the state dir, the id's cgroup directories (a cgroup is removed only once
// empty, so none left also means no process left in it), mounts under the
// test dir, and the inits registered so far.
func leftoversOf(e *harness.Env, id string) []string {
	var out []string
	if _, err := os.Lstat(filepath.Join(e.Root, id)); err == nil {
		out = append(out, "state dir "+filepath.Join(e.Root, id))
	}
	for _, d := range harness.CgroupDirs(id) {
		out = append(out, "cgroup "+d)
	}
	for _, m := range harness.MountsUnder(e.Dir) {
		out = append(out, "mount "+m)
	}
	// The init's pid file was written by create (if it got that far).
	if pid, err := strconv.Atoi(harness.ReadString(filepath.Join(e.Dir, id+".pid"))); err == nil {
		if st, err := harness.ReadStat(pid); err == nil && st.State != 'Z' && st.State != 'X' {
			if cmd := harness.ReadString(fmt.Sprintf("/proc/%d/cgroup", pid)); strings.Contains(cmd, "/nook/"+id) {
				out = append(out, fmt.Sprintf("init pid %d (%s) still running", pid, st.Comm))
			}
		}
	}
	return out
}
