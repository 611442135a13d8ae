// Package kerneltest checks a kernel.Recorder's call log in unit tests: a
// Step matches a recorded call, and a Log says whether steps happened, did
// not, or happened in a given order, printing the whole numbered log when
// they did not.
package kerneltest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nookrt/nook/libcontainer/kernel"
)

// Step matches a recorded call; Desc names it in failures.
type Step struct {
	Desc  string
	Match func(kernel.Call) bool
}

// Call matches op on path.
func Call(op, path string) Step {
	return Step{op + " " + path, func(c kernel.Call) bool { return c.Op == op && c.Path == path }}
}

// Op matches any call of op.
func Op(op string) Step {
	return Step{op, func(c kernel.Call) bool { return c.Op == op }}
}

// Note matches a kernel.Recorder.Note marker.
func Note(text string) Step {
	return Step{"note " + text, func(c kernel.Call) bool { return c.Op == "note" && c.Data == text }}
}

// Log is the calls a run recorded; Extra, if set, is appended to the log
// printed on failure (what else the run saw).
type Log struct {
	Calls []kernel.Call
	Extra string
}

// String is the numbered call log.
func (l Log) String() string {
	var b strings.Builder
	for i, c := range l.Calls {
		fmt.Fprintf(&b, "  %3d %s\n", i, c)
	}
	b.WriteString(l.Extra)
	return b.String()
}

// All is the index of every call s matches.
func (l Log) All(s Step) []int {
	var out []int
	for i, c := range l.Calls {
		if s.Match(c) {
			out = append(out, i)
		}
	}
	return out
}

// First is the index of the first call s matches; the test fails if none
// does.
func (l Log) First(t testing.TB, s Step) int {
	t.Helper()
	if idx := l.All(s); len(idx) > 0 {
		return idx[0]
	}
	t.Fatalf("no %s among the calls:\n%s", s.Desc, l)
	return -1
}

// None fails the test if any call matches s.
func (l Log) None(t testing.TB, s Step) {
	t.Helper()
	if idx := l.All(s); len(idx) > 0 {
		t.Fatalf("unexpected %s (call %d):\n%s", s.Desc, idx[0], l)
	}
}

// InOrder fails the test unless the calls hold the steps in this order:
// each step is matched by a call after the one that matched the step
// before it.
func (l Log) InOrder(t testing.TB, steps ...Step) {
	t.Helper()
	prev := -1
	for i, s := range steps {
		idx := -1
		for _, j := range l.All(s) {
			if j > prev {
				idx = j
				break
			}
		}
		if idx < 0 {
			after := "the start"
			if i > 0 {
				after = fmt.Sprintf("%s (call %d)", steps[i-1].Desc, prev)
			}
			t.Fatalf("no %s after %s:\n%s", s.Desc, after, l)
		}
		prev = idx
	}
}
