package cgroups

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BenchmarkNewApplySet times the create hot path for a typical config
// (memory, cpu, pids and device rules) on this host's real cgroups:
//
//	go test -run '^$' -bench NewApplySet ./cgroups/
func BenchmarkNewApplySet(b *testing.B) {
	l := realHost(b, ModeV1, ModeHybrid, ModeV2)
	base := testBase(b, l)
	major, minor := int64(1), int64(3)
	res := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: p64(256 << 20)},
		CPU:    &specs.LinuxCPU{Shares: pu64(1024), Quota: p64(50000), Period: pu64(100000)},
		Pids:   &specs.LinuxPids{Limit: p64(1024)},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"},
		},
	}
	if l.mode == ModeV2 {
		res.Memory, res.CPU, res.Pids = nil, nil, nil // not on this host's cgroup2
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cmd := start(b, "sleep", "1000")
		b.StartTimer()
		m, err := New(Config{Name: "b", Path: fmt.Sprintf("%s/c%d", base, i), Resources: res})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(cmd.Process.Pid); err != nil {
			b.Fatal(err)
		}
		if err := m.Set(res); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stop(b, cmd)
		if err := m.Destroy(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
