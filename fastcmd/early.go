package fastcmd

/*
#include <stdint.h>
extern int nook_early_pid;
extern int nook_early_sock;
extern unsigned char nook_early_payload[];
extern uint32_t nook_early_payload_len;
static unsigned char *early_payload(void) { return nook_early_payload; }
size_t nook_early_bootstrap(const char *config, size_t len, unsigned char *out, size_t max);
*/
import "C"

import "unsafe"

// EarlyStage0 is the nsenter stage 0 that early.c started for `create` or
// `run` before the Go runtime, with the Bootstrap it sent (Payload; empty if
// the send fell short). Sock is the parent's end of the init socket, at fd
// 3 in stage 0; stage 0 inherited no other fd.
type EarlyStage0 struct {
	Pid, Sock int
	Payload   []byte
}

// TakeEarlyStage0 hands over the stage 0 early.c started, once: ok is false
// when it started none, or it was taken already. The taker owns the process
// and the socket (libcontainer adopts it, or kills and reaps it).
func TakeEarlyStage0() (s EarlyStage0, ok bool) {
	if C.nook_early_pid <= 0 {
		return s, false
	}
	s = EarlyStage0{
		Pid:     int(C.nook_early_pid),
		Sock:    int(C.nook_early_sock),
		Payload: C.GoBytes(unsafe.Pointer(C.early_payload()), C.int(C.nook_early_payload_len)),
	}
	C.nook_early_pid, C.nook_early_sock = 0, -1
	return s, true
}

// EarlyBootstrap is the Bootstrap payload early.c sends for a config.json
// of these bytes; ok is false where it declines (and starts nothing). It
// is for the test that holds it to what libcontainer computes.
func EarlyBootstrap(config []byte) (payload []byte, ok bool) {
	if len(config) == 0 {
		return nil, false
	}
	out := make([]byte, 64<<10)
	n := C.nook_early_bootstrap((*C.char)(unsafe.Pointer(&config[0])), C.size_t(len(config)),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.size_t(len(out)))
	return out[:n], n > 0
}
