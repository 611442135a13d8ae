package cgroups

import (
	"errors"
	"strings"
	"testing"
)

func TestInnerPath(t *testing.T) {
	for _, c := range []struct {
		path, name string
		want       string
		abs        bool
		err        string
	}{
		{"", "ctr1", "/nook/ctr1", true, ""},
		{"/a/b", "x", "/a/b", true, ""},
		{"/a/../b/./c/", "x", "/b/c", true, ""},
		{"a/b", "x", "a/b", false, ""},
		{"a/../b", "x", "b", false, ""},
		{"/../x", "x", "", false, `linux.cgroupsPath "/../x": ".." leaves the cgroup hierarchy`},
		{"/a/../../x", "x", "", false, `".." leaves`},
		{"../x", "x", "", false, `".." leaves`},
		{"/", "x", "", false, "names the cgroup nook runs under"},
		{".", "x", "", false, "names the cgroup nook runs under"},
		{"/a\x00b", "x", "", false, "NUL"},
		{"", "..", "", false, "cannot name a cgroup"},
		{"", "a/b", "", false, "cannot name a cgroup"},
	} {
		got, abs, err := innerPath(c.path, c.name)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("innerPath(%q, %q) error = %v, want one containing %q", c.path, c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want || abs != c.abs {
			t.Errorf("innerPath(%q, %q) = %q, %v, %v; want %q, %v", c.path, c.name, got, abs, err, c.want, c.abs)
		}
	}
}

func testLayout() layout {
	return layout{
		mode: ModeHybrid,
		v1: map[string]hierarchy{
			"memory":  {mountpoint: "/sys/fs/cgroup/memory", root: "/"},
			"cpu":     {mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
			"cpuacct": {mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
			"pids":    {mountpoint: "/sys/fs/cgroup/pids", root: "/outer"},
		},
		unified: &hierarchy{mountpoint: "/sys/fs/cgroup/unified", root: "/"},
	}
}

func TestContainerPathsAbsolute(t *testing.T) {
	own := func() (map[string]string, error) { t.Fatal("an absolute path read /proc/self/cgroup"); return nil, nil }
	got, err := containerPaths(testLayout(), "/x/y", true, own)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory": "/sys/fs/cgroup/memory/x/y", "cpu": "/sys/fs/cgroup/cpu,cpuacct/x/y", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct/x/y",
		"pids": "/sys/fs/cgroup/pids/x/y", "": "/sys/fs/cgroup/unified/x/y",
	}
	checkPaths(t, got, want)
}

func TestContainerPathsRelative(t *testing.T) {
	own := func() (map[string]string, error) {
		return map[string]string{"memory": "/process_api/h", "cpu": "/", "cpuacct": "/", "pids": "/outer/p", "": "/user/session"}, nil
	}
	got, err := containerPaths(testLayout(), "t/c", false, own)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory": "/sys/fs/cgroup/memory/process_api/h/t/c", "cpu": "/sys/fs/cgroup/cpu,cpuacct/t/c", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct/t/c",
		// pids is mounted from /outer: nook's /outer/p shows at <mnt>/p.
		"pids": "/sys/fs/cgroup/pids/p/t/c",
		// cgroup2: under the parent of nook's own cgroup.
		"": "/sys/fs/cgroup/unified/user/t/c",
	}
	checkPaths(t, got, want)

	// nook's own cgroup outside what the mount shows.
	bad := func() (map[string]string, error) {
		return map[string]string{"memory": "/", "cpu": "/", "cpuacct": "/", "pids": "/elsewhere", "": "/"}, nil
	}
	if _, err := containerPaths(testLayout(), "t", false, bad); err == nil || !strings.Contains(err.Error(), "outside the mounted hierarchy") {
		t.Errorf("own cgroup outside the mount: error = %v", err)
	}
	failing := func() (map[string]string, error) { return nil, errors.New("boom") }
	if _, err := containerPaths(testLayout(), "t", false, failing); err == nil {
		t.Error("an unreadable /proc/self/cgroup was not reported")
	}
}

func TestOwnCgroupsOfThisProcess(t *testing.T) {
	own, err := ownCgroups()
	if err != nil {
		t.Fatal(err)
	}
	if len(own) == 0 {
		t.Fatal("no entry read from /proc/self/cgroup")
	}
	for c, p := range own {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("own[%q] = %q, not absolute", c, p)
		}
	}
}

func checkPaths(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
	for c, p := range want {
		if got[c] != p {
			t.Errorf("paths[%q] = %q, want %q", c, got[c], p)
		}
	}
}
