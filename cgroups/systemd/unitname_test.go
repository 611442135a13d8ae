package systemd

import (
	"strings"
	"testing"
)

func TestParseCgroupsPath(t *testing.T) {
	long := strings.Repeat("x", 250)
	tests := []struct {
		path, id string
		user     bool
		want     Unit
	}{
		// Empty cgroupsPath: system.slice:nook:<id>.
		{"", "abc", false, Unit{"nook-abc.scope", "system.slice", "/system.slice/nook-abc.scope"}},
		// ... user.slice for a user manager, as runc does rootless.
		{"", "abc", true, Unit{"nook-abc.scope", "user.slice", "/user.slice/nook-abc.scope"}},
		// A valid id with '+' is escaped the systemd-escape way.
		{"", "a+b", false, Unit{`nook-a\x2bb.scope`, "system.slice", `/system.slice/nook-a\x2bb.scope`}},
		// The usual engine forms.
		{"system.slice:docker:abc", "x", false, Unit{"docker-abc.scope", "system.slice", "/system.slice/docker-abc.scope"}},
		{"machine.slice:libpod:0123", "x", false, Unit{"libpod-0123.scope", "machine.slice", "/machine.slice/libpod-0123.scope"}},
		// Empty slice part: the default slice.
		{":cri-containerd:abc", "x", false, Unit{"cri-containerd-abc.scope", "system.slice", "/system.slice/cri-containerd-abc.scope"}},
		// Nested slice: expanded the way systemd lays it out.
		{"user-1000.slice:podman:abc", "x", false, Unit{"podman-abc.scope", "user-1000.slice", "/user.slice/user-1000.slice/podman-abc.scope"}},
		{"a-b-c.slice:p:n", "x", false, Unit{"p-n.scope", "a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice/p-n.scope"}},
		// "-" is the root slice.
		{"-:p:n", "x", false, Unit{"p-n.scope", "-.slice", "/p-n.scope"}},
		{"-.slice:p:n", "x", false, Unit{"p-n.scope", "-.slice", "/p-n.scope"}},
		// Empty prefix: "-name.scope", as runc.
		{"system.slice::n", "x", false, Unit{"-n.scope", "system.slice", "/system.slice/-n.scope"}},
		// A name ending in .slice makes the unit a slice; the prefix is
		// ignored and its place comes from its name.
		{"kubepods-burstable.slice:ignored:kubepods-burstable-pod1.slice", "x", false,
			Unit{"kubepods-burstable-pod1.slice", "kubepods-burstable.slice", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"}},
		{":x:k8s.slice", "x", false, Unit{"k8s.slice", "-.slice", "/k8s.slice"}},
		{"-:x:k8s.slice", "x", false, Unit{"k8s.slice", "-.slice", "/k8s.slice"}},
		// Longest unit name systemd takes.
		{"s.slice:p:" + long[:247], "x", false, Unit{"p-" + long[:247] + ".scope", "s.slice", "/s.slice/p-" + long[:247] + ".scope"}},
	}
	for _, tt := range tests {
		got, err := ParseCgroupsPath(tt.path, tt.id, tt.user)
		if err != nil {
			t.Errorf("ParseCgroupsPath(%q, %q): %v", tt.path, tt.id, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseCgroupsPath(%q, %q) = %+v, want %+v", tt.path, tt.id, got, tt.want)
		}
		if got.IsSlice() != strings.HasSuffix(tt.want.Name, ".slice") {
			t.Errorf("%q: IsSlice() = %v", tt.path, got.IsSlice())
		}
	}
}

func TestParseCgroupsPathRefuses(t *testing.T) {
	tests := []struct {
		path, id string
		want     string // in the error, besides "linux.cgroupsPath"
	}{
		{"/sys/fs/cgroup/foo", "x", "three parts"},
		{"foo", "x", "three parts"},
		{"a.slice:b", "x", "got 2 part(s)"},
		{"a.slice:b:c:d", "x", "got 4 part(s)"},
		{"system.slice:p:", "x", "name part is empty"},
		{"system:p:n", "x", `must end in ".slice"`},
		{".slice:p:n", "x", `must end in ".slice"`},
		{"user.slice/user-1000.slice:p:n", "x", `character '/'`},
		{"a--b.slice:p:n", "x", "empty component"},
		{"-a.slice:p:n", "x", "empty component"},
		{"a-.slice:p:n", "x", "empty component"},
		{"system.slice:p:a/b", "x", `character '/'`},
		{"system.slice:p:a b", "x", `character ' '`},
		{"system.slice:p:a@b", "x", `character '@'`},
		{"system.slice:p:" + strings.Repeat("x", 248), "x", "at most 255"},
		{"", strings.Repeat("x", 300), "at most 255"},
		{"", "", "no container id"},
		{"system.slice:p:a--b.slice", "x", "empty component"},
		{"system.slice:p:-.slice", "x", "root slice"},
		{"system.slice:p:k8s-pod.slice", "x", `systemd places "k8s-pod.slice" in "k8s.slice"`},
		{"bad:p:k8s-pod.slice", "x", `must end in ".slice"`},
	}
	for _, tt := range tests {
		u, err := ParseCgroupsPath(tt.path, tt.id, false)
		if err == nil {
			t.Errorf("ParseCgroupsPath(%q, %q) = %+v, want an error", tt.path, tt.id, u)
			continue
		}
		if !strings.Contains(err.Error(), "linux.cgroupsPath") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCgroupsPath(%q): error %q should name linux.cgroupsPath and say %q", tt.path, err, tt.want)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	tests := map[string]string{
		"-.slice":                  "/",
		"system.slice":             "/system.slice",
		"user-1000.slice":          "/user.slice/user-1000.slice",
		"a-b-c.slice":              "/a.slice/a-b.slice/a-b-c.slice",
		"machine-qemu\\x2d1.slice": "/machine.slice/machine-qemu\\x2d1.slice",
	}
	for in, want := range tests {
		got, err := ExpandSlice(in)
		if err != nil || got != want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".slice", "a", "a.scope", "a/b.slice", "a--b.slice", "-a.slice", "a-.slice", "-", "--.slice"} {
		if got, err := ExpandSlice(bad); err == nil {
			t.Errorf("ExpandSlice(%q) = %q, want an error", bad, got)
		}
	}
}

func TestImpliedParent(t *testing.T) {
	for in, want := range map[string]string{
		"a.slice":     "-.slice",
		"a-b.slice":   "a.slice",
		"a-b-c.slice": "a-b.slice",
	} {
		if got := impliedParent(in); got != want {
			t.Errorf("impliedParent(%q) = %q, want %q", in, got, want)
		}
	}
}
