package security

import (
	"os/exec"
	"testing"
	"time"

	"github.com/nookrt/nook/tests/harness"
)

// The harness reaps orphans as a shim does, from before the suite builds
// nook; a child an exec.Cmd will wait for (`go build`, `nook spec`) must be
// left to its Wait, or the Wait fails with ECHILD (seen once, in set-up).
func TestHarnessReaperLeavesWaitedChildren(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := harness.ReadStat(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d never exited", cmd.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	harness.ReapOrphans()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait for a child the reaper saw as a zombie: %v", err)
	}
}
