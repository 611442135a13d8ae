package fault

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nookrt/nook/tests/harness"
)

// TestParallelLifecycles runs 50 full lifecycles at once on distinct ids:
// create, start, state (running), kill KILL, state (stopped), delete. Every
// command must succeed, none may crash, and nothing may be left: the state
// store's per-id locks and the cgroup set-up must not interfere across ids.
func TestParallelLifecycles(t *testing.T) {
	e := newEnv(t)
	const n = 50
	b := e.Bundle(harness.Args("sleep", "100"))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		id := e.ID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, r := e.TryCreate(harness.Opts{}, b, id); r.Code != 0 {
				t.Errorf("create: %s", r)
				return
			}
			defer e.ForceDelete(id)
			steps := [][]string{{"start", id}, {"state", id}, {"kill", id, "KILL"}}
			for _, s := range steps {
				if r := e.Nook(s...); r.Code != 0 {
					t.Errorf("%s: %s", s[0], r)
					return
				}
			}
			if !waitStopped(e, id) {
				t.Errorf("%s: not stopped 10s after kill KILL", id)
				return
			}
			if r := e.Nook("delete", id); r.Code != 0 {
				t.Errorf("delete: %s", r)
			}
			gone(e, id)
		}()
	}
	wg.Wait()
}

// waitStopped polls state without failing the test from a goroutine.
func waitStopped(e *harness.Env, id string) bool {
	for i := 0; i < 500; i++ {
		if s, _, ok := e.TryState(id); ok && s.Status == "stopped" {
			return true
		}
		e.Nook("list") // a little pause, and one more concurrent reader
	}
	return false
}

// TestRacingCommandsOnOneID runs 10 commands at once on one running
// container (state, kill, delete, delete --force, start, exec, list, kill
// --all), in several rounds, while a reader keeps parsing the id's
// state.json. A command may lose (exit 1, one error line) but never crash;
// state output and the state file, whenever they exist, are whole JSON
// (invariant 7: written to a temp file and renamed, under the id's lock);
// in the end delete --force leaves nothing.
func TestRacingCommandsOnOneID(t *testing.T) {
	e := newEnv(t)
	b := e.Bundle(harness.Args("sleep", "100"))
	for round := 0; round < 5; round++ {
		id := e.ID()
		e.Create(b, id)
		e.OK(e.Nook("start", id))

		stop := make(chan struct{})
		var reads, bad atomic.Int64
		var readerDone sync.WaitGroup
		readerDone.Add(1)
		go func() {
			defer readerDone.Done()
			stateFile := filepath.Join(e.Root, id, "state.json")
			for {
				select {
				case <-stop:
					return
				default:
				}
				data, err := os.ReadFile(stateFile)
				if err != nil {
					continue // not there yet, or deleted
				}
				reads.Add(1)
				if !json.Valid(data) {
					if bad.Add(1) == 1 {
						t.Errorf("round %d: state.json is not whole JSON: %q", round, data)
					}
				}
			}
		}()

		cmds := [][]string{
			{"state", id}, {"kill", id, "KILL"}, {"delete", id}, {"delete", "--force", id},
			{"kill", id, "TERM"}, {"start", id}, {"exec", id, "true"}, {"kill", "--all", id, "KILL"},
			{"state", id}, {"list", "--format", "json"},
		}
		results := make([]harness.Result, len(cmds))
		var wg sync.WaitGroup
		for i, c := range cmds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.Nook(c...)
			}()
		}
		wg.Wait()
		close(stop)
		readerDone.Wait()

		for _, r := range results {
			if r.Args[2] == "exec" && (r.Code == 128+9 || r.Code == 128+15) && r.Stderr == "" {
				// The racing kill --all reached the exec'd process: exec
				// reports its death by signal as 128+N, as runc does.
				continue
			}
			if r.Args[2] == "exec" && r.Code == 255 {
				// exec's own failure (the container stopped or went
				// away meanwhile) exits 255, as runc's; still one line.
				if n := len(harness.NonEmptyLines(r.Stderr)); n != 1 {
					t.Errorf("round %d: exec failed with %d error lines: %s", round, n, r)
				}
				continue
			}
			checkClean(t, r)
			switch r.Args[2] {
			case "state":
				if r.Code == 0 {
					var s harness.State
					if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
						t.Errorf("round %d: state output is not JSON: %s", round, r)
					} else if (s.Status == "stopped") != (s.Pid == 0) {
						t.Errorf("round %d: inconsistent state %+v", round, s)
					}
				}
			case "list":
				var l []json.RawMessage
				if r.Code == 0 && json.Unmarshal([]byte(r.Stdout), &l) != nil && strings.TrimSpace(r.Stdout) != "null" {
					t.Errorf("round %d: list output is not a JSON array: %s", round, r)
				}
			}
		}
		e.ForceDelete(id)
		gone(e, id)
		if left := harness.StateDirs(e.Root); len(left) > 0 {
			t.Errorf("round %d: state dirs after racing deletes: %v", round, left)
		}
		t.Logf("round %d: %d reads of state.json, %d not whole", round, reads.Load(), bad.Load())
	}
}
