package sched

import (
	"fmt"
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Values from include/uapi/linux/ioprio.h (x/sys/unix does not carry them).
const (
	ioprioWhoProcess = 1
	ioprioClassShift = 13
	ioprioMaxLevel   = 7
)

var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

// ValidateIOPriority checks process.ioPriority. nil is valid.
func ValidateIOPriority(p *specs.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	if p.Class == "" {
		return fmt.Errorf("process.ioPriority.class: required")
	}
	if _, ok := ioprioClasses[p.Class]; !ok {
		return fmt.Errorf("process.ioPriority.class: unknown class %q (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", p.Class)
	}
	if p.Priority < 0 || p.Priority > ioprioMaxLevel {
		return fmt.Errorf("process.ioPriority.priority: %d is outside 0..%d", p.Priority, ioprioMaxLevel)
	}
	return nil
}

// ioprioValue is the kernel's encoding: class in the top bits, level in the low ones.
func ioprioValue(p *specs.LinuxIOPriority) int {
	return ioprioClasses[p.Class]<<ioprioClassShift | p.Priority
}

// SetIOPriority validates p and applies it to the calling thread with
// ioprio_set(IOPRIO_WHO_PROCESS, 0, …); threads and processes created afterwards inherit it.
// nil leaves the I/O priority alone.
func SetIOPriority(p *specs.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	if err := ValidateIOPriority(p); err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(ioprioValue(p))); errno != 0 {
		return fmt.Errorf("process.ioPriority: %w", os.NewSyscallError("ioprio_set", errno))
	}
	return nil
}
