package spec

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckIDMappings(t *testing.T) {
	ok := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65535}}
	if err := checkIDMappings("linux.uidMappings", ok); err != nil {
		t.Errorf("valid mappings refused: %v", err)
	}
	for _, tc := range []struct {
		ms   []specs.LinuxIDMapping
		want string
	}{
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 0}}, "size"},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 10}, {ContainerID: 5, HostID: 100, Size: 10}}, "containerID ranges overlap"},
		{[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 10}, {ContainerID: 50, HostID: 5, Size: 10}}, "hostID ranges overlap"},
		{[]specs.LinuxIDMapping{{ContainerID: 4294967000, HostID: 1, Size: 1000}}, "32-bit"},
		{make([]specs.LinuxIDMapping, 341), "at most 340"},
	} {
		err := checkIDMappings("linux.uidMappings", tc.ms)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "linux.uidMappings") {
			t.Errorf("checkIDMappings(%d ranges) = %v, want an error about %q", len(tc.ms), err, tc.want)
		}
	}
}

func TestCheckTimeOffsets(t *testing.T) {
	l := &specs.Linux{
		Namespaces:  []specs.LinuxNamespace{{Type: specs.TimeNamespace}},
		TimeOffsets: map[string]specs.LinuxTimeOffset{"boottime": {Secs: 5}, "monotonic": {Secs: -3}},
	}
	if err := checkTimeOffsets(l); err != nil {
		t.Errorf("valid offsets refused: %v", err)
	}
	l.TimeOffsets["realtime"] = specs.LinuxTimeOffset{Secs: 1}
	if err := checkTimeOffsets(l); err == nil || !strings.Contains(err.Error(), "realtime") {
		t.Errorf("realtime clock accepted: %v", err)
	}
	delete(l.TimeOffsets, "realtime")
	l.Namespaces[0].Path = "/proc/1/ns/time"
	if err := checkTimeOffsets(l); err == nil || !strings.Contains(err.Error(), "new time namespace") {
		t.Errorf("offsets for a joined time namespace accepted: %v", err)
	}
}

func TestCheckDevices(t *testing.T) {
	mode := os.FileMode(0o666)
	if err := checkDevices([]specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode}, {Path: "/dev/p", Type: "p"}}); err != nil {
		t.Errorf("valid devices refused: %v", err)
	}
	for _, tc := range []struct {
		d    []specs.LinuxDevice
		want string
	}{
		{[]specs.LinuxDevice{{Path: "dev/x", Type: "c"}}, "absolute"},
		{[]specs.LinuxDevice{{Path: "/dev/x", Type: "q"}}, "linux.devices[0].type"},
		{[]specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: -1}}, "major"},
		{[]specs.LinuxDevice{{Path: "/dev/x", Type: "p"}, {Path: "/dev/x/", Type: "p"}}, "duplicate"},
	} {
		if err := checkDevices(tc.d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkDevices(%+v) = %v, want %q", tc.d, err, tc.want)
		}
	}
}
