package fastcmd

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The C side names the signals of a stopped container's exit as `state`
// does (unix.SignalName, else the number) and parses kill's signal names
// with the same table (cli.ParseSignal uses unix.SignalNum).
func TestSignalNamesMatchGo(t *testing.T) {
	for sig := 0; sig <= 65; sig++ {
		if got, want := signalName(sig), unix.SignalName(unix.Signal(sig)); got != want {
			t.Errorf("signal %d: C names it %q, Go %q", sig, got, want)
		}
		if name := unix.SignalName(unix.Signal(sig)); name != "" && unix.SignalNum(name) != unix.Signal(sig) {
			t.Errorf("signal %d: Go's SignalNum(%q) = %d", sig, name, unix.SignalNum(name))
		}
	}
	if signalName(int(unix.SIGKILL)) != "SIGKILL" {
		t.Fatalf("SIGKILL is %q", signalName(int(unix.SIGKILL)))
	}
}
