package cli

import (
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzParseSignal: `nook kill ID SIGNAL` takes the signal from the command
// line. ParseSignal must never panic, accept only signals 0..64, and agree
// with itself: the number of an accepted signal parses to the same signal,
// and so does the kernel's name for it. Seeds: testdata/fuzz/FuzzParseSignal.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"9", "KILL", "SIGKILL", "term", "SigHup", "64", "0", "65", "-1", "RTMIN", "SIGRTMAX", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			return
		}
		if sig < 0 || sig > 64 {
			t.Fatalf("ParseSignal(%q) = %d, outside 0..64", s, sig)
		}
		if again, err := ParseSignal(strconv.Itoa(int(sig))); err != nil || again != sig {
			t.Fatalf("ParseSignal(%q) = %d, but its number parses to %d, %v", s, sig, again, err)
		}
		if name := unix.SignalName(sig); name != "" {
			if again, err := ParseSignal(name); err != nil || again != sig {
				t.Fatalf("ParseSignal(%q) = %d (%s), but that name parses to %d, %v", s, sig, name, again, err)
			}
		}
	})
}
