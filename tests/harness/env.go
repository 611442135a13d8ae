package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Env is one test's world: its own temp dir holding its --root, bundles and
// command outputs. Everything a test makes lives under Dir, so leftovers can
// be recognised by that path; every container id it hands out is recorded so
// that the cgroups of those ids can be checked too.
type Env struct {
	T     testing.TB
	Suite *Suite
	Dir   string
	Root  string // --root
	// Bin is the nook binary this env runs (the suite's unless a test
	// uses a private copy).
	Bin string
	// Environ is added to nook's environment (the test's own is inherited).
	Environ []string

	seq atomic.Int64
	mu  sync.Mutex
	ids []string
	// inits are container inits this test saw (pid + start time).
	inits []ProcID
}

var idSeq atomic.Int64

// NewEnv makes a test's env and registers its leftover check (run before the
// temp dir is removed: registered after TempDir's own cleanup).
func (s *Suite) NewEnv(t testing.TB) *Env {
	t.Helper()
	e := &Env{T: t, Suite: s, Dir: t.TempDir(), Bin: s.Nook}
	e.Root = filepath.Join(e.Dir, "state")
	s.mu.Lock()
	s.envDirs = append(s.envDirs, e.Dir)
	s.mu.Unlock()
	t.Cleanup(e.checkLeftovers)
	return e
}

// Next returns a number unique within this env (file names).
func (e *Env) Next() int64 { return e.seq.Add(1) }

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.+-]+`)

// ID returns a container id unique on this machine (it carries the test
// binary's pid: cgroups are machine-wide) and records it.
func (e *Env) ID() string {
	name := idUnsafe.ReplaceAllString(strings.TrimPrefix(e.T.Name(), "Test"), "-")
	if len(name) > 32 {
		name = name[:32]
	}
	id := fmt.Sprintf("%s-%d-%d", strings.ToLower(name), os.Getpid(), idSeq.Add(1))
	e.mu.Lock()
	e.ids = append(e.ids, id)
	e.mu.Unlock()
	return id
}

// IDs lists the ids this env handed out.
func (e *Env) IDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ids...)
}

// SpecMod edits a config before it is written.
type SpecMod func(*specs.Spec)

// Args sets process.args.
func Args(a ...string) SpecMod { return func(s *specs.Spec) { s.Process.Args = a } }

// Sh runs a shell script as the container process.
func Sh(script string) SpecMod { return Args("sh", "-c", script) }

// WithoutNamespace drops a namespace type from linux.namespaces.
func WithoutNamespace(t specs.LinuxNamespaceType) SpecMod {
	return func(s *specs.Spec) {
		var kept []specs.LinuxNamespace
		for _, ns := range s.Linux.Namespaces {
			if ns.Type != t {
				kept = append(kept, ns)
			}
		}
		s.Linux.Namespaces = kept
	}
}

// WithoutMount drops the mounts whose destination is dest.
func WithoutMount(dest string) SpecMod {
	return func(s *specs.Spec) {
		var kept []specs.Mount
		for _, m := range s.Mounts {
			if m.Destination != dest {
				kept = append(kept, m)
			}
		}
		s.Mounts = kept
	}
}

// AddMount appends a mount.
func AddMount(m specs.Mount) SpecMod {
	return func(s *specs.Spec) { s.Mounts = append(s.Mounts, m) }
}

// Bundle makes a bundle dir with its own busybox rootfs and a config.json
// built from `nook spec` plus mods. The rootfs is a copy, or, when the suite
// says LinkRootfs, a tree of hard links to the master's files.
func (e *Env) Bundle(mods ...SpecMod) string {
	e.T.Helper()
	b := filepath.Join(e.Dir, fmt.Sprintf("bundle%d", e.Next()))
	if err := os.Mkdir(b, 0o755); err != nil {
		e.T.Fatal(err)
	}
	if err := cloneTree(e.Suite.Rootfs, filepath.Join(b, "rootfs"), e.Suite.LinkRootfs); err != nil {
		e.T.Fatalf("copy rootfs: %v", err)
	}
	s := e.Suite.NewSpec()
	for _, m := range mods {
		m(s)
	}
	e.WriteConfig(b, s)
	return b
}

// WriteConfig writes s as bundle/config.json.
func (e *Env) WriteConfig(bundle string, s *specs.Spec) {
	e.T.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		e.T.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		e.T.Fatal(err)
	}
}

// CopyTree copies a directory tree: directories and regular files copied,
// symlinks re-created.
func CopyTree(src, dst string) error { return cloneTree(src, dst, false) }

// cloneTree copies a directory tree as CopyTree does, but with link it
// hard-links regular files (and copies those it cannot link).
func cloneTree(src, dst string, link bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm()|info.Mode()&fs.ModeSticky)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			if link && os.Link(p, target) == nil {
				return nil
			}
			return copyFile(p, target, info.Mode().Perm())
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// PrivateNook copies the suite's nook binary into this env and makes the env
// run that copy: a test that attacks the runtime binary attacks its own.
func (e *Env) PrivateNook() string {
	e.T.Helper()
	p := filepath.Join(e.Dir, "nook")
	if err := copyFile(e.Suite.Nook, p, 0o755); err != nil {
		e.T.Fatal(err)
	}
	e.Bin = p
	return p
}

// ReadString returns a file's contents ("" if unreadable).
func ReadString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// NonEmptyLines splits s into its non-blank lines.
func NonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
