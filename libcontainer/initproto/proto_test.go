package initproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var allTypes = []Type{Bootstrap, UsernsReady, UsernsMapped, InitPid, InitGo, Config, Ready, Error, Warning}

// frame builds the wire bytes of one frame by hand, per the documented
// layout: u32 type | u32 payload length | payload, host byte order.
func frame(t Type, payload []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(t))
	b = binary.NativeEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func TestSendWireFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := Send(&buf, Config, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if want := frame(Config, []byte("hello")); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Send wrote % x, want % x", buf.Bytes(), want)
	}
	buf.Reset()
	if err := Send(&buf, InitGo, nil); err != nil {
		t.Fatal(err)
	}
	if want := frame(InitGo, nil); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("empty Send wrote % x, want % x", buf.Bytes(), want)
	}
}

func TestSendRecvRoundTripEveryType(t *testing.T) {
	payloads := [][]byte{nil, {0}, []byte("some text"), bytes.Repeat([]byte{0xa5}, 70000)}
	for _, typ := range allTypes {
		for _, p := range payloads {
			t.Run(fmt.Sprintf("%s/%d", typ, len(p)), func(t *testing.T) {
				var buf bytes.Buffer
				if err := Send(&buf, typ, p); err != nil {
					t.Fatal(err)
				}
				gt, gp, err := Recv(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if gt != typ {
					t.Errorf("type = %v, want %v", gt, typ)
				}
				if !bytes.Equal(gp, p) {
					t.Errorf("payload = %d bytes, want %d bytes (%q...)", len(gp), len(p), truncate(p))
				}
				if buf.Len() != 0 {
					t.Errorf("%d bytes left unread after one frame", buf.Len())
				}
			})
		}
	}
}

func truncate(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// TestRoundTripSocketpair runs the frames over the real transport, a
// SOCK_STREAM unix socketpair, with frames back to back.
func TestRoundTripSocketpair(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := os.NewFile(uintptr(fds[0]), "parent")
	b := os.NewFile(uintptr(fds[1]), "child")
	defer a.Close()
	defer b.Close()

	big := bytes.Repeat([]byte("0123456789"), 100000) // larger than a socket buffer
	done := make(chan error, 1)
	go func() {
		for _, typ := range allTypes {
			if err := Send(a, typ, []byte(typ.String())); err != nil {
				done <- err
				return
			}
		}
		done <- Send(a, Config, big)
	}()
	for _, typ := range allTypes {
		gt, gp, err := Recv(b)
		if err != nil {
			t.Fatal(err)
		}
		if gt != typ || string(gp) != typ.String() {
			t.Errorf("got (%v, %q), want (%v, %q)", gt, gp, typ, typ.String())
		}
	}
	gt, gp, err := Recv(b)
	if err != nil {
		t.Fatal(err)
	}
	if gt != Config || !bytes.Equal(gp, big) {
		t.Errorf("big frame: got type %v, %d bytes; want config, %d bytes", gt, len(gp), len(big))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSendJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := SendJSON(&buf, Config, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	typ, p, err := Recv(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if typ != Config || string(p) != `{"a":1}` {
		t.Errorf("got (%v, %s), want (config, {\"a\":1})", typ, p)
	}
	// Something JSON cannot encode is an error, and nothing is written.
	buf.Reset()
	if err := SendJSON(&buf, Config, make(chan int)); err == nil {
		t.Error("SendJSON of a channel succeeded")
	}
	if buf.Len() != 0 {
		t.Errorf("SendJSON wrote %d bytes on an encoding error", buf.Len())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestSendError(t *testing.T) {
	err := Send(failWriter{}, Ready, nil)
	if err == nil || !strings.Contains(err.Error(), "ready") || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("Send to a failing writer = %v, want an error naming the frame and the cause", err)
	}
}

func TestTypeString(t *testing.T) {
	want := map[Type]string{Bootstrap: "bootstrap", UsernsReady: "userns-ready", UsernsMapped: "userns-mapped",
		InitPid: "init-pid", InitGo: "init-go", Config: "config", Ready: "ready", Error: "error", Warning: "warning",
		Type(42): "message 42"}
	for typ, s := range want {
		if typ.String() != s {
			t.Errorf("Type(%d).String() = %q, want %q", uint32(typ), typ.String(), s)
		}
	}
}

// TestNumbersMatchNsenter pins the values nsenter/proto.h mirrors.
func TestNumbersMatchNsenter(t *testing.T) {
	for typ, n := range map[Type]uint32{Bootstrap: 1, UsernsReady: 2, UsernsMapped: 3, InitPid: 4, InitGo: 5, Error: 8} {
		if uint32(typ) != n {
			t.Errorf("%v = %d, want %d", typ, uint32(typ), n)
		}
	}
	if AttrCloneFlags != 1 || AttrNsPath != 2 {
		t.Errorf("attributes = %d, %d; want 1, 2", AttrCloneFlags, AttrNsPath)
	}
}

func TestExpect(t *testing.T) {
	t.Run("returns wanted payload", func(t *testing.T) {
		r := bytes.NewReader(frame(Ready, []byte("ok")))
		p, err := Expect(r, Ready, nil)
		if err != nil || string(p) != "ok" {
			t.Fatalf("Expect = (%q, %v), want (ok, nil)", p, err)
		}
	})

	t.Run("passes warnings to callback", func(t *testing.T) {
		var in []byte
		in = append(in, frame(Warning, []byte("first"))...)
		in = append(in, frame(Warning, []byte("second"))...)
		in = append(in, frame(InitPid, []byte{1, 2, 3, 4})...)
		in = append(in, frame(Warning, []byte("after"))...)
		r := bytes.NewReader(in)
		var warnings []string
		p, err := Expect(r, InitPid, func(s string) { warnings = append(warnings, s) })
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, []byte{1, 2, 3, 4}) {
			t.Errorf("payload = %v, want [1 2 3 4]", p)
		}
		if len(warnings) != 2 || warnings[0] != "first" || warnings[1] != "second" {
			t.Errorf("warnings = %q, want [first second]", warnings)
		}
		// Expect stops at the wanted frame: the later warning is still unread.
		typ, wp, err := Recv(r)
		if err != nil || typ != Warning || string(wp) != "after" {
			t.Errorf("next frame = (%v, %q, %v), want the unread warning", typ, wp, err)
		}
	})

	t.Run("nil callback skips warnings", func(t *testing.T) {
		in := append(frame(Warning, []byte("w")), frame(Ready, nil)...)
		p, err := Expect(bytes.NewReader(in), Ready, nil)
		if err != nil || len(p) != 0 {
			t.Fatalf("Expect = (%q, %v), want (empty, nil)", p, err)
		}
	})

	t.Run("error frame is RemoteError", func(t *testing.T) {
		in := append(frame(Warning, []byte("w")), frame(Error, []byte("mount /proc: permission denied"))...)
		in = append(in, frame(Ready, nil)...)
		warned := 0
		_, err := Expect(bytes.NewReader(in), Ready, func(string) { warned++ })
		var re *RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("Expect = %v (%T), want *RemoteError", err, err)
		}
		if re.Msg != "mount /proc: permission denied" || err.Error() != re.Msg {
			t.Errorf("RemoteError = %q / %q, want the frame's text verbatim", re.Msg, err.Error())
		}
		if warned != 1 {
			t.Errorf("warnings before the error = %d, want 1", warned)
		}
	})

	t.Run("waiting for error returns its payload", func(t *testing.T) {
		// Waiting for Error itself returns its payload, not a RemoteError.
		p, err := Expect(bytes.NewReader(frame(Error, []byte("x"))), Error, nil)
		if err != nil || string(p) != "x" {
			t.Errorf("Expect(Error) = (%q, %v), want (x, nil)", p, err)
		}
	})

	t.Run("EOF", func(t *testing.T) {
		_, err := Expect(bytes.NewReader(nil), Ready, nil)
		if err == nil || !strings.Contains(err.Error(), "waiting for ready") ||
			!strings.Contains(err.Error(), "exited without reporting an error") {
			t.Errorf("Expect at EOF = %v, want a 'waiting for ready: init exited…' error", err)
		}
		var re *RemoteError
		if errors.As(err, &re) {
			t.Error("EOF must not be a RemoteError")
		}
	})

	t.Run("EOF after warnings", func(t *testing.T) {
		warned := 0
		_, err := Expect(bytes.NewReader(frame(Warning, []byte("w"))), Ready, func(string) { warned++ })
		if err == nil || !strings.Contains(err.Error(), "exited without reporting an error") {
			t.Errorf("Expect = %v, want the EOF error", err)
		}
		if warned != 1 {
			t.Errorf("warned %d times, want 1", warned)
		}
	})

	t.Run("truncated header", func(t *testing.T) {
		_, err := Expect(bytes.NewReader(frame(Ready, nil)[:5]), Ready, nil)
		if err == nil || !strings.Contains(err.Error(), "exited without reporting an error") {
			t.Errorf("Expect on a cut header = %v, want the EOF error", err)
		}
	})

	t.Run("truncated payload", func(t *testing.T) {
		f := frame(Config, []byte("0123456789"))
		_, err := Expect(bytes.NewReader(f[:len(f)-3]), Config, nil)
		if err == nil || !strings.Contains(err.Error(), "exited without reporting an error") {
			t.Errorf("Expect on a cut payload = %v, want the EOF error", err)
		}
	})

	t.Run("unexpected type", func(t *testing.T) {
		_, err := Expect(bytes.NewReader(frame(Ready, nil)), Config, nil)
		if err == nil || !strings.Contains(err.Error(), "waiting for config") || !strings.Contains(err.Error(), "unexpected ready") {
			t.Errorf("Expect = %v, want 'waiting for config: unexpected ready'", err)
		}
		var re *RemoteError
		if errors.As(err, &re) {
			t.Error("an unexpected type must not be a RemoteError")
		}
	})

	t.Run("unknown type number", func(t *testing.T) {
		_, err := Expect(bytes.NewReader(frame(Type(99), nil)), Ready, nil)
		if err == nil || !strings.Contains(err.Error(), "unexpected message 99") {
			t.Errorf("Expect = %v, want 'unexpected message 99'", err)
		}
	})

	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Expect(io.MultiReader(bytes.NewReader(frame(Warning, nil)), errReader{boom}), Ready, nil)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "waiting for ready") {
			t.Errorf("Expect = %v, want the read error wrapped", err)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// headerOnlyReader serves one header and fails the test if anything past it is
// read: a refused frame must not be read, let alone allocated.
type headerOnlyReader struct {
	t   *testing.T
	hdr []byte
}

func (r *headerOnlyReader) Read(p []byte) (int, error) {
	if len(r.hdr) == 0 {
		r.t.Errorf("Recv read past the header of an oversized frame")
		return 0, io.EOF
	}
	n := copy(p, r.hdr)
	r.hdr = r.hdr[n:]
	return n, nil
}

func TestRecvRefusesOversizedFrame(t *testing.T) {
	for _, n := range []uint32{maxFrame + 1, 1 << 30, ^uint32(0)} {
		hdr := binary.NativeEndian.AppendUint32(nil, uint32(Config))
		hdr = binary.NativeEndian.AppendUint32(hdr, n)

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, p, err := Recv(&headerOnlyReader{t: t, hdr: hdr})
		runtime.ReadMemStats(&after)

		if err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("Recv of a %d-byte frame = %v, want a 'too large' error", n, err)
		}
		if p != nil {
			t.Errorf("Recv of a %d-byte frame returned a %d-byte payload", n, len(p))
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("Recv of a refused %d-byte frame allocated %d bytes", n, grew)
		}
	}
}

func TestRecvAcceptsFrameAtLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 64 MiB")
	}
	hdr := binary.NativeEndian.AppendUint32(nil, uint32(Config))
	hdr = binary.NativeEndian.AppendUint32(hdr, maxFrame)
	r := io.MultiReader(bytes.NewReader(hdr), io.LimitReader(zeroReader{}, maxFrame))
	typ, p, err := Recv(r)
	if err != nil {
		t.Fatalf("Recv of a frame of exactly maxFrame bytes = %v", err)
	}
	if typ != Config || len(p) != maxFrame {
		t.Errorf("got (%v, %d bytes), want (config, %d bytes)", typ, len(p), maxFrame)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestRecvEOF(t *testing.T) {
	if _, _, err := Recv(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("Recv on an empty stream = %v, want io.EOF", err)
	}
	if _, _, err := Recv(bytes.NewReader([]byte{1, 0})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Recv on a cut header = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestU32(t *testing.T) {
	for _, v := range []uint32{0, 1, 4242, 1 << 31, ^uint32(0)} {
		got, err := U32(binary.NativeEndian.AppendUint32(nil, v))
		if err != nil || got != v {
			t.Errorf("U32(encode(%d)) = (%d, %v)", v, got, err)
		}
	}
	for _, n := range []int{0, 3, 5, 8} {
		if _, err := U32(make([]byte, n)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("got %d bytes", n)) {
			t.Errorf("U32 of %d bytes = %v, want a length error", n, err)
		}
	}
	// A pid sent the way the C side sends it decodes.
	var buf bytes.Buffer
	if err := Send(&buf, InitPid, binary.NativeEndian.AppendUint32(nil, 31337)); err != nil {
		t.Fatal(err)
	}
	p, err := Expect(&buf, InitPid, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := U32(p); err != nil || pid != 31337 {
		t.Errorf("pid = (%d, %v), want 31337", pid, err)
	}
}

type attr struct {
	kind  uint32
	value []byte
}

// parseAttrs decodes a bootstrap payload as documented: back-to-back
// u32 attr | u32 len | value, host byte order.
func parseAttrs(t *testing.T, b []byte) []attr {
	t.Helper()
	var out []attr
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("%d trailing bytes, too short for an attribute header", len(b))
		}
		kind := binary.NativeEndian.Uint32(b[0:])
		n := binary.NativeEndian.Uint32(b[4:])
		b = b[8:]
		if uint64(n) > uint64(len(b)) {
			t.Fatalf("attribute %d claims %d bytes, %d left", kind, n, len(b))
		}
		out = append(out, attr{kind, b[:n]})
		b = b[n:]
	}
	return out
}

func TestBootstrapPayload(t *testing.T) {
	flags := uint32(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS)
	paths := []NsPath{
		{Flag: unix.CLONE_NEWNET, Path: "/var/run/netns/test"},
		{Flag: unix.CLONE_NEWIPC, Path: "/proc/1/ns/ipc"},
		{Flag: unix.CLONE_NEWUSER, Path: "/p"},
	}
	attrs := parseAttrs(t, BootstrapPayload(flags, paths, "", nil))
	if len(attrs) != 1+len(paths) {
		t.Fatalf("got %d attributes, want %d", len(attrs), 1+len(paths))
	}
	if attrs[0].kind != AttrCloneFlags {
		t.Fatalf("first attribute = %d, want clone flags (%d)", attrs[0].kind, AttrCloneFlags)
	}
	if len(attrs[0].value) != 4 || binary.NativeEndian.Uint32(attrs[0].value) != flags {
		t.Errorf("clone flags value = % x, want u32 %#x", attrs[0].value, flags)
	}
	for i, p := range paths {
		a := attrs[1+i]
		if a.kind != AttrNsPath {
			t.Errorf("attribute %d = %d, want ns path (%d)", 1+i, a.kind, AttrNsPath)
			continue
		}
		if len(a.value) != 4+len(p.Path) {
			t.Errorf("ns path %d: value is %d bytes, want 4 + %d (no NUL)", i, len(a.value), len(p.Path))
			continue
		}
		if f := binary.NativeEndian.Uint32(a.value); f != p.Flag {
			t.Errorf("ns path %d: flag %#x, want %#x", i, f, p.Flag)
		}
		if got := string(a.value[4:]); got != p.Path {
			t.Errorf("ns path %d: path %q, want %q", i, got, p.Path)
		}
	}
}

func TestBootstrapPayloadNoPaths(t *testing.T) {
	b := BootstrapPayload(0, nil, "", nil)
	want := binary.NativeEndian.AppendUint32(nil, AttrCloneFlags)
	want = binary.NativeEndian.AppendUint32(want, 4)
	want = binary.NativeEndian.AppendUint32(want, 0)
	if !bytes.Equal(b, want) {
		t.Errorf("BootstrapPayload(0, nil) = % x, want % x", b, want)
	}
}

// TestBootstrapOverStream sends the payload as nsenter receives it.
func TestBootstrapOverStream(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	payload := BootstrapPayload(unix.CLONE_NEWUSER, []NsPath{{Flag: unix.CLONE_NEWNET, Path: "/run/netns/x"}}, "", nil)
	go Send(a, Bootstrap, payload)
	typ, got, err := Recv(b)
	if err != nil {
		t.Fatal(err)
	}
	if typ != Bootstrap || !bytes.Equal(got, payload) {
		t.Errorf("received (%v, % x), want (bootstrap, % x)", typ, got, payload)
	}
}

func TestBootstrapPayloadTimeOffsets(t *testing.T) {
	const offsets = "monotonic 5 0\nboottime 86400 0\n"
	attrs := parseAttrs(t, BootstrapPayload(unix.CLONE_NEWTIME, nil, offsets, nil))
	if len(attrs) != 2 || attrs[1].kind != AttrTimeOffsets || string(attrs[1].value) != offsets {
		t.Fatalf("attributes = %+v, want clone flags then time offsets %q", attrs, offsets)
	}
}

func TestBootstrapPayloadOOMScoreAdj(t *testing.T) {
	for _, v := range []int{-999, 0, 1000} {
		attrs := parseAttrs(t, BootstrapPayload(0, nil, "", &v))
		want := strconv.Itoa(v)
		if len(attrs) != 2 || attrs[1].kind != AttrOOMScoreAdj || string(attrs[1].value) != want {
			t.Errorf("oomScoreAdj %d: attributes = %+v, want clone flags then %q", v, attrs, want)
		}
	}
	if attrs := parseAttrs(t, BootstrapPayload(0, nil, "", nil)); len(attrs) != 1 {
		t.Errorf("no oomScoreAdj: attributes = %+v, want the clone flags alone", attrs)
	}
}
