package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidateAcceptsValidSpec(t *testing.T) {
	b := newBundle(t)
	if err := Validate(validSpec(), b); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	// A nil linux section is fine when nothing needs a namespace.
	s := validSpec()
	s.Linux, s.Hostname = nil, ""
	if err := Validate(s, b); err != nil {
		t.Fatalf("Validate(no linux) = %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	intp := func(i int) *int { return &i }
	tests := []struct {
		name   string
		mutate func(s *specs.Spec)
		want   string // exact message; "{rootfs}" stands for <bundle>/rootfs
	}{
		{"no version", func(s *specs.Spec) { s.Version = "" }, "ociVersion: required"},
		{"version 2", func(s *specs.Spec) { s.Version = "2.0.0" },
			`unsupported ociVersion "2.0.0": nook supports 1.0.0 to 1.3.0`},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root: required"},
		{"no root path", func(s *specs.Spec) { s.Root.Path = "" }, "root.path: required"},
		{"rootfs missing", func(s *specs.Spec) { s.Root.Path = "nope" },
			"root.path: rootfs {bundle}/nope: no such file or directory"},
		{"rootfs is a file", func(s *specs.Spec) { s.Root.Path = "file" },
			"root.path: rootfs {bundle}/file: not a directory"},
		{"empty args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args: must not be empty"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "work" },
			`process.cwd "work": must be an absolute path`},
		{"empty cwd", func(s *specs.Spec) { s.Process.Cwd = "" },
			`process.cwd "": must be an absolute path`},
		{"env without =", func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "FOO") },
			`process.env[2] "FOO": must be of the form KEY=VALUE`},
		{"rlimit without prefix", func(s *specs.Spec) { s.Process.Rlimits[0].Type = "NOFILE" },
			`process.rlimits[0].type "NOFILE": must start with RLIMIT_`},
		{"unknown rlimit", func(s *specs.Spec) { s.Process.Rlimits[0].Type = "RLIMIT_FOO" },
			`process.rlimits[0].type "RLIMIT_FOO": unknown rlimit`},
		{"duplicate rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE"})
		}, `process.rlimits[1].type "RLIMIT_NOFILE": duplicate rlimit`},
		{"soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 },
			"process.rlimits[0] RLIMIT_NOFILE: soft limit 2048 is greater than hard limit 1024"},
		{"oom too high", func(s *specs.Spec) { s.Process.OOMScoreAdj = intp(1001) },
			"process.oomScoreAdj 1001: must be between -1000 and 1000"},
		{"oom too low", func(s *specs.Spec) { s.Process.OOMScoreAdj = intp(-1001) },
			"process.oomScoreAdj -1001: must be between -1000 and 1000"},
		{"empty mount destination after others", func(s *specs.Spec) {
			for len(s.Mounts) < 3 {
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs"})
			}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "", Type: "tmpfs"})
		}, `mounts[3].destination: required`},
		{"empty mount destination", func(s *specs.Spec) { s.Mounts[0].Destination = "" },
			"mounts[0].destination: required"},
		{"unknown namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
		}, `linux.namespaces[3].type "foo": unknown namespace type (want one of cgroup, ipc, mount, network, pid, time, user, uts)`},
		{"empty namespace type", func(s *specs.Spec) { s.Linux.Namespaces[1].Type = "" },
			"linux.namespaces[1].type: required"},
		{"duplicate namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid", Path: "/proc/1/ns/pid"})
		}, `linux.namespaces[3].type "pid": duplicate namespace`},
		{"relative namespace path", func(s *specs.Spec) { s.Linux.Namespaces[2].Path = "proc/1/ns/mnt" },
			`linux.namespaces[2].path "proc/1/ns/mnt": must be an absolute path`},
		{"uid mappings without userns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.uidMappings: requires a user namespace in linux.namespaces"},
		{"gid mappings without userns", func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.gidMappings: requires a user namespace in linux.namespaces"},
		{"hostname without uts", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:1] },
			"hostname: unable to set hostname without a private UTS namespace"},
		{"hostname without linux", func(s *specs.Spec) { s.Linux = nil },
			"hostname: unable to set hostname without a private UTS namespace"},
		{"domainname without uts", func(s *specs.Spec) {
			s.Hostname, s.Domainname = "", "example.org"
			s.Linux.Namespaces = s.Linux.Namespaces[:1]
		}, "domainname: unable to set domainname without a private UTS namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t)
			if err := os.WriteFile(filepath.Join(b, "file"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			s := validSpec()
			tc.mutate(s)
			want := strings.ReplaceAll(tc.want, "{bundle}", b)
			if got := errString(Validate(s, b)); got != want {
				t.Errorf("Validate:\n got  %q\n want %q", got, want)
			}
		})
	}
}

func TestValidateUserNamespaceAllowsMappings(t *testing.T) {
	s := validSpec()
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
	if err := Validate(s, newBundle(t)); err != nil {
		t.Fatalf("Validate = %v", err)
	}
}

func TestValidateEveryKnownRlimitAndNamespace(t *testing.T) {
	s := validSpec()
	s.Process.Rlimits = nil
	for _, r := range rlimitTypes {
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: r, Soft: 1, Hard: 2})
	}
	s.Linux.Namespaces = nil
	for _, ns := range namespaceTypes {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.LinuxNamespaceType(ns)})
	}
	if err := Validate(s, newBundle(t)); err != nil {
		t.Fatalf("Validate = %v", err)
	}
}

func TestValidateReportsFirstErrorOnly(t *testing.T) {
	s := validSpec()
	s.Process.Cwd = "rel"
	s.Mounts[0].Destination = "rel"
	err := Validate(s, newBundle(t))
	if got := errString(err); got != `process.cwd "rel": must be an absolute path` {
		t.Fatalf("Validate = %q", got)
	}
}

func TestResolveRootfs(t *testing.T) {
	b := newBundle(t)
	abs := filepath.Join(b, "rootfs")

	for _, p := range []string{"rootfs", "./rootfs/", "rootfs/../rootfs", abs, abs + "/."} {
		s := validSpec()
		s.Root.Path = p
		got, err := ResolveRootfs(s, b)
		if err != nil || got != abs {
			t.Errorf("ResolveRootfs(%q) = %q, %v; want %q", p, got, err, abs)
		}
	}

	// A relative bundle still yields an absolute path.
	t.Chdir(filepath.Dir(b))
	got, err := ResolveRootfs(validSpec(), filepath.Base(b))
	if err != nil || got != abs {
		t.Errorf("ResolveRootfs(relative bundle) = %q, %v; want %q", got, err, abs)
	}

	// A symlink to a directory is a valid rootfs.
	if err := os.Symlink("rootfs", filepath.Join(b, "link")); err != nil {
		t.Fatal(err)
	}
	s := validSpec()
	s.Root.Path = "link"
	if got, err := ResolveRootfs(s, b); err != nil || got != filepath.Join(b, "link") {
		t.Errorf("ResolveRootfs(link) = %q, %v", got, err)
	}

	s.Root.Path = "missing"
	_, err = ResolveRootfs(s, b)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing rootfs: errors.Is(ErrNotExist) false for %v", err)
	}
}

// TestValidateAcceptsRelativeMountDestination: runc takes a relative
// destination from "/" with a deprecation warning (given at create, when
// nook normalizes the destinations); Validate must not refuse it.
func TestValidateAcceptsRelativeMountDestination(t *testing.T) {
	s := validSpec()
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "mnt/data", Type: "tmpfs", Source: "tmpfs"})
	if err := Validate(s, newBundle(t)); err != nil {
		t.Fatalf("Validate with a relative mount destination: %v", err)
	}
}
