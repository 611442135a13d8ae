package cgroups

import (
	"strings"
	"testing"
)

// The hybrid table of the machine nook is developed on.
const hybridMountinfo = `22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestParseLayoutHybrid(t *testing.T) {
	l, err := parseLayout(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if l.mode != ModeHybrid {
		t.Fatalf("mode = %q, want hybrid", l.mode)
	}
	want := map[string]string{
		"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "cpuset": "/sys/fs/cgroup/cpuset",
		"memory": "/sys/fs/cgroup/memory", "devices": "/sys/fs/cgroup/devices", "freezer": "/sys/fs/cgroup/freezer",
		"blkio": "/sys/fs/cgroup/blkio", "pids": "/sys/fs/cgroup/pids", "name=systemd": "/sys/fs/cgroup/systemd",
	}
	if len(l.v1) != len(want) {
		t.Errorf("v1 hierarchies = %v, want %v", l.v1, want)
	}
	for c, mp := range want {
		if l.v1[c].mountpoint != mp || l.v1[c].root != "/" {
			t.Errorf("v1[%s] = %+v, want mount point %s root /", c, l.v1[c], mp)
		}
	}
	if l.unified == nil || l.unified.mountpoint != "/sys/fs/cgroup/unified" {
		t.Errorf("unified = %+v, want /sys/fs/cgroup/unified", l.unified)
	}
}

func TestParseLayoutV2AfterRemount(t *testing.T) {
	// What a private mount namespace shows after umount -l /sys/fs/cgroup
	// and mount -t cgroup2: only the new mount, or (if the old table were
	// still listed) a new mount stacked over the old ones.
	stacked := hybridMountinfo + "99 22 0:99 / /sys/fs/cgroup rw - cgroup2 none rw\n"
	for name, table := range map[string]string{
		"plain":   "22 1 0:21 / /sys rw - sysfs sysfs rw\n50 22 0:37 / /sys/fs/cgroup rw - cgroup2 none rw\n",
		"stacked": stacked,
	} {
		l, err := parseLayout(strings.NewReader(table))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.mode != ModeV2 || l.unified == nil || l.unified.mountpoint != "/sys/fs/cgroup" || len(l.v1) != 0 {
			t.Errorf("%s: layout = %+v (unified %+v), want v2 at /sys/fs/cgroup only", name, l, l.unified)
		}
	}
}

func TestParseLayoutV1CoMounted(t *testing.T) {
	table := `30 22 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs rw
31 30 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
32 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 1 0:29 / /var/lib/other/rootfs/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 1 0:40 / /mnt/elsewhere rw - cgroup2 cgroup2 rw
`
	l, err := parseLayout(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if l.mode != ModeV1 || l.unified != nil {
		t.Fatalf("mode = %q unified = %+v, want v1 without cgroup2", l.mode, l.unified)
	}
	if h := l.v1["cpu"]; h.mountpoint != "/sys/fs/cgroup/cpu,cpuacct" || h.root != "/docker/abc" || l.v1["cpuacct"] != h {
		t.Errorf("cpu/cpuacct = %+v / %+v", h, l.v1["cpuacct"])
	}
	if l.v1["memory"].mountpoint != "/sys/fs/cgroup/memory" {
		t.Errorf("memory = %+v, want the /sys/fs/cgroup mount, not the propagated one", l.v1["memory"])
	}
}

func TestParseLayoutNone(t *testing.T) {
	if _, err := parseLayout(strings.NewReader("22 1 0:21 / /sys rw - sysfs sysfs rw\n")); err == nil {
		t.Fatal("a table without cgroup mounts was accepted")
	}
}
