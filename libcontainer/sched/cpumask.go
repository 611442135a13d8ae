package sched

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxMaskCPUs is how many CPUs a CPUMask may name: 64 Ki, past any
// kernel's CONFIG_NR_CPUS (8192 at most today), as runc's reset mask.
const maxMaskCPUs = 64 * 1024

// CPUMask is a CPU affinity mask of any length, one bit per CPU. Unlike a
// unix.CPUSet (1024 CPUs) it can name every CPU of a bigger machine:
// sched_setaffinity(2) takes the mask's length, clamps it to the CPUs the
// kernel supports and keeps only those of the task's cpuset.
type CPUMask []uint64

// ParseCPUMask parses a cpu list such as "0-3,7" (the syntax of
// ParseCPUSet) into a mask just long enough for its highest CPU.
func ParseCPUMask(s string) (CPUMask, error) {
	var m CPUMask
	err := parseIDs("cpu", "CPU", s, maxMaskCPUs, func(cpu int) {
		for len(m) <= cpu/64 {
			m = append(m, 0)
		}
		m[cpu/64] |= 1 << (cpu % 64)
	})
	return m, err
}

// AllCPUs is the mask of every CPU a kernel can have: set on a process,
// it leaves the choice to the process's cpuset alone (and follows the
// cpuset when it grows), not to the affinity the process inherited.
func AllCPUs() CPUMask {
	m := make(CPUMask, maxMaskCPUs/64)
	for i := range m {
		m[i] = ^uint64(0)
	}
	return m
}

// Apply sets the mask on the thread tid (0: the calling thread) with
// sched_setaffinity(2). Threads and processes it creates afterwards
// inherit it.
func (m CPUMask) Apply(tid int) error {
	if len(m) == 0 {
		return fmt.Errorf("sched_setaffinity: empty CPU mask")
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SCHED_SETAFFINITY, uintptr(tid),
		uintptr(len(m))*unsafe.Sizeof(m[0]), uintptr(unsafe.Pointer(&m[0])))
	if errno != 0 {
		return os.NewSyscallError("sched_setaffinity", errno)
	}
	return nil
}
