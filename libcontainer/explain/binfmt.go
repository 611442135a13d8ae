package explain

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// binfmtDir is where binfmt_misc shows its handlers (when mounted).
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// binfmtHandles says whether an enabled binfmt_misc handler (qemu-user for
// another machine's binaries, say) recognises a file by its first bytes:
// the kernel then runs it through that handler instead of refusing it.
// Only read when the file is not something the kernel runs natively.
func binfmtHandles(hdr []byte) bool {
	if status, err := os.ReadFile(filepath.Join(binfmtDir, "status")); err != nil || strings.TrimSpace(string(status)) != "enabled" {
		return false
	}
	entries, err := os.ReadDir(binfmtDir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() == "status" || e.Name() == "register" {
			continue
		}
		if h, ok := readBinfmt(filepath.Join(binfmtDir, e.Name())); ok && h.matches(hdr) {
			return true
		}
	}
	return false
}

// binfmtEntry is one enabled magic-number handler.
type binfmtEntry struct {
	offset      int
	magic, mask []byte
}

// readBinfmt reads a handler file; ok is false for a disabled handler or
// one that matches by file name extension.
func readBinfmt(path string) (h binfmtEntry, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return h, false
	}
	defer f.Close()
	enabled := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "enabled":
			enabled = true
		case "offset":
			h.offset, _ = strconv.Atoi(val)
		case "magic":
			h.magic, _ = hex.DecodeString(val)
		case "mask":
			h.mask, _ = hex.DecodeString(val)
		}
	}
	return h, enabled && len(h.magic) > 0
}

func (h binfmtEntry) matches(hdr []byte) bool {
	if h.offset < 0 || h.offset+len(h.magic) > len(hdr) {
		return false
	}
	for i, want := range h.magic {
		diff := hdr[h.offset+i] ^ want
		if i < len(h.mask) {
			diff &= h.mask[i]
		}
		if diff != 0 {
			return false
		}
	}
	return true
}
