package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// cacheFormat changes whenever the cache entry format or the way a plan
// compiles changes, so old entries are never misread.
// v2: programs carry the ENOSYS stub, and the key names every syscall of
// the profile.
const cacheFormat = "nook-seccomp-bpf-v2"

// maxCacheEntries bounds the cache directory: engines use a handful of
// profiles, and a miss (which already costs a libseccomp compile) prunes.
const maxCacheEntries = 64

// cacheSuffix names cache entry files: <sha256 hex of the key><suffix>.
const cacheSuffix = ".bpf"

// cacheEntry is what a cache file holds: the compiled program and the notes
// the compile produced, replayed to debugf on a hit. On disk it is a small
// binary record (JSON's base64 decoding cost more than everything else on
// a hit): cacheFormat, the note count, each note length-prefixed, then the
// BPF program to the end of the file.
type cacheEntry struct {
	Filter []byte
	Notes  []string
}

func (e *cacheEntry) marshal() []byte {
	buf := make([]byte, 0, len(cacheFormat)+8+len(e.Filter)+64*len(e.Notes))
	buf = append(buf, cacheFormat...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(e.Notes)))
	for _, n := range e.Notes {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(n)))
		buf = append(buf, n...)
	}
	return append(buf, e.Filter...)
}

func unmarshalCacheEntry(data []byte) (*cacheEntry, error) {
	bad := errors.New("malformed cache entry")
	rest, ok := bytes.CutPrefix(data, []byte(cacheFormat))
	if !ok || len(rest) < 4 {
		return nil, bad
	}
	count := binary.LittleEndian.Uint32(rest)
	rest = rest[4:]
	e := &cacheEntry{}
	for range count {
		if len(rest) < 4 {
			return nil, bad
		}
		n := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(len(rest)) < uint64(n) {
			return nil, bad
		}
		e.Notes = append(e.Notes, string(rest[:n]))
		rest = rest[n:]
	}
	e.Filter = rest
	if _, err := (&Program{Filter: e.Filter}).Instructions(); err != nil {
		return nil, err
	}
	return e, nil
}

// cacheKey hashes everything that shapes the BPF program: the validated
// plan (actions with their errnos, architectures, rules after condition
// splitting, field names used in notes, every syscall name including those
// of skipped entries, which set the ENOSYS stub's limits), the libseccomp
// version (its syscall tables) and the machine architecture. Flags,
// listenerPath and listenerMetadata are not in the program and not in the
// key: they are re-derived on every call.
func (p *plan) cacheKey() string {
	buf := make([]byte, 0, 8<<10)
	str := func(s string) {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	num := func(v uint64) { buf = binary.LittleEndian.AppendUint64(buf, v) }
	str(cacheFormat)
	str(LibseccompVersion())
	str(runtime.GOARCH)
	num(uint64(p.defaultAction))
	num(uint64(len(p.archs)))
	for _, a := range p.archs {
		num(uint64(a))
	}
	num(uint64(len(p.names)))
	for _, n := range p.names {
		str(n)
	}
	num(uint64(len(p.rules)))
	for _, r := range p.rules {
		str(r.field)
		num(uint64(r.action))
		num(uint64(len(r.names)))
		for _, n := range r.names {
			str(n)
		}
		num(uint64(len(r.condSets)))
		for _, set := range r.condSets {
			num(uint64(len(set)))
			for _, c := range set {
				num(uint64(c.Argument))
				num(uint64(c.Op))
				num(c.Operand1)
				num(c.Operand2)
			}
		}
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

// readCache returns the entry stored under key, if a well-formed one exists.
func readCache(dir, key string) (*cacheEntry, bool) {
	data, err := os.ReadFile(filepath.Join(dir, key+cacheSuffix))
	if err != nil {
		return nil, false
	}
	e, err := unmarshalCacheEntry(data)
	if err != nil {
		return nil, false
	}
	return e, true
}

// writeCache stores an entry atomically (temp file + rename), so a reader
// never sees half an entry, and prunes the oldest entries past the bound.
func writeCache(dir, key string, e *cacheEntry) error {
	data := e.marshal()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+key+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, key+cacheSuffix)); err != nil {
		return err
	}
	return pruneCache(dir)
}

func pruneCache(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type aged struct {
		name string
		mod  int64
	}
	var files []aged
	for _, de := range entries {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), cacheSuffix) {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		files = append(files, aged{de.Name(), info.ModTime().UnixNano()})
	}
	if len(files) <= maxCacheEntries {
		return nil
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod < files[j].mod })
	for _, f := range files[:len(files)-maxCacheEntries] {
		os.Remove(filepath.Join(dir, f.name))
	}
	return nil
}
