package devices

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unionBPFAttr618 is sizeof(union bpf_attr) in Linux 6.18 (BPF_PROG_LOAD's
// member, up to keyring_id): the least a BPF_PROG_QUERY attr must span for
// the kernel's writes to stay inside it.
const unionBPFAttr618 = 168

// fakeQueryKernel answers BPF_PROG_QUERY as Linux 6.17 to 7.1 do: it writes
// query.revision (bytes 56..63) whatever size it was given, and it asks for
// a larger buffer (ENOSPC) when ids do not fit.
type fakeQueryKernel struct {
	t     *testing.T
	ids   []uint32
	sizes []uintptr
}

func (k *fakeQueryKernel) call(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	k.sizes = append(k.sizes, size)
	if cmd != unix.BPF_PROG_QUERY {
		k.t.Fatalf("bpf command %d, want BPF_PROG_QUERY", cmd)
	}
	if size < unionBPFAttr618 {
		// The real kernel would now write 8 bytes past the caller's attr.
		k.t.Fatalf("BPF_PROG_QUERY with a %d-byte attr: the kernel writes query.revision at bytes 56..63 of a %d-byte union", size, unionBPFAttr618)
	}
	b := unsafe.Slice((*byte)(attr), size)
	// The kernel refuses (E2BIG) an attr with non-zero bytes past what it
	// knows; nook sets nothing past prog_cnt.
	if !bytes.Equal(b[32:], make([]byte, size-32)) {
		k.t.Fatalf("attr bytes past prog_cnt are not zero: % x", b[32:])
	}
	if fd := binary.NativeEndian.Uint32(b[0:]); fd != 42 {
		k.t.Errorf("target_fd %d, want 42", fd)
	}
	if typ := binary.NativeEndian.Uint32(b[4:]); typ != unix.BPF_CGROUP_DEVICE {
		k.t.Errorf("attach_type %d, want BPF_CGROUP_DEVICE", typ)
	}
	binary.NativeEndian.PutUint64(b[56:], 0xdeadbeefcafe) // revision
	room := binary.NativeEndian.Uint32(b[24:])
	binary.NativeEndian.PutUint32(b[24:], uint32(len(k.ids)))
	if int(room) < len(k.ids) {
		return -1, unix.ENOSPC
	}
	// prog_ids holds the buffer's address, read here as the kernel reads
	// it (nook's code pins the buffer while it is in there).
	dst := unsafe.Slice((*uint32)(*(*unsafe.Pointer)(unsafe.Pointer(&b[16]))), room)
	copy(dst, k.ids)
	return 0, nil
}

// Every BPF_PROG_QUERY passes a whole bpf_attr, so that a kernel writing
// query.revision regardless of the size writes inside it.
func TestProgQueryPassesWholeBPFAttr(t *testing.T) {
	k := &fakeQueryKernel{t: t}
	for i := range 11 { // more than the first buffer holds: the retry too
		k.ids = append(k.ids, uint32(100+i))
	}
	got, err := queryDeviceProgramIDs(k.call, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, k.ids) {
		t.Errorf("ids %v, want %v", got, k.ids)
	}
	if len(k.sizes) != 2 {
		t.Errorf("%d queries, want 2 (ENOSPC, then the ids)", len(k.sizes))
	}
	if unsafe.Sizeof(progQueryAttr{}) != bpfAttrSize {
		t.Errorf("progQueryAttr is %d bytes, want bpfAttrSize (%d)", unsafe.Sizeof(progQueryAttr{}), bpfAttrSize)
	}
}

// The real kernel's answer stays inside the attr nook passes: bytes right
// after it are untouched. Linux 6.17 to 7.1 wrote 8 bytes into them when
// the attr stopped at prog_cnt (a kernel with the fix backported, as this
// machine's 6.18 is, writes nothing there either way: the fake above is
// what holds nook to the whole attr).
func TestProgQueryKernelWritesInsideAttr(t *testing.T) {
	needCgroup2(t)
	cg, err := openCgroup2(makeTestCgroup(t, v2Root))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cg)
	var guarded struct {
		attr  progQueryAttr
		after [64]byte
	}
	for i := range guarded.after {
		guarded.after[i] = 0xa5
	}
	var ids [8]uint32
	guarded.attr.targetFD = uint32(cg)
	guarded.attr.attachType = unix.BPF_CGROUP_DEVICE
	guarded.attr.progIDs = uint64(uintptr(unsafe.Pointer(&ids[0])))
	guarded.attr.progCount = uint32(len(ids))
	if _, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&guarded.attr), unsafe.Sizeof(guarded.attr)); err != nil {
		t.Fatalf("BPF_PROG_QUERY: %v", err)
	}
	if guarded.attr.progCount != 0 {
		t.Errorf("a new cgroup has %d device programs", guarded.attr.progCount)
	}
	if !bytes.Equal(guarded.after[:], bytes.Repeat([]byte{0xa5}, len(guarded.after))) {
		t.Errorf("the kernel wrote past the %d-byte attr: % x", unsafe.Sizeof(guarded.attr), guarded.after[:16])
	}
}
