// Package fastcmd links the C constructor (fastcmd.c) that serves `nook
// state`, `start`, `kill ID 0|KILL`, `delete` and `list` of containers with
// a summary (libcontainer.SummaryFile) before the Go runtime starts, and
// leaves every other command, and every case it does not serve exactly, to
// Go. main imports it for that side effect.
package fastcmd

/*
#cgo CFLAGS: -Wall -Wextra -O2
const char *nook_fast_signal_name(int sig);
*/
import "C"

// signalName is the C side's name of sig ("" for none), for the test that
// holds it to unix.SignalName.
func signalName(sig int) string {
	if s := C.nook_fast_signal_name(C.int(sig)); s != nil {
		return C.GoString(s)
	}
	return ""
}
