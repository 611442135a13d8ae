package spec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// configName is the file a bundle's configuration lives in.
const configName = "config.json"

// Load reads <bundle>/config.json and validates it. Syntax and type errors
// carry the file name and the line and column where decoding stopped, so a
// user can go straight to the mistake in a large generated config.
func Load(bundle string) (*specs.Spec, error) {
	c, err := Read(bundle)
	if err != nil {
		return nil, err
	}
	return c.Parse()
}

// Config is a bundle's config.json, read but not yet decoded: create looks
// at its namespaces (BootstrapView) before it pays for the whole decode.
type Config struct {
	bundle, path string
	data         []byte
}

// ConfigError is a config.json that cannot be read, decoded or accepted.
// Its text is "config <path>: <why>"; the why starts with the field's
// path where there is one (spec.Validate's errors all do).
type ConfigError struct {
	Path string
	Err  error
}

func (e *ConfigError) Error() string { return "config " + e.Path + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Read reads <bundle>/config.json.
func Read(bundle string) (*Config, error) {
	fi, err := os.Stat(bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", bundle, bareErr(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bundle %s: %w", bundle, syscall.ENOTDIR)
	}
	path := filepath.Join(bundle, configName)
	data, err := readRegular(path, maxConfigSize)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	return &Config{bundle: bundle, path: path, data: data}, nil
}

// maxConfigSize bounds config.json. Real configs are kilobytes (a large
// seccomp profile makes a few hundred); the bound is far above any of them
// and only stops a sparse or endless file from being read into memory.
const maxConfigSize = 32 << 20

// readRegular reads the regular file at path (symlinks followed, as runc
// follows them), refusing anything else before it can hang or exhaust
// memory: a FIFO blocks open and read until a writer comes, a device such as
// /dev/zero never ends, and a file larger than limit is refused unread. The
// error names what the file is, not the path: the caller does.
func readRegular(path string, limit int64) ([]byte, error) {
	// A stat first, so that nothing but a regular file is ever opened:
	// opening some devices acts (a watchdog arms, a tape rewinds).
	fi, err := os.Stat(path)
	if err != nil {
		return nil, bareErr(err)
	}
	if err := checkRegular(fi, limit); err != nil {
		return nil, err
	}
	// O_NONBLOCK: if the path was swapped for a FIFO since the stat, open
	// returns at once instead of waiting for a writer; O_NOCTTY: a terminal
	// never becomes nook's. os.OpenFile adds O_CLOEXEC.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, bareErr(err)
	}
	defer f.Close()
	// What was opened is what counts.
	if fi, err = f.Stat(); err != nil {
		return nil, bareErr(err)
	}
	if err := checkRegular(fi, limit); err != nil {
		return nil, err
	}
	// A regular file now: reads block as usual (non-blocking reads are not
	// meant for files and some file systems could refuse them).
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		return nil, fmt.Errorf("clear O_NONBLOCK: %w", err)
	}
	// Read at most limit+1 bytes: a file that grows (or a pseudo-file that
	// reports no size) cannot get past the bound either.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", bareErr(err))
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(0, limit)
	}
	return data, nil
}

// ReadRegularFile reads a JSON file a command is given (exec --process,
// update --resources) with config.json's guards: a FIFO, a device or an
// oversized file is refused at once instead of hanging the command.
func ReadRegularFile(path string) ([]byte, error) {
	return readRegular(path, maxConfigSize)
}

// checkRegular refuses a file that is not regular or is larger than limit.
func checkRegular(fi os.FileInfo, limit int64) error {
	if t := fi.Mode().Type(); t != 0 {
		return fmt.Errorf("is %s, not a regular file", fileKind(t))
	}
	if fi.Size() > limit {
		return tooLarge(fi.Size(), limit)
	}
	return nil
}

// tooLarge words a size refusal; size is 0 when only the read found the
// file too large (it grew, or reported no size).
func tooLarge(size, limit int64) error {
	bound := fmt.Sprintf("%d bytes", limit)
	if limit%(1<<20) == 0 {
		bound = fmt.Sprintf("%d MiB", limit>>20)
	}
	if size == 0 {
		return fmt.Errorf("more than the limit of %s", bound)
	}
	return fmt.Errorf("%d bytes, more than the limit of %s", size, bound)
}

// fileKind names a non-regular file type for an error message.
func fileKind(t os.FileMode) string {
	switch {
	case t&os.ModeDir != 0:
		return "a directory"
	case t&os.ModeNamedPipe != 0:
		return "a FIFO"
	case t&os.ModeSocket != 0:
		return "a socket"
	case t&os.ModeCharDevice != 0:
		return "a character device"
	case t&os.ModeDevice != 0:
		return "a block device"
	case t&os.ModeSymlink != 0:
		return "a symbolic link" // only if the open did not follow it
	}
	return "of type " + t.String()
}

// Parse decodes and validates the whole config.
func (c *Config) Parse() (*specs.Spec, error) {
	s, err := decode(bytes.NewReader(c.data))
	if err != nil {
		return nil, &ConfigError{Path: c.path, Err: err}
	}
	if err := Validate(s, c.bundle); err != nil {
		return nil, &ConfigError{Path: c.path, Err: err}
	}
	return s, nil
}

// bootstrapFields are the only fields nsenter's stage 0 needs: the
// namespaces to make or join, the time namespace's offsets, the CPUs the
// init starts on and its OOM score.
type bootstrapFields struct {
	Process *struct {
		ExecCPUAffinity *specs.CPUAffinity `json:"execCPUAffinity,omitempty"`
		OOMScoreAdj     *int               `json:"oomScoreAdj,omitempty"`
		// Terminal: a terminal's init is the Go init (libcontainer's cInitMaybe).
		Terminal bool `json:"terminal,omitempty"`
	} `json:"process,omitempty"`
	Linux *struct {
		Namespaces  []specs.LinuxNamespace           `json:"namespaces,omitempty"`
		TimeOffsets map[string]specs.LinuxTimeOffset `json:"timeOffsets,omitempty"`
	} `json:"linux,omitempty"`
}

// BootstrapView decodes just the fields stage 0 needs, into an otherwise
// empty spec, and checks them as Validate would. Decoding these few types
// takes a fraction of the whole config's first decode (~2 ms on the CI VM),
// so create can send them to stage 0 first and let the init's runtime start
// while it decodes the rest. ok is false when anything about them is off:
// Parse then reports the problem in its usual order.
func (c *Config) BootstrapView() (view *specs.Spec, ok bool) {
	var f bootstrapFields
	if err := json.Unmarshal(c.data, &f); err != nil {
		return nil, false
	}
	view = &specs.Spec{Linux: &specs.Linux{}}
	if f.Process != nil {
		view.Process = &specs.Process{ExecCPUAffinity: f.Process.ExecCPUAffinity, OOMScoreAdj: f.Process.OOMScoreAdj,
			Terminal: f.Process.Terminal}
		if checkOOMScoreAdj(view.Process) != nil {
			return nil, false
		}
	}
	if f.Linux != nil {
		view.Linux.Namespaces = f.Linux.Namespaces
		view.Linux.TimeOffsets = f.Linux.TimeOffsets
	}
	if _, err := checkNamespaces(view.Linux.Namespaces); err != nil {
		return nil, false
	}
	if checkTimeOffsets(view.Linux) != nil {
		return nil, false
	}
	return view, true
}

// decode reads exactly one JSON object from f with a streaming decoder and
// turns decoder errors into messages with a line and column. f must be
// seekable: positions are worked out by re-reading it, only on failure.
func decode(f io.ReadSeeker) (*specs.Spec, error) {
	var s specs.Spec
	dec := json.NewDecoder(f)
	if err := dec.Decode(&s); err != nil {
		return nil, describeDecodeError(f, err)
	}
	// A second value or stray bytes after the object mean the file is not
	// what its author thinks it is; refuse rather than ignore them.
	rest := bufio.NewReader(io.MultiReader(dec.Buffered(), f))
	skipped, err := skipSpace(rest)
	if err == nil {
		return nil, positioned(f, dec.InputOffset()+skipped, errors.New("unexpected data after the top-level JSON object"))
	}
	if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read: %w", err)
	}
	return &s, nil
}

// describeDecodeError maps encoding/json's errors to one-line messages.
func describeDecodeError(f io.ReadSeeker, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Point at the offending byte (see jsonpos_*.go for the offsets).
		return positioned(f, syn.Offset-syntaxOffsetAfter, err)
	case errors.As(err, &typ):
		// Point into the wrongly typed value: its last byte or its opening
		// bracket (classic encoding/json), its first byte (jsonv2).
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return positioned(f, typ.Offset-typeOffsetAfter,
			fmt.Errorf("%s: cannot use JSON %s as %s", field, typ.Value, typ.Type))
	case errors.Is(err, io.EOF):
		return errors.New("empty file, expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		end, serr := f.Seek(0, io.SeekEnd)
		if serr != nil {
			return fmt.Errorf("unexpected end of JSON input: %w", err)
		}
		return positioned(f, end, errors.New("unexpected end of JSON input"))
	default:
		return fmt.Errorf("decode: %w", err)
	}
}

// positioned prefixes err with the line and column of byte offset off in f.
func positioned(f io.ReadSeeker, off int64, err error) error {
	if _, serr := f.Seek(0, io.SeekStart); serr != nil {
		return fmt.Errorf("at byte %d: %w", off, err)
	}
	line, col, perr := lineCol(f, off)
	if perr != nil {
		return fmt.Errorf("at byte %d: %w", off, err)
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// skipSpace consumes JSON whitespace and reports how many bytes it skipped;
// it returns a nil error when it stopped at a non-space byte.
func skipSpace(r *bufio.Reader) (int64, error) {
	var n int64
	for {
		b, err := r.ReadByte()
		if err != nil {
			return n, err
		}
		switch b {
		case ' ', '\t', '\n', '\r':
			n++
		default:
			return n, nil
		}
	}
}
