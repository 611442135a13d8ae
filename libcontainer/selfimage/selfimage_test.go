package selfimage

import (
	"bufio"
	"debug/elf"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const page = 4096

func TestReadOnlySegmentsOfAStaticProgram(t *testing.T) {
	// nook's own layout: headers, text, rodata, then data+bss sharing its
	// first page with the end of rodata; no PT_PHDR.
	phdrs := []Phdr{
		{Type: ptLoad, Flags: 4, Vaddr: 0x400000, Filesz: 0x288},
		{Type: ptLoad, Flags: 5, Vaddr: 0x401000, Filesz: 0x3ad422},
		{Type: ptLoad, Flags: 4, Vaddr: 0x7af000, Filesz: 0x4096a4},
		{Type: ptLoad, Flags: 6, Vaddr: 0xbb9810, Filesz: 0x355f1},
		{Type: 4 /* PT_NOTE */, Flags: 4, Vaddr: 0x400200, Filesz: 0x88},
	}
	got := ReadOnlySegments(phdrs, 0x400040, page)
	want := []Range{
		// The header segment has no whole page: none.
		{0x401000, 0x7ae000}, // text, its last partial page kept
		{0x7af000, 0xbb8000}, // rodata, up to the page data shares
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ranges %#x, want %#x", got, want)
	}
}

func TestReadOnlySegmentsAreBiasedByPTPhdr(t *testing.T) {
	phdrs := []Phdr{
		{Type: ptPhdr, Flags: 4, Vaddr: 0x40, Filesz: 0x1c0},
		{Type: ptLoad, Flags: 5, Vaddr: 0x1000, Filesz: 0x3000},
		{Type: ptLoad, Flags: 6, Vaddr: 0x5000, Filesz: 0x2000},
	}
	const base = 0x7f0000000000
	got := ReadOnlySegments(phdrs, base+0x40, page)
	if want := []Range{{base + 0x1000, base + 0x4000}}; !slices.Equal(got, want) {
		t.Fatalf("ranges %#x, want %#x", got, want)
	}
}

func TestNoRangeWhenTheLoadAddressCannotBeTold(t *testing.T) {
	// No PT_PHDR, and AT_PHDR outside every segment: a position-independent
	// program loaded elsewhere. Guessing would drop someone else's pages.
	phdrs := []Phdr{{Type: ptLoad, Flags: 5, Vaddr: 0x1000, Filesz: 0x3000}}
	if got := ReadOnlySegments(phdrs, 0x7f0000000040, page); got != nil {
		t.Fatalf("ranges %#x for an unknown load address, want none", got)
	}
}

// The test binary's own segments, as Own finds them through the auxiliary
// vector, are read-only mappings of the test binary, one per read-only
// loadable segment its ELF file has.
func TestOwnMatchesTheMappedProgram(t *testing.T) {
	ranges, err := Own()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	wantN := 0
	for _, p := range exe.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 && p.Filesz >= 2*page {
			wantN++
		}
	}
	if len(ranges) == 0 || len(ranges) < wantN {
		t.Fatalf("%d ranges (%#x), want one per read-only segment of at least two pages (%d)", len(ranges), ranges, wantN)
	}
	maps := readMaps(t)
	for _, r := range ranges {
		m, ok := mappingOf(maps, r.Start)
		if !ok || r.End > m.end {
			t.Errorf("range %#x is not inside one mapping", r)
			continue
		}
		if strings.Contains(m.perms, "w") {
			t.Errorf("range %#x is in a writable mapping %q", r, m.perms)
		}
		if m.inode == "0" {
			t.Errorf("range %#x is in an anonymous mapping", r)
		}
	}
}

func TestReleaseAndWaitWaitsAndLeavesTheProgramRunning(t *testing.T) {
	ranges, err := Own()
	if err != nil {
		t.Fatal(err)
	}
	var want uintptr
	for _, r := range ranges {
		want += r.Len()
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	written := make(chan time.Time, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		written <- time.Now()
		unix.Write(p[1], []byte{0})
	}()
	n, err := ReleaseAndWait(p[0])
	returned := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if n != want || n == 0 {
		t.Fatalf("released %d bytes, want %d", n, want)
	}
	if w := <-written; returned.Before(w) {
		t.Fatalf("returned before the fd was readable")
	}
	// Code and constants come back from the page cache as they are used.
	if got := strconv.Itoa(len(strings.Repeat("ab", 21))); got != "42" {
		t.Fatalf("after the release the program computes %q", got)
	}
}

type mapping struct {
	start, end   uintptr
	perms, inode string
}

func readMaps(t *testing.T) []mapping {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		s, err1 := strconv.ParseUint(lo, 16, 64)
		e, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad maps line %q", sc.Text())
		}
		out = append(out, mapping{uintptr(s), uintptr(e), fields[1], fields[4]})
	}
	return out
}

func mappingOf(maps []mapping, addr uintptr) (mapping, bool) {
	for _, m := range maps {
		if m.start <= addr && addr < m.end {
			return m, true
		}
	}
	return mapping{}, false
}
