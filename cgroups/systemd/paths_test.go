package systemd

import (
	"reflect"
	"testing"
)

var (
	hybridMounts = []cgroupMount{
		{dir: "/sys/fs/cgroup/cpu,cpuacct", controllers: []string{"cpu", "cpuacct"}},
		{dir: "/sys/fs/cgroup/memory", controllers: []string{"memory"}},
		{dir: "/sys/fs/cgroup/systemd", controllers: []string{"name=systemd"}},
		{dir: "/sys/fs/cgroup/unified", unified: true},
	}
	v1Mounts = hybridMounts[:3]
	v2Mounts = []cgroupMount{{dir: "/sys/fs/cgroup", unified: true}}
)

func TestHostMode(t *testing.T) {
	tests := []struct {
		mounts []cgroupMount
		want   string
	}{
		{hybridMounts, "hybrid"},
		{v1Mounts, "v1"},
		{v2Mounts, "v2"},
	}
	for _, tt := range tests {
		if got, err := hostMode(tt.mounts); err != nil || got != tt.want {
			t.Errorf("hostMode(%v) = %q, %v; want %q", tt.mounts, got, err, tt.want)
		}
	}
	if got, err := hostMode(nil); err == nil {
		t.Errorf("hostMode(no mounts) = %q, want an error", got)
	}
}

func TestUnitPaths(t *testing.T) {
	rel := "/system.slice/nook-abc.scope"
	want := map[string]string{
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct" + rel,
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct" + rel,
		"memory":       "/sys/fs/cgroup/memory" + rel,
		"name=systemd": "/sys/fs/cgroup/systemd" + rel,
		"":             "/sys/fs/cgroup/unified" + rel,
	}
	if got := unitPaths(hybridMounts, rel); !reflect.DeepEqual(got, want) {
		t.Errorf("hybrid: %v, want %v", got, want)
	}
	// A user manager's unit sits below the manager's own cgroup.
	rel = "/user.slice/user-1000.slice/user@1000.service/user.slice/nook-abc.scope"
	if got := unitPaths(v2Mounts, rel); !reflect.DeepEqual(got, map[string]string{"": "/sys/fs/cgroup" + rel}) {
		t.Errorf("v2: %v", got)
	}
}

// TestReadCgroupMounts checks the reader against this host's real mounts:
// whatever the layout, every path it finds is under /sys/fs/cgroup and
// hostMode accepts the result.
func TestReadCgroupMounts(t *testing.T) {
	mounts, err := readCgroupMounts()
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) == 0 {
		t.Skip("no cgroup hierarchy mounted under /sys/fs/cgroup on this machine")
	}
	mode, err := hostMode(mounts)
	if err != nil {
		t.Fatal(err)
	}
	paths := unitPaths(mounts, "/x.slice/y.scope")
	if mode != "v1" && paths[""] == "" {
		t.Errorf("mode %s but no cgroup2 path in %v", mode, paths)
	}
	if mode != "v2" && paths["memory"] == "" && paths["pids"] == "" {
		t.Errorf("mode %s but no v1 controller path in %v", mode, paths)
	}
	for c, p := range paths {
		if len(p) <= len(cgroupRoot) || p[:len(cgroupRoot)] != cgroupRoot {
			t.Errorf("%q: %q is not under %s", c, p, cgroupRoot)
		}
	}
}
