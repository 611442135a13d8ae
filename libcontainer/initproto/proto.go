// Package initproto is the one definition of what nook's parent process and a
// container's init say to each other. Both sides of every exchange use these
// frames; the C half of the init (nsenter/) speaks the first five messages with
// the numbers mirrored in nsenter/proto.h.
//
// Transport: a SOCK_STREAM unix socketpair. The init's end is passed as an
// inherited fd whose number is in the environment variable InitPipeEnv.
// Stage 0 is started before the parent reads the config and waits for
// Bootstrap; everything else the init needs comes with Config.
//
// Frame: u32 type | u32 payload length | payload (host byte order).
//
// Conversation for one container:
//
//	parent → nsenter  Bootstrap     attributes: clone flags, namespace paths to join
//	nsenter → parent  UsernsReady   u32 pid   (only when a user namespace is created)
//	parent → nsenter  UsernsMapped            (after uid_map/gid_map are written)
//	nsenter → parent  InitPid       u32 pid   (the container init, in the host pid namespace;
//	                                           its Go runtime starts at once)
//	parent → init     Config        JSON InitConfig, with the files the init
//	                                takes over as SCM_RIGHTS (SendFiles)
//	parent → init     InitGo                  (the init is in its cgroup; it may go on,
//	                                           first unsharing a new cgroup namespace)
//	init → parent     Warning       text      (zero or more: logged by the parent)
//	init → parent     RunHooks                (only if the config has prestart or
//	                                           createRuntime hooks: mounts are made,
//	                                           pivot_root is not; the parent runs them)
//	parent → init     HooksDone               (or Error if a hook failed)
//	init → parent     Ready                   (rootfs done; blocking on the start barrier)
//
// Any side may send Error (text: the whole causal chain, one line) instead of
// the next expected message; the parent then tears everything down.
package initproto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Type identifies a frame.
type Type uint32

// Frame types. 1–5 and 8 are shared with nsenter/proto.h.
const (
	Bootstrap    Type = 1
	UsernsReady  Type = 2
	UsernsMapped Type = 3
	InitPid      Type = 4
	InitGo       Type = 5
	Config       Type = 6
	Ready        Type = 7
	Error        Type = 8
	Warning      Type = 9
	RunHooks     Type = 10
	HooksDone    Type = 11
)

// Bootstrap attributes (u32 attr | u32 len | value).
const (
	AttrCloneFlags uint32 = 1
	AttrNsPath     uint32 = 2 // value: u32 CLONE_NEW* flag, then the path
	// AttrTimeOffsets: the text written to /proc/self/timens_offsets
	// between unshare(CLONE_NEWTIME) and the clone of the init.
	AttrTimeOffsets uint32 = 3
	// AttrOOMScoreAdj: process.oomScoreAdj as decimal text, written by
	// stage 0 through the host's /proc before it joins any namespace.
	AttrOOMScoreAdj uint32 = 4
)

// InitPipeEnv names the environment variable carrying the init's socket fd.
const InitPipeEnv = "_NOOK_INITPIPE"

// maxFrame bounds what a peer can make us allocate.
const maxFrame = 64 << 20

func (t Type) String() string {
	names := map[Type]string{Bootstrap: "bootstrap", UsernsReady: "userns-ready",
		UsernsMapped: "userns-mapped", InitPid: "init-pid", InitGo: "init-go",
		Config: "config", Ready: "ready", Error: "error", Warning: "warning",
		RunHooks: "run-hooks", HooksDone: "hooks-done", ExecPlanMsg: "exec-plan",
		InitMode: "init-mode", ProcContexts: "proc-contexts"}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("message %d", uint32(t))
}

// Send writes one frame.
func Send(w io.Writer, t Type, payload []byte) error {
	buf := make([]byte, 8+len(payload))
	binary.NativeEndian.PutUint32(buf[0:], uint32(t))
	binary.NativeEndian.PutUint32(buf[4:], uint32(len(payload)))
	copy(buf[8:], payload)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("send %s: %w", t, err)
	}
	return nil
}

// SendJSON writes one frame whose payload is v as JSON.
func SendJSON(w io.Writer, t Type, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t, err)
	}
	return Send(w, t, b)
}

// Recv reads one frame.
func Recv(r io.Reader) (Type, []byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	return recvPayload(r, hdr)
}

// recvPayload reads the payload of the frame whose header is hdr.
func recvPayload(r io.Reader, hdr [8]byte) (Type, []byte, error) {
	t := Type(binary.NativeEndian.Uint32(hdr[0:]))
	n := binary.NativeEndian.Uint32(hdr[4:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%s frame of %d bytes is too large", t, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("read %s payload: %w", t, err)
	}
	return t, payload, nil
}

// RemoteError is an Error frame: a failure the other side reported.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// Expect reads frames until one of type want arrives, passing Warning frames to
// warn. An Error frame becomes a *RemoteError; EOF means the peer died silently.
func Expect(r io.Reader, want Type, warn func(string)) ([]byte, error) {
	for {
		t, payload, err := Recv(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("waiting for %s: init exited without reporting an error", want)
			}
			return nil, fmt.Errorf("waiting for %s: %w", want, err)
		}
		if t == Warning && t != want {
			if warn != nil {
				warn(string(payload))
			}
			continue
		}
		return payload, frameError(t, want, payload)
	}
}

// frameError is what a frame of type t means to a reader expecting want:
// nil for want itself, the peer's own error for Error, else a protocol
// error.
func frameError(t, want Type, payload []byte) error {
	switch t {
	case want:
		return nil
	case Error:
		return &RemoteError{Msg: string(payload)}
	}
	return fmt.Errorf("waiting for %s: unexpected %s", want, t)
}

// U32 decodes a u32 payload.
func U32(payload []byte) (uint32, error) {
	if len(payload) != 4 {
		return 0, fmt.Errorf("expected a 4-byte payload, got %d bytes", len(payload))
	}
	return binary.NativeEndian.Uint32(payload), nil
}

// BootstrapPayload encodes the bootstrap attributes for nsenter.
func BootstrapPayload(cloneFlags uint32, nsPaths []NsPath, timeOffsets string, oomScoreAdj *int) []byte {
	var b []byte
	attr := func(a uint32, v []byte) {
		b = binary.NativeEndian.AppendUint32(b, a)
		b = binary.NativeEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	attr(AttrCloneFlags, binary.NativeEndian.AppendUint32(nil, cloneFlags))
	for _, p := range nsPaths {
		v := binary.NativeEndian.AppendUint32(nil, p.Flag)
		attr(AttrNsPath, append(v, p.Path...))
	}
	if timeOffsets != "" {
		attr(AttrTimeOffsets, []byte(timeOffsets))
	}
	if oomScoreAdj != nil {
		attr(AttrOOMScoreAdj, strconv.AppendInt(nil, int64(*oomScoreAdj), 10))
	}
	return b
}

// NsPath is a namespace to join: its CLONE_NEW* flag and its path.
type NsPath struct {
	Flag uint32
	Path string
}
