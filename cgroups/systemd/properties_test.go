package systemd

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fmtProps renders properties as "Name sig=value", so tests check the D-Bus
// type systemd will see as well as the value.
func fmtProps(props []sddbus.Property) []string {
	out := make([]string, 0, len(props))
	for _, p := range props {
		out = append(out, fmt.Sprintf("%s %s=%v", p.Name, p.Value.Signature(), p.Value.Value()))
	}
	return out
}

func i64(v int64) *int64     { return &v }
func u64(v uint64) *uint64   { return &v }
func u16(v uint16) *uint16   { return &v }
func maxU64() string         { return fmt.Sprint(uint64(math.MaxUint64)) }
func join(s []string) string { return strings.Join(s, "\n") }

func TestResourcePropertiesV1(t *testing.T) {
	inf := maxU64()
	tests := []struct {
		name string
		r    *specs.LinuxResources
		want []string
	}{
		{"nil resources", nil, nil},
		{"memory limit", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}},
			[]string{"MemoryLimit t=1048576"}},
		{"memory unlimited", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			[]string{"MemoryLimit t=" + inf}},
		// v1 has no systemd property for reservation or memsw.
		{"memory 0, reservation, swap", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(0), Reservation: i64(100), Swap: i64(200)}},
			nil},
		{"shares", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512)}},
			[]string{"CPUShares t=512"}},
		{"shares clamped low", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1)}},
			[]string{"CPUShares t=2"}},
		{"shares clamped high", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1 << 20)}},
			[]string{"CPUShares t=262144"}},
		{"quota and period", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}},
			[]string{"CPUQuotaPeriodUSec t=100000", "CPUQuotaPerSecUSec t=500000"}},
		{"cpuset", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-2,9", Mems: "1"}},
			[]string{"AllowedCPUs ay=[7 2]", "AllowedMemoryNodes ay=[2]"}},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(100)}},
			[]string{"TasksMax t=100"}},
		{"pids unlimited", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}},
			[]string{"TasksMax t=" + inf}},
		// systemd refuses TasksMax=0; cgroupfs writes it.
		{"pids zero", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, nil},
		{"blkio weight", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}},
			[]string{"BlockIOWeight t=500"}},
		// Unified keys are cgroupfs-only on a v1/hybrid host.
		{"unified ignored", &specs.LinuxResources{Unified: map[string]string{"memory.max": "10"}}, nil},
	}
	for _, tt := range tests {
		props, err := resourceProperties(tt.r, false)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := fmtProps(props); join(got) != join(tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestResourcePropertiesV2(t *testing.T) {
	inf := maxU64()
	tests := []struct {
		name string
		r    *specs.LinuxResources
		want []string
	}{
		{"memory", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100 << 20), Reservation: i64(50 << 20), Swap: i64(300 << 20)}},
			[]string{"MemoryMax t=104857600", "MemoryLow t=52428800", "MemorySwapMax t=209715200"}},
		// Unlimited memory and no swap value: unlimited swap too.
		{"memory unlimited", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			[]string{"MemoryMax t=" + inf, "MemorySwapMax t=" + inf}},
		{"swap unlimited", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(-1)}},
			[]string{"MemoryMax t=100", "MemorySwapMax t=" + inf}},
		// swap == limit: no swap at all.
		{"swap equal to limit", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(100)}},
			[]string{"MemoryMax t=100", "MemorySwapMax t=0"}},
		{"limit only", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100)}},
			[]string{"MemoryMax t=100"}},
		{"shares default to weight default", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}},
			[]string{"CPUWeight t=100"}},
		{"quota rounded up to 10ms/s", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(12345), Period: u64(100000)}},
			[]string{"CPUQuotaPeriodUSec t=100000", "CPUQuotaPerSecUSec t=130000"}},
		{"quota with default period", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(150000)}},
			[]string{"CPUQuotaPerSecUSec t=1500000"}},
		{"quota unlimited", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1)}},
			[]string{"CPUQuotaPerSecUSec t=" + inf}},
		// Only a period: systemd cannot keep the quota, runc says unlimited.
		{"period only", &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(50000)}},
			[]string{"CPUQuotaPeriodUSec t=50000", "CPUQuotaPerSecUSec t=" + inf}},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(32)}},
			[]string{"TasksMax t=32"}},
		{"io weight", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}},
			[]string{"IOWeight t=4950"}},
		{"io weight bounds", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(10)}},
			[]string{"IOWeight t=1"}},
		{"unified keys, sorted, after the structured ones", &specs.LinuxResources{
			Pids: &specs.LinuxPids{Limit: i64(10)},
			Unified: map[string]string{
				"pids.max":         "max",
				"memory.high":      " 4096\n",
				"memory.min":       "0",
				"memory.max":       "0", // systemd refuses 0: cgroupfs only
				"memory.swap.max":  "max",
				"cpu.weight":       "200",
				"cpu.max":          "25000 50000",
				"cpuset.cpus":      "8",
				"cpuset.mems":      "0-1",
				"io.max":           "8:0 rbps=1", // no property: cgroupfs only
				"memory.oom.group": "1",
			}},
			[]string{
				"TasksMax t=10",
				"CPUQuotaPeriodUSec t=50000", "CPUQuotaPerSecUSec t=500000",
				"CPUWeight t=200",
				"AllowedCPUs ay=[0 1]",
				"AllowedMemoryNodes ay=[3]",
				"MemoryHigh t=4096",
				"MemoryMin t=0",
				"MemorySwapMax t=" + inf,
				"TasksMax t=" + inf,
			}},
		{"unified cpu.max max", &specs.LinuxResources{Unified: map[string]string{"cpu.max": "max"}},
			[]string{"CPUQuotaPeriodUSec t=100000", "CPUQuotaPerSecUSec t=" + inf}},
	}
	for _, tt := range tests {
		props, err := resourceProperties(tt.r, true)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := fmtProps(props); join(got) != join(tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestResourcePropertiesRefuses(t *testing.T) {
	tests := []struct {
		name    string
		unified bool
		r       *specs.LinuxResources
		want    string
	}{
		{"negative limit", false, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-2)}}, "linux.resources.memory.limit"},
		{"negative reservation", true, &specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: i64(-5)}}, "linux.resources.memory.reservation"},
		{"swap without limit", true, &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(100)}}, "linux.resources.memory.swap: 100 needs a memory limit"},
		{"swap below limit", true, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(200), Swap: i64(100)}}, "smaller than linux.resources.memory.limit"},
		{"negative swap", true, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(200), Swap: i64(-7)}}, "linux.resources.memory.swap"},
		{"negative quota", false, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-3)}}, "linux.resources.cpu.quota"},
		{"huge quota", false, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(math.MaxInt64)}}, "linux.resources.cpu: quota"},
		{"bad cpus", false, &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-"}}, "linux.resources.cpu.cpus"},
		{"bad mems", true, &specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "x"}}, "linux.resources.cpu.mems"},
		{"blkio weight low", false, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(5)}}, "linux.resources.blockIO.weight"},
		{"blkio weight high", true, &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(1001)}}, "linux.resources.blockIO.weight"},
		{"unified slash", true, &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, `linux.resources.unified["../memory.max"]`},
		{"unified cpu.max", true, &specs.LinuxResources{Unified: map[string]string{"cpu.max": "1 2 3"}}, `linux.resources.unified["cpu.max"]`},
		{"unified cpu.max period", true, &specs.LinuxResources{Unified: map[string]string{"cpu.max": "max 0"}}, "period"},
		{"unified cpu.weight", true, &specs.LinuxResources{Unified: map[string]string{"cpu.weight": "0"}}, `linux.resources.unified["cpu.weight"]`},
		{"unified memory", true, &specs.LinuxResources{Unified: map[string]string{"memory.high": "lots"}}, `linux.resources.unified["memory.high"]`},
		{"unified cpuset", true, &specs.LinuxResources{Unified: map[string]string{"cpuset.cpus": "3-1"}}, "ends before it starts"},
	}
	for _, tt := range tests {
		props, err := resourceProperties(tt.r, tt.unified)
		if err == nil {
			t.Errorf("%s: got %q, want an error", tt.name, fmtProps(props))
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not say %q", tt.name, err, tt.want)
		}
	}
}

func TestCPUQuotaRounding(t *testing.T) {
	tests := []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{100000, 100000, 1000000}, // one CPU
		{10000, 100000, 100000},   // exactly 10%
		{10001, 100000, 110000},   // a hair over: next whole percent
		{1, 100000, 10000},        // the smallest quota is 1%
		{33333, 100000, 340000},   // 33.333% -> 34%
		{25000, 50000, 500000},    // other period
		{1000, 1000000, 10000},    // 0.1% -> 1%
		{250000, 0, 2500000},      // default period (100ms)
	}
	for _, tt := range tests {
		props, err := cpuQuotaProperties(tt.quota, tt.period)
		if err != nil {
			t.Fatal(err)
		}
		last := props[len(props)-1]
		if last.Name != "CPUQuotaPerSecUSec" || last.Value.Value() != tt.want {
			t.Errorf("quota %d period %d: %v, want CPUQuotaPerSecUSec=%d", tt.quota, tt.period, fmtProps(props), tt.want)
		}
		if got := last.Value.Value().(uint64); got%10000 != 0 {
			t.Errorf("quota %d: %d is not a multiple of 10ms", tt.quota, got)
		}
	}
	if props, _ := cpuQuotaProperties(0, 0); len(props) != 0 {
		t.Errorf("no quota, no period: %v, want nothing", fmtProps(props))
	}
}

func TestCPUSharesToWeight(t *testing.T) {
	tests := map[uint64]uint64{
		0:       0, // not set
		1:       1,
		2:       1,
		3:       2,
		512:     59,
		1024:    100, // default to default
		2048:    174,
		4096:    303,
		262143:  10000,
		262144:  10000,
		1 << 30: 10000,
	}
	for shares, want := range tests {
		if got := cpuSharesToWeight(shares); got != want {
			t.Errorf("cpuSharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	// Monotonic and within cpu.weight's range over all valid shares.
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s++ {
		w := cpuSharesToWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("cpuSharesToWeight(%d) = %d after %d", s, w, prev)
		}
		prev = w
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for in, want := range map[uint16]uint64{10: 1, 100: 910, 500: 4950, 1000: 10000} {
		if got := blkioWeightToIOWeight(in); got != want {
			t.Errorf("blkioWeightToIOWeight(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestUnitProperties(t *testing.T) {
	scope := Unit{Name: "nook-abc.scope", Parent: "system.slice", Path: "/system.slice/nook-abc.scope"}
	props, err := unitProperties(scope, "abc", 4242, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Description s=nook container abc",
		"Slice s=system.slice",
		"PIDs au=[4242]",
		"Delegate b=true",
		"MemoryAccounting b=true",
		"CPUAccounting b=true",
		"BlockIOAccounting b=true",
		"TasksAccounting b=true",
		"DefaultDependencies b=false",
	}
	if got := fmtProps(props); !reflect.DeepEqual(got, want) {
		t.Errorf("v1 scope:\n got %q\nwant %q", got, want)
	}

	slice := Unit{Name: "k8s-pod.slice", Parent: "k8s.slice", Path: "/k8s.slice/k8s-pod.slice"}
	props, err = unitProperties(slice, "abc", 4242, true)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"Description s=nook container abc",
		"Wants as=[k8s.slice]",
		"MemoryAccounting b=true",
		"CPUAccounting b=true",
		"IOAccounting b=true",
		"TasksAccounting b=true",
		"DefaultDependencies b=false",
	}
	if got := fmtProps(props); !reflect.DeepEqual(got, want) {
		t.Errorf("v2 slice:\n got %q\nwant %q", got, want)
	}

	if _, err := unitProperties(scope, "abc", 0, true); err == nil {
		t.Error("a scope with pid 0: want an error")
	}
}

func TestKeepSupported(t *testing.T) {
	props := []sddbus.Property{
		newProp("Delegate", true),
		newProp("MemoryMax", uint64(1)),
		newProp("CPUQuotaPeriodUSec", uint64(100000)),
		newProp("AllowedCPUs", []byte{1}),
		newProp("DefaultDependencies", false),
	}
	tests := []struct {
		version     int
		kept        []string
		wantDropped []string
	}{
		{0, []string{"Delegate", "MemoryMax", "CPUQuotaPeriodUSec", "AllowedCPUs", "DefaultDependencies"}, nil},
		{252, []string{"Delegate", "MemoryMax", "CPUQuotaPeriodUSec", "AllowedCPUs", "DefaultDependencies"}, nil},
		{243, []string{"Delegate", "MemoryMax", "CPUQuotaPeriodUSec", "DefaultDependencies"}, []string{"AllowedCPUs"}},
		{239, []string{"Delegate", "MemoryMax", "DefaultDependencies"}, []string{"CPUQuotaPeriodUSec", "AllowedCPUs"}},
		{219, []string{"Delegate", "DefaultDependencies"}, []string{"MemoryMax", "CPUQuotaPeriodUSec", "AllowedCPUs"}},
	}
	for _, tt := range tests {
		kept, dropped := keepSupported(props, tt.version)
		var names []string
		for _, p := range kept {
			names = append(names, p.Name)
		}
		if !reflect.DeepEqual(names, tt.kept) || !reflect.DeepEqual(dropped, tt.wantDropped) {
			t.Errorf("v%d: kept %v dropped %v, want %v and %v", tt.version, names, dropped, tt.kept, tt.wantDropped)
		}
	}
}

func TestParseSystemdVersion(t *testing.T) {
	for in, want := range map[string]int{
		`"252.38-1~deb12u1"`: 252,
		`"v245.4-1.fc32"`:    245,
		"245":                245,
		`'239'`:              239,
		`"unknown"`:          0,
		"":                   0,
	} {
		if got := parseSystemdVersion(in); got != want {
			t.Errorf("parseSystemdVersion(%q) = %d, want %d", in, got, want)
		}
	}
}
