package devices

import (
	"bytes"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The few bpf(2) calls SetV2 makes, done directly: cilium/ebpf's loader
// probes the kernel and scans mountinfo for BPF tokens on its first use,
// which cost more than the load itself in a short-lived `nook create`, and
// its packages slow every nook command's start (see bpf_insn.go).
// Each attr below is the member of union bpf_attr for its command, cut
// after the last field used (the kernel zero-fills a shorter attr).
// Every fd the kernel returns for a BPF object is already O_CLOEXEC.

// bpf makes one call, retrying a load the verifier gave up on because a
// signal arrived.
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		if errno == unix.EAGAIN && cmd == unix.BPF_PROG_LOAD {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

// pointer turns a buffer into a bpf_attr address. Pinning makes the
// buffer escape to the heap and stay put while the kernel reads it.
func pointer(pin *runtime.Pinner, p unsafe.Pointer) uint64 {
	pin.Pin(p)
	return uint64(uintptr(p))
}

type progLoadAttr struct {
	progType           uint32
	insnCount          uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// verifierLogSize bounds the log fetched when a load fails; the verifier
// states its complaint in the last lines.
const verifierLogSize = 64 << 10

// loadDeviceProgram loads insns as a BPF_PROG_TYPE_CGROUP_DEVICE program
// named name and returns its fd.
func loadDeviceProgram(name string, insns []insn) (int, error) {
	code, err := assemble(insns)
	if err != nil {
		return -1, fmt.Errorf("assembling the device filter: %w", err)
	}
	if len(code) == 0 {
		return -1, fmt.Errorf("assembling the device filter: no instructions")
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	// Only gates GPL-only helpers, and the program calls none.
	license, _ := unix.BytePtrFromString("Apache-2.0")
	attr := progLoadAttr{
		progType:           unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCount:          uint32(len(code) / 8),
		insns:              pointer(&pin, unsafe.Pointer(&code[0])),
		license:            pointer(&pin, unsafe.Pointer(license)),
		expectedAttachType: unix.BPF_CGROUP_DEVICE,
	}
	copy(attr.progName[:unix.BPF_OBJ_NAME_LEN-1], name)
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != unix.EACCES && err != unix.EINVAL {
		return fd, err
	}
	// Rejected by the verifier (a bug here): load again for its reasons.
	log := make([]byte, verifierLogSize)
	attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), pointer(&pin, unsafe.Pointer(&log[0]))
	fd, err2 := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err2 == nil {
		return fd, nil
	}
	if msg := lastLines(log, 3); msg != "" {
		return -1, fmt.Errorf("%w: verifier: %s", err, msg)
	}
	return -1, err
}

// lastLines is the end of a NUL-terminated verifier log, on one line.
func lastLines(log []byte, n int) string {
	if end := bytes.IndexByte(log, 0); end >= 0 {
		log = log[:end]
	}
	lines := bytes.Split(bytes.TrimSpace(log), []byte("\n"))
	lines = lines[max(0, len(lines)-n):]
	return string(bytes.Join(lines, []byte("; ")))
}

type progAttachAttr struct {
	targetFD    uint32
	attachBPFFD uint32
	attachType  uint32
	attachFlags uint32
}

// attachDeviceProgram attaches prog to the cgroup cg next to whatever is
// attached there already; a request must then pass every program.
func attachDeviceProgram(cg, prog int) error {
	attr := progAttachAttr{targetFD: uint32(cg), attachBPFFD: uint32(prog), attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	_, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

func detachDeviceProgram(cg, prog int) error {
	attr := progAttachAttr{targetFD: uint32(cg), attachBPFFD: uint32(prog), attachType: unix.BPF_CGROUP_DEVICE}
	_, err := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// bpfAttrSize is the size nook passes with BPF_PROG_QUERY: at least that of
// the kernel's whole union bpf_attr (144 bytes in Linux 6.1, 168 in 6.18,
// with room to grow). Kernels 6.17 to 7.1 write query.revision, bytes 56
// to 63, whatever size the caller passed (fixed by kernel commit
// 21c4b99b27f3, as runc 1.5.2 notes): with the attr cut after prog_cnt, 32
// bytes, that write landed 24 bytes past it, in whatever Go had put there.
// A kernel checks that the bytes past its own union are zero, and they are.
const bpfAttrSize = 256

// progQueryAttr is union bpf_attr for BPF_PROG_QUERY, whole: see
// bpfAttrSize.
type progQueryAttr struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCount   uint32
	_           uint32
	// prog_attach_flags, link_ids, link_attach_flags, revision, and the
	// rest of the union: unused, zero, and where such a kernel writes.
	_ [bpfAttrSize - 32]byte
}

// bpfCall is the signature of bpf, so that a test can stand in for the
// kernel.
type bpfCall func(cmd int, attr unsafe.Pointer, size uintptr) (int, error)

// attachedDeviceProgramIDs lists the device programs attached to the
// cgroup cg itself (not those inherited from its parents).
func attachedDeviceProgramIDs(cg int) ([]uint32, error) {
	return queryDeviceProgramIDs(bpf, cg)
}

func queryDeviceProgramIDs(call bpfCall, cg int) ([]uint32, error) {
	ids := make([]uint32, 8)
	for {
		var pin runtime.Pinner
		attr := progQueryAttr{
			targetFD:   uint32(cg),
			attachType: unix.BPF_CGROUP_DEVICE,
			progIDs:    pointer(&pin, unsafe.Pointer(&ids[0])),
			progCount:  uint32(len(ids)),
		}
		_, err := call(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		pin.Unpin()
		if err == unix.ENOSPC && int(attr.progCount) > len(ids) {
			ids = make([]uint32, attr.progCount)
			continue
		}
		if err != nil {
			return nil, err
		}
		return ids[:attr.progCount], nil
	}
}

type progGetFDAttr struct {
	progID    uint32
	nextID    uint32
	openFlags uint32
}

// programFD opens the program with the given id.
func programFD(id uint32) (int, error) {
	attr := progGetFDAttr{progID: id}
	return bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

type objInfoAttr struct {
	bpfFD   uint32
	infoLen uint32
	info    uint64
}

// progInfo is struct bpf_prog_info up to the name.
type progInfo struct {
	progType       uint32
	id             uint32
	tag            [unix.BPF_TAG_SIZE]byte
	jitedProgLen   uint32
	xlatedProgLen  uint32
	jitedProgInsns uint64
	xlatedInsns    uint64
	loadTime       uint64
	createdByUID   uint32
	nrMapIDs       uint32
	mapIDs         uint64
	name           [unix.BPF_OBJ_NAME_LEN]byte
}

// programInfo reads the id and name of the program prog.
func programInfo(prog int) (id uint32, name string, err error) {
	info := new(progInfo)
	var pin runtime.Pinner
	defer pin.Unpin()
	attr := objInfoAttr{bpfFD: uint32(prog), infoLen: uint32(unsafe.Sizeof(*info)), info: pointer(&pin, unsafe.Pointer(info))}
	if _, err := bpf(unix.BPF_OBJ_GET_INFO_BY_FD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return 0, "", err
	}
	return info.id, unix.ByteSliceToString(info.name[:]), nil
}
