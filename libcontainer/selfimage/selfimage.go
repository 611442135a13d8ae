// Package selfimage lets a long-waiting process give back its page-table
// entries for its own program's read-only pages (code and constant data).
//
// A container init parked in `created` is a whole nook binary (~8 MiB), and
// on a kernel whose page cache holds it in large folios nearly all of it is
// mapped into every init, which is what its RSS reports. The pages are the
// page cache's, shared by every nook process; only the mappings are the
// init's. MADV_DONTNEED on a private file mapping that was never written
// drops the mappings and nothing else: the next instruction fetched from a
// dropped page faults it back in from the page cache, with the same
// contents. The writable segment (data, bss) is never touched: dropping it
// would lose what the process wrote there.
//
// The segments come from the program headers the kernel mapped with the
// program (AT_PHDR in the auxiliary vector), not from /proc/self/maps: the
// init has already pivoted into the container's root, whose /proc is the
// container's to swap.
package selfimage

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ELF program header values this package reads (elf.h).
const (
	ptLoad = 1
	ptPhdr = 6
	pfW    = 2

	atPhdr  = 3 // AT_PHDR: where the program headers are mapped
	atPhent = 4 // AT_PHENT: the size of one
	atPhnum = 5 // AT_PHNUM: how many
)

// Phdr is a 64-bit ELF program header (Elf64_Phdr).
type Phdr struct {
	Type, Flags                             uint32
	Offset, Vaddr, Paddr, Filesz, Memsz, Al uint64
}

// Range is a page-aligned address range [Start, End).
type Range struct{ Start, End uintptr }

// Len is the range's size in bytes.
func (r Range) Len() uintptr { return r.End - r.Start }

// ReadOnlySegments returns the whole pages of the loadable segments the
// program cannot write, given its program headers and where the kernel
// mapped them (AT_PHDR). The load bias is AT_PHDR minus PT_PHDR's address;
// a program without PT_PHDR (nook's static, non-PIE build) is taken to be
// loaded at its link addresses, and only if AT_PHDR then falls inside one
// of its segments: otherwise nothing is returned, never a guessed range.
// Ranges are rounded inwards, so a page a writable segment shares is kept.
func ReadOnlySegments(phdrs []Phdr, atPhdrAddr uintptr, pageSize uintptr) []Range {
	var bias uintptr
	found := false
	for _, p := range phdrs {
		if p.Type == ptPhdr {
			bias, found = atPhdrAddr-uintptr(p.Vaddr), true
			break
		}
	}
	if !found {
		for _, p := range phdrs {
			if p.Type == ptLoad && uintptr(p.Vaddr) <= atPhdrAddr && atPhdrAddr < uintptr(p.Vaddr+p.Filesz) {
				found = true
				break
			}
		}
	}
	if !found {
		return nil
	}
	var out []Range
	for _, p := range phdrs {
		if p.Type != ptLoad || p.Flags&pfW != 0 {
			continue
		}
		start := (bias + uintptr(p.Vaddr) + pageSize - 1) &^ (pageSize - 1)
		end := (bias + uintptr(p.Vaddr+p.Filesz)) &^ (pageSize - 1)
		if end > start {
			out = append(out, Range{start, end})
		}
	}
	return out
}

// Own returns the read-only segments of the running program.
func Own() ([]Range, error) {
	auxv, err := unix.Auxv()
	if err != nil {
		return nil, fmt.Errorf("auxiliary vector: %w", err)
	}
	var phdr, phent, phnum uintptr
	for _, kv := range auxv {
		switch kv[0] {
		case atPhdr:
			phdr = kv[1]
		case atPhent:
			phent = kv[1]
		case atPhnum:
			phnum = kv[1]
		}
	}
	if phdr == 0 || phnum == 0 || phent != unsafe.Sizeof(Phdr{}) {
		return nil, fmt.Errorf("auxiliary vector: no 64-bit program headers (AT_PHDR %#x, AT_PHENT %d, AT_PHNUM %d)", phdr, phent, phnum)
	}
	// The kernel mapped the headers with the program; they stay mapped
	// for the life of the process.
	// (The address is read as a pointer through &phdr: it came from the
	// kernel, not from a Go pointer, which is what vet's check is about.)
	phdrs := unsafe.Slice(*(**Phdr)(unsafe.Pointer(&phdr)), phnum)
	return ReadOnlySegments(phdrs, phdr, uintptr(unix.Getpagesize())), nil
}
