// Package state keeps a container's record under the state root
// (<root>/<id>/state.json): the directory, its lock and atomic writes.
//
// Every command that touches an id holds the lock of that id's directory
// (flock on the directory fd) for as long as it reads or changes the record, so
// concurrent calls on one id are serialised. The record is replaced by rename,
// never rewritten in place, so a crash leaves either the old or the new one.
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/rawfile"
)

const (
	stateFile = "state.json"
	// FifoName is the start barrier: the init blocks reading it until
	// `start` writes a byte.
	FifoName = "exec.fifo"
)

// ErrNotExist is what callers match literally: engines treat "container does
// not exist" as "already gone".
var ErrNotExist = errors.New("container does not exist")

// ErrExist is returned by Create for an id that is in use.
var ErrExist = errors.New("container with id exists")

// idRule is the pattern ValidateID enforces, for error messages. It is
// checked by hand: compiling a regexp at start-up costs every command.
const idRule = `^[A-Za-z0-9][A-Za-z0-9_.+-]*$`

func idChar(c byte, first bool) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	case first:
		return false
	}
	return c == '_' || c == '.' || c == '+' || c == '-'
}

// ValidateID refuses ids that could act as paths (invariant 6).
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if len(id) > 1024 {
		return fmt.Errorf("invalid container id %.40q...: longer than 1024 characters", id)
	}
	bad := id == "." || id == ".."
	for i := 0; i < len(id) && !bad; i++ {
		bad = !idChar(id[i], i == 0)
	}
	if bad {
		return fmt.Errorf("invalid container id %q: must match %s (at most 1024 characters) and not be . or ..", id, idRule)
	}
	return nil
}

// Status values as the OCI state reports them.
const (
	Creating                      = specs.StateCreating
	Created                       = specs.StateCreated
	Running                       = specs.StateRunning
	Paused   specs.ContainerState = "paused"
	Stopped                       = specs.StateStopped
)

// Record is what nook keeps about a container: the OCI state fields plus what
// later commands need to find and verify its processes.
type Record struct {
	specs.State
	// Status as last written; the live status is derived by the caller from
	// the kernel (see libcontainer.Status), never trusted from here alone.
	Rootfs string `json:"rootfs"`
	// InitStartTime is field 22 of /proc/<pid>/stat when the init was
	// spawned: a pid whose start time differs is a reused pid.
	InitStartTime uint64            `json:"initStartTime,omitempty"`
	Created       time.Time         `json:"created"`
	Owner         string            `json:"owner"`
	Namespaces    map[string]string `json:"namespaces,omitempty"`
	// Config is the bundle's config as it was at create time; later commands
	// (delete's hooks, exec's defaults) read it from here, not from a bundle
	// that may have changed.
	Config *Config `json:"config,omitempty"`
	// Cgroup is where the container's cgroup is (saved before the init is
	// placed in it, so that delete --force finds even a half-made one).
	Cgroup *cgroups.State `json:"cgroup,omitempty"`
	// ExitKeeper is the pid of the process that records how the init
	// ends (libcontainer/exitinfo.go); 0 when it has none.
	ExitKeeper int `json:"exitKeeper,omitempty"`

	// peekedCgroup is the cgroup of a peeked record, not decoded yet
	// (DecodeCgroup). It is not copied out of peeker's buffer, which
	// still holds it while peeker.seq is peekSeq.
	peekedCgroup []byte
	peeker       *Peeker
	peekSeq      uint64
}

// DecodeCgroup decodes the Cgroup that Peek left as JSON; for any other
// record it does nothing. A record from a Peeker must be asked before that
// Peeker's next Peek, which reuses the buffer the JSON is in: asked later,
// it fails rather than read another record's.
func (r *Record) DecodeCgroup() error {
	if r.peekedCgroup == nil {
		return nil
	}
	if r.peeker.seq != r.peekSeq {
		return fmt.Errorf("parse cgroup of %s: its Peeker has read another record since", r.ID)
	}
	var cg cgroups.State
	if err := json.Unmarshal(r.peekedCgroup, &cg); err != nil {
		return fmt.Errorf("parse cgroup of %s: %w", r.ID, err)
	}
	r.Cgroup, r.peekedCgroup, r.peeker = &cg, nil, nil
	return nil
}

// Store is a state root directory.
type Store struct{ Root string }

// Handle is a locked container directory. Close releases the lock.
type Handle struct {
	ID  string
	Dir string
	dir *os.File
}

// MaxDirName keeps directory names well inside NAME_MAX (255): longer ids
// (up to 1024 characters) are stored under a digest of the id, and the id
// itself in an "id" file there. '~' cannot start an id, so the two never clash.
const MaxDirName = 200

const idFile = "id"

// Dir is the state directory of container id (which need not exist).
func (s Store) Dir(id string) string { return s.dir(id) }

func (s Store) dir(id string) string {
	if len(id) <= MaxDirName {
		return filepath.Join(s.Root, id)
	}
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(s.Root, "~"+hex.EncodeToString(sum[:]))
}

// Path is the path of file name in container id's state directory, made
// with one string, not two: list makes two paths per container.
func (s Store) Path(id, name string) string {
	if len(id) <= MaxDirName {
		return filepath.Join(s.Root, id, name)
	}
	return filepath.Join(s.dir(id), name)
}

// Create makes the container's directory (0700) and returns it locked. It
// fails with ErrExist if the id is taken, leaving the existing one untouched.
func (s Store) Create(id string) (*Handle, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root %s: %w", s.Root, err)
	}
	dir := s.dir(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExist, id)
		}
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	h, err := s.lock(id, unix.LOCK_EX)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	if len(id) > MaxDirName {
		if err := os.WriteFile(filepath.Join(dir, idFile), []byte(id), 0o600); err != nil {
			h.Destroy()
			return nil, fmt.Errorf("record id: %w", err)
		}
	}
	return h, nil
}

// ErrBusy is returned by TryLockShared while another command (a create in
// progress) holds the id's lock exclusively.
var ErrBusy = errors.New("container is busy")

// TryLockShared is Lock(id, false) without waiting: ErrBusy if the lock is
// held exclusively.
func (s Store) TryLockShared(id string) (*Handle, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	return s.lock(id, unix.LOCK_SH|unix.LOCK_NB)
}

// Peek reads a record without the lock: only for reporting a container whose
// lock is busy (the record is replaced atomically, so it is never torn). A
// directory without a record (being made, or being removed) is ErrNotExist.
// The record has no Config and no Namespaces, and its Cgroup is decoded
// only when asked for (DecodeCgroup): nothing that peeks needs the first
// two, and list needs the cgroup only to tell paused from running. Those
// are most of the decoding (the cgroup's maps most of its allocations).
func (s Store) Peek(id string) (*Record, error) { return s.Peeker().Peek(id) }

// Peeker peeks at one record after another with one read buffer: list
// reads every container's, and a fresh buffer each time is a fresh page
// faulted in each time, which on a VM costs more than the read. For the
// same reason a record's cgroup is left in the buffer (see DecodeCgroup).
type Peeker struct {
	store Store
	in    bytes.Buffer
	dec   peekDecoder
	seq   uint64 // counts the records read into in
}

// Peeker returns a Peeker of s.
func (s Store) Peeker() *Peeker { return &Peeker{store: s} }

// Peek is Store.Peek.
func (p *Peeker) Peek(id string) (*Record, error) {
	p.seq++
	p.in.Reset()
	if p.in.Cap() == 0 {
		p.in.Grow(8192)
	}
	// Read into the buffer's spare room: Write then copies it onto itself,
	// or from wherever ReadWholeInto had to grow it for a larger record.
	b, err := rawfile.ReadWholeInto(p.store.Path(id, stateFile), p.in.AvailableBuffer())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("read state of %s: %w", id, err)
	}
	p.in.Write(b)
	var r Record
	cgroup, err := p.dec.decode(&p.in, &r)
	if err != nil {
		return nil, fmt.Errorf("parse state of %s: %w", id, err)
	}
	r.peekedCgroup, r.peeker, r.peekSeq = cgroup, p, p.seq
	return &r, nil
}

// Lock opens an existing container's directory and takes its lock, exclusive
// or shared. An id with no directory is ErrNotExist.
func (s Store) Lock(id string, exclusive bool) (*Handle, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	return s.lock(id, how)
}

func (s Store) lock(id string, how int) (*Handle, error) {
	dir := s.dir(id)
	for {
		f, err := rawfile.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, ErrNotExist
			}
			return nil, fmt.Errorf("open state dir: %w", err)
		}
		if err := flockRetry(int(f.Fd()), how); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, ErrBusy
			}
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		// The directory may have been deleted (and even re-created) while we
		// waited: only the lock on the directory at the path now counts.
		var held, now unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &held); err != nil {
			f.Close()
			return nil, fmt.Errorf("stat %s: %w", dir, err)
		}
		if err := unix.Stat(dir, &now); err != nil {
			f.Close()
			if errors.Is(err, unix.ENOENT) {
				return nil, ErrNotExist
			}
			return nil, fmt.Errorf("stat %s: %w", dir, err)
		}
		if held.Ino == now.Ino && held.Dev == now.Dev {
			return &Handle{ID: id, Dir: dir, dir: f}, nil
		}
		f.Close()
	}
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}

// Close releases the lock.
func (h *Handle) Close() error { return h.dir.Close() }

// Load reads the record. A directory without one is a create that died before
// writing anything: it is reported as a Creating record with no pid.
func (h *Handle) Load() (*Record, error) {
	b, err := rawfile.ReadFile(filepath.Join(h.Dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &Record{State: specs.State{ID: h.ID, Status: Creating}}, nil
		}
		return nil, fmt.Errorf("read state of %s: %w", h.ID, err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse state of %s: %w", h.ID, err)
	}
	return &r, nil
}

// Save replaces the record atomically: temp file, fsync-free rename (the state
// root is on tmpfs in practice, and a torn write is what rename prevents).
func (h *Handle) Save(r *Record) error {
	p, err := h.PrepareSave(r)
	if err != nil {
		return err
	}
	return p.Commit()
}

// PrepareSave is Save up to the rename, which Commit does: a caller that
// knows the next record before it may publish it (create, waiting for its
// init) encodes and writes it while it waits.
func (h *Handle) PrepareSave(r *Record) (*PendingFile, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode state of %s: %w", h.ID, err)
	}
	return PrepareFile(filepath.Join(h.Dir, stateFile), b, 0o600)
}

// Destroy removes the directory and everything in it; the lock is released.
func (h *Handle) Destroy() error {
	err := os.RemoveAll(h.Dir)
	h.Close()
	if err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	return nil
}

// List returns the ids that have a directory under the root.
func (s Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read state root: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if strings.HasPrefix(name, "~") {
			b, err := os.ReadFile(filepath.Join(s.Root, name, idFile))
			if err != nil {
				continue // removed meanwhile
			}
			name = string(b)
		}
		if ValidateID(name) == nil {
			ids = append(ids, name)
		}
	}
	return ids, nil
}

// WriteFileAtomic writes data to a temp file beside path and renames it over
// path, so readers see the old content or the new, never a part.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	p, err := PrepareFile(path, data, mode)
	if err != nil {
		return err
	}
	return p.Commit()
}

// PendingFile is a file written beside its path, not yet renamed over it.
type PendingFile struct {
	tmp, path string
}

// PrepareFile writes data to a temp file beside path. Commit puts it in
// place; Discard removes it.
func PrepareFile(path string, data []byte, mode os.FileMode) (*PendingFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), mode)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("write %s: %w", path, werr)
	}
	return &PendingFile{tmp: tmp.Name(), path: path}, nil
}

// Commit puts the file in place of its path. A regular file already there
// is exchanged with it (RENAME_EXCHANGE), then removed under the temp name:
// readers see the old content or the new all the same, and ext4, which
// writes a file renamed over another out to disk at once (auto_da_alloc:
// ~0.1–0.4 ms a rename, and its blocks to free when it is removed), lets
// the record stay in the page cache. Where the exchange is not supported,
// or the path is anything else, it is a plain rename.
func (p *PendingFile) Commit() error {
	var st unix.Stat_t
	err := unix.Fstatat(unix.AT_FDCWD, p.path, &st, unix.AT_SYMLINK_NOFOLLOW)
	exchanged := false
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		err = unix.Renameat2(unix.AT_FDCWD, p.tmp, unix.AT_FDCWD, p.path, unix.RENAME_EXCHANGE)
		exchanged = err == nil
	}
	if !exchanged {
		err = os.Rename(p.tmp, p.path)
	}
	if err != nil {
		os.Remove(p.tmp)
		p.tmp = ""
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	if exchanged {
		// The old content; it is gone from the path already.
		unix.Unlink(p.tmp)
	}
	p.tmp = ""
	return nil
}

// Discard removes a file not committed; a no-op after Commit (or on nil).
func (p *PendingFile) Discard() {
	if p != nil && p.tmp != "" {
		os.Remove(p.tmp)
		p.tmp = ""
	}
}
