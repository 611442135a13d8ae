package startup

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugePage = 2 << 20

// mappingFlags returns the VmFlags of the mapping of /proc/self/smaps that
// contains addr, failing the test when none does.
func mappingFlags(t *testing.T, p unsafe.Pointer) []string {
	t.Helper()
	addr := uintptr(p)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inside := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := mappingRange(line); ok {
			inside = lo <= addr && addr < hi
			continue
		}
		if inside && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:"))
		}
	}
	t.Fatalf("no mapping contains %#x", addr)
	return nil
}

// mappingRange parses the "lo-hi perms ..." header line of an smaps entry.
func mappingRange(line string) (lo, hi uintptr, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, dash := strings.Cut(r, "-")
	if !found || !dash {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(a, 16, 64)
	h, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(l), uintptr(h), true
}

func advisedHuge(t *testing.T, p unsafe.Pointer) bool {
	t.Helper()
	for _, f := range mappingFlags(t, p) {
		if f == "hg" {
			return true
		}
	}
	return false
}

// checkZeroedAndWritable reads and writes every page of [p, p+n).
func checkZeroedAndWritable(t *testing.T, p unsafe.Pointer, n int) {
	t.Helper()
	b := unsafe.Slice((*byte)(p), n)
	for i := 0; i < n; i += 4096 {
		if b[i] != 0 || b[n-1] != 0 {
			t.Fatalf("mapping at %#x is not zeroed at +%d", p, i)
		}
		b[i] = 1
	}
}

// TestSmallMappingsShareOneHugePage: the runtime's small read-write
// anonymous mappings are carved one after the other from one aligned,
// huge-page-advised 2 MiB region; once it is used up, and for any other
// kind of mapping, the wrapper maps what was asked. (This test binary is
// not linked with --wrap=mmap, so the region is the test's alone.)
func TestSmallMappingsShareOneHugePage(t *testing.T) {
	rw := unix.PROT_READ | unix.PROT_WRITE
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	first, err := mapThroughWrapper(nil, 256<<10, rw, anon)
	if err != nil {
		t.Fatal(err)
	}
	if uintptr(first)%hugePage != 0 {
		t.Fatalf("the first small mapping %p is not at the start of a huge page", first)
	}
	inRegion := func(p unsafe.Pointer) bool {
		return uintptr(p) >= uintptr(first) && uintptr(p) < uintptr(first)+hugePage
	}
	if !advisedHuge(t, first) {
		t.Errorf("the region at %p is not advised MADV_HUGEPAGE (VmFlags %v)", first, mappingFlags(t, first))
	}
	checkZeroedAndWritable(t, first, 256<<10)

	// Lengths are rounded up to whole pages, and nothing is handed out twice.
	next := unsafe.Add(first, 256<<10)
	for _, n := range []int{100, 4096, 69648, 256 << 10} {
		p, err := mapThroughWrapper(nil, n, rw, anon)
		if err != nil {
			t.Fatal(err)
		}
		if p != next {
			t.Fatalf("a %d-byte mapping is at %p, want the next free part of the region %p", n, p, next)
		}
		checkZeroedAndWritable(t, p, n)
		next = unsafe.Add(next, (n+4095)&^4095)
	}

	// Mappings the runtime makes for sparse or special uses are left alone.
	others := []struct {
		what        string
		n, prot, fl int
	}{
		{"larger than 256 KiB", 256<<10 + 4096, rw, anon},
		{"read-only", 4096, unix.PROT_READ, anon},
		{"reserved (PROT_NONE)", 4096, unix.PROT_NONE, anon},
		{"shared", 4096, rw, unix.MAP_SHARED | unix.MAP_ANONYMOUS},
		{"with other flags", 4096, rw, anon | unix.MAP_NORESERVE},
	}
	for _, o := range others {
		p, err := mapThroughWrapper(nil, o.n, o.prot, o.fl)
		if err != nil {
			t.Fatalf("%s: %v", o.what, err)
		}
		if inRegion(p) {
			t.Errorf("a mapping %s came from the region (%p)", o.what, p)
		}
		unix.Syscall(unix.SYS_MUNMAP, uintptr(p), uintptr(o.n), 0)
	}

	// Use the region up: the mapping that does not fit is an ordinary one.
	for uintptr(next)+256<<10 <= uintptr(first)+hugePage {
		p, err := mapThroughWrapper(nil, 256<<10, rw, anon)
		if err != nil {
			t.Fatal(err)
		}
		if p != next {
			t.Fatalf("mapping %p, want %p", p, next)
		}
		next = unsafe.Add(next, 256<<10)
	}
	p, err := mapThroughWrapper(nil, 256<<10, rw, anon)
	if err != nil {
		t.Fatal(err)
	}
	if inRegion(p) {
		t.Fatalf("a mapping past the region's end came from it (%p)", p)
	}
	checkZeroedAndWritable(t, p, 256<<10)
}

// TestHeapChunksAreAdvisedHuge: a read-write MAP_FIXED mapping of whole,
// aligned huge pages (the heap chunks the runtime maps over its
// reservation) is advised MADV_HUGEPAGE; a fixed mapping of part of a huge
// page is not.
func TestHeapChunksAreAdvisedHuge(t *testing.T) {
	reserved, err := unix.Mmap(-1, 0, 4*hugePage, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(reserved)
	start := unsafe.Pointer(&reserved[0])
	base := unsafe.Add(start, (hugePage-uintptr(start)%hugePage)%hugePage)
	rw := unix.PROT_READ | unix.PROT_WRITE
	fixed := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED

	chunk, err := mapThroughWrapper(base, 2*hugePage, rw, fixed)
	if err != nil || chunk != base {
		t.Fatalf("fixed mapping at %p: %p, %v", base, chunk, err)
	}
	if !advisedHuge(t, chunk) {
		t.Errorf("a 4 MiB heap chunk is not advised MADV_HUGEPAGE (VmFlags %v)", mappingFlags(t, chunk))
	}
	checkZeroedAndWritable(t, chunk, 2*hugePage)

	part := unsafe.Add(base, 2*hugePage)
	if _, err := mapThroughWrapper(part, 128<<10, rw, fixed); err != nil {
		t.Fatal(err)
	}
	if advisedHuge(t, part) {
		t.Errorf("a 128 KiB fixed mapping is advised MADV_HUGEPAGE")
	}
}
