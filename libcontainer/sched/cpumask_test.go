package sched

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseCPUMaskBeyond1024(t *testing.T) {
	m, err := ParseCPUMask("0-1,1500,65535")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1024 || m[0] != 3 || m[1500/64] != 1<<(1500%64) || m[1023] != 1<<63 {
		t.Errorf("ParseCPUMask = len %d, [0]=%#x [23]=%#x [1023]=%#x", len(m), m[0], m[1500/64], m[1023])
	}
	for in, want := range map[string]string{
		"65536": "beyond the 65536 CPUs",
		"3-1":   "range ends before it starts",
		"":      "empty cpu list",
	} {
		if _, err := ParseCPUMask(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCPUMask(%q) = %v, want %q", in, err, want)
		}
	}
}

// A mask naming CPUs the machine lacks (past 1024) applies to those it
// has; all CPUs gives the thread every CPU its cpuset allows.
func TestCPUMaskApply(t *testing.T) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	_, last := lastCPU(t)
	m, err := ParseCPUMask(strconv.Itoa(last) + ",4000")
	if err != nil {
		t.Fatal(err)
	}
	var pinned, reset unix.CPUSet
	err = onThrowawayThread(func() error {
		if err := m.Apply(0); err != nil {
			return err
		}
		if err := unix.SchedGetaffinity(0, &pinned); err != nil {
			return err
		}
		if err := AllCPUs().Apply(0); err != nil {
			return err
		}
		return unix.SchedGetaffinity(0, &reset)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cpus(pinned); len(got) != 1 || got[0] != last {
		t.Errorf("after %v: affinity %v, want [%d]", m[:1], got, last)
	}
	if reset != allowed {
		t.Errorf("after AllCPUs: affinity %v, want %v", cpus(reset), cpus(allowed))
	}
	if err := (CPUMask{}).Apply(0); err == nil {
		t.Error("an empty mask was applied")
	}
}
