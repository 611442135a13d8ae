package explain

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The ELF header is read here rather than with debug/elf: importing
// debug/elf links compress/flate, internal/zstd and debug/dwarf, whose
// package initialisation (~0.15 ms) every nook process would pay, the
// container's init included, for a reader only a failed exec uses. The
// tests check this reader against debug/elf.

// ELF values used here (elf(5)).
const (
	emX86_64    = 62
	em386       = 3
	emAARCH64   = 183
	emARM       = 40
	emRISCV     = 243
	emPPC64     = 21
	emS390      = 22
	emLOONGARCH = 258
	emMIPS      = 8

	etExec   = 2
	etDyn    = 3
	ptInterp = 3
)

// elfInfo is what exec needs to know of an ELF file.
type elfInfo struct {
	machine uint16
	typ     uint16
	// interp is the PT_INTERP path: the dynamic loader ("" if static).
	interp string
}

// maxProgHeaders bounds the program headers read (the kernel refuses
// tables over 64 KiB; real binaries have about a dozen).
const maxProgHeaders = 1024

// readELF reads f's ELF header and its PT_INTERP; ok is false for a file
// that is not a well-formed 32- or 64-bit ELF file.
func readELF(f io.ReaderAt) (info elfInfo, ok bool) {
	hdr := make([]byte, 64)
	if n, _ := f.ReadAt(hdr, 0); n < 52 || string(hdr[:4]) != "\x7fELF" {
		return info, false
	}
	var bo binary.ByteOrder
	switch hdr[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return info, false
	}
	info.typ, info.machine = bo.Uint16(hdr[16:]), bo.Uint16(hdr[18:])
	var phoff uint64
	var phentsize, phnum, minEnt uint16
	switch hdr[4] {
	case 1: // ELFCLASS32
		phoff, phentsize, phnum, minEnt = uint64(bo.Uint32(hdr[28:])), bo.Uint16(hdr[42:]), bo.Uint16(hdr[44:]), 32
	case 2: // ELFCLASS64
		phoff, phentsize, phnum, minEnt = bo.Uint64(hdr[32:]), bo.Uint16(hdr[54:]), bo.Uint16(hdr[56:]), 56
	default:
		return info, false
	}
	if phnum == 0 {
		return info, true
	}
	if phentsize < minEnt || phnum > maxProgHeaders {
		return info, false
	}
	ph := make([]byte, phentsize)
	for i := uint64(0); i < uint64(phnum); i++ {
		if _, err := f.ReadAt(ph, int64(phoff+i*uint64(phentsize))); err != nil {
			return info, false
		}
		if bo.Uint32(ph) != ptInterp {
			continue
		}
		var off, size uint64
		if minEnt == 32 {
			off, size = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:]))
		} else {
			off, size = bo.Uint64(ph[8:]), bo.Uint64(ph[32:])
		}
		if size < 2 || size > unix.PathMax {
			return info, false // the kernel refuses it too
		}
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, int64(off)); err != nil {
			return info, false
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			buf = buf[:i]
		}
		info.interp = string(buf)
		return info, true
	}
	return info, true
}

// hostMachines are the ELF machines this host runs: its own and the
// 32-bit one its kernel usually runs too (compat mode); nil when this
// build's architecture is not listed (nothing is then said).
func hostMachines() []uint16 {
	switch runtime.GOARCH {
	case "amd64":
		return []uint16{emX86_64, em386}
	case "386":
		return []uint16{em386}
	case "arm64":
		return []uint16{emAARCH64, emARM}
	case "arm":
		return []uint16{emARM}
	case "riscv64":
		return []uint16{emRISCV}
	case "ppc64le", "ppc64":
		return []uint16{emPPC64}
	case "s390x":
		return []uint16{emS390}
	case "loong64":
		return []uint16{emLOONGARCH}
	case "mips", "mipsle", "mips64", "mips64le":
		return []uint16{emMIPS}
	}
	return nil
}

// hostRuns says whether this host executes binaries for machine m.
func hostRuns(m uint16) bool {
	list := hostMachines()
	if list == nil {
		return true
	}
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

// archName is the usual name of an ELF machine, for messages.
func archName(m uint16) string {
	switch m {
	case emX86_64:
		return "amd64"
	case em386:
		return "386"
	case emAARCH64:
		return "arm64"
	case emARM:
		return "arm"
	case emRISCV:
		return "riscv64"
	case emPPC64:
		return "ppc64"
	case emS390:
		return "s390x"
	case emLOONGARCH:
		return "loong64"
	case emMIPS:
		return "mips"
	}
	return fmt.Sprintf("ELF machine %d", m)
}

// checkELF checks an ELF file's machine, type and dynamic loader.
func (r *Root) checkELF(p string, f *os.File, hdr []byte) *Problem {
	info, ok := readELF(f)
	if !ok {
		return &Problem{Kind: BadFormat, Path: p,
			Message: fmt.Sprintf("%s starts like an ELF file but its headers are damaged or cut short", p),
			Hint:    "copy the program into the image again"}
	}
	if !hostRuns(info.machine) && !binfmtHandles(hdr) {
		return &Problem{Kind: WrongArch, Path: p,
			Message: fmt.Sprintf("%s is %s binary on %s host", p, withArticle(archName(info.machine)), withArticle(runtime.GOARCH)),
			Hint:    fmt.Sprintf("use an image built for linux/%s (or register an emulator for %s with binfmt_misc)", runtime.GOARCH, archName(info.machine))}
	}
	if info.typ != etExec && info.typ != etDyn {
		return &Problem{Kind: BadFormat, Path: p,
			Message: fmt.Sprintf("%s is an ELF file of type %d, not an executable (object file, core dump...)", p, info.typ),
			Hint:    "name a program in process.args[0]"}
	}
	if info.interp == "" {
		return nil // static
	}
	return r.checkLoader(p, info.interp)
}

// checkLoader: the dynamic loader must exist and be for this machine.
func (r *Root) checkLoader(p, loader string) *Problem {
	lp := r.abs(loader)
	lf, err := r.openFile(lp)
	if err == nil {
		defer lf.Close()
		return loaderArch(p, loader, lf)
	}
	if prob := r.openProblem(lp, err); prob == nil || prob.Kind != NotFound {
		return nil
	}
	msg := fmt.Sprintf("the dynamic loader %s that %s needs does not exist in the container", loader, p)
	if target, ok := r.readlink(lp); ok {
		msg += fmt.Sprintf(" (it is a symbolic link to %s, which does not)", target)
	}
	return &Problem{Kind: LoaderMissing, Path: loader, Message: msg,
		Hint: fmt.Sprintf("add the C library %s was linked against to the image, or build it statically", p)}
}

// loaderArch: the kernel refuses (ELIBBAD) a loader for another machine.
func loaderArch(p, loader string, lf *os.File) *Problem {
	info, ok := readELF(lf)
	if !ok || hostRuns(info.machine) {
		return nil
	}
	return &Problem{Kind: WrongArch, Path: loader,
		Message: fmt.Sprintf("the dynamic loader %s that %s needs is %s binary on %s host", loader, p, withArticle(archName(info.machine)), withArticle(runtime.GOARCH)),
		Hint:    fmt.Sprintf("use an image built for linux/%s", runtime.GOARCH)}
}

// withArticle puts "a" or "an" before an architecture name.
func withArticle(name string) string {
	if name != "" && bytes.IndexByte([]byte("aeiouAEIOU"), name[0]) >= 0 {
		return "an " + name
	}
	return "a " + name
}
