package sched

import (
	"fmt"
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// policies maps the spec's policy names to the kernel's numbers. SCHED_ISO is listed by the
// spec but was never merged into Linux, so it has no entry and is refused by validation.
var policies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    unix.SCHED_NORMAL,
	specs.SchedFIFO:     unix.SCHED_FIFO,
	specs.SchedRR:       unix.SCHED_RR,
	specs.SchedBatch:    unix.SCHED_BATCH,
	specs.SchedIdle:     unix.SCHED_IDLE,
	specs.SchedDeadline: unix.SCHED_DEADLINE,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

const (
	// Linux's static priority range for SCHED_FIFO and SCHED_RR (sched_get_priority_min/max).
	rtPriorityMin = 1
	rtPriorityMax = 99
	// The smallest SCHED_DEADLINE runtime the kernel accepts (2^DL_SCALE ns).
	deadlineMinRuntime = 1 << 10
	// The kernel refuses deadline parameters with bit 63 set.
	deadlineMaxValue = 1<<63 - 1
)

// ValidateScheduler checks process.scheduler against the rules of sched_setattr(2), so that
// a config the kernel would refuse fails at create time with the field named. nil is valid.
func ValidateScheduler(s *specs.Scheduler) error {
	if s == nil {
		return nil
	}
	if s.Policy == "" {
		return fmt.Errorf("process.scheduler.policy: required")
	}
	if s.Policy == specs.SchedISO {
		return fmt.Errorf("process.scheduler.policy: %s is not implemented by Linux", s.Policy)
	}
	if _, ok := policies[s.Policy]; !ok {
		return fmt.Errorf("process.scheduler.policy: unknown policy %q", s.Policy)
	}
	if s.Nice < -20 || s.Nice > 19 {
		return fmt.Errorf("process.scheduler.nice: %d is outside -20..19", s.Nice)
	}
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case realtime && (s.Priority < rtPriorityMin || s.Priority > rtPriorityMax):
		return fmt.Errorf("process.scheduler.priority: %s needs a priority in %d..%d, got %d", s.Policy, rtPriorityMin, rtPriorityMax, s.Priority)
	case !realtime && s.Priority != 0:
		return fmt.Errorf("process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, %s needs 0, got %d", s.Policy, s.Priority)
	}
	if s.Policy == specs.SchedDeadline {
		if err := validateDeadline(s); err != nil {
			return err
		}
	} else if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
		return fmt.Errorf("process.scheduler: runtime, deadline and period apply only to SCHED_DEADLINE, not %s", s.Policy)
	}
	for i, f := range s.Flags {
		if _, ok := schedFlags[f]; !ok {
			return fmt.Errorf("process.scheduler.flags[%d]: unknown flag %q", i, f)
		}
	}
	return nil
}

// validateDeadline applies the kernel's __checkparam_dl rules: runtime ≥ 1µs-ish, and
// runtime ≤ deadline ≤ period (a period of 0 means "equal to the deadline").
func validateDeadline(s *specs.Scheduler) error {
	if s.Runtime < deadlineMinRuntime {
		return fmt.Errorf("process.scheduler.runtime: SCHED_DEADLINE needs at least %d ns, got %d", deadlineMinRuntime, s.Runtime)
	}
	if s.Deadline == 0 {
		return fmt.Errorf("process.scheduler.deadline: SCHED_DEADLINE needs a deadline")
	}
	if s.Runtime > deadlineMaxValue || s.Deadline > deadlineMaxValue || s.Period > deadlineMaxValue {
		return fmt.Errorf("process.scheduler: runtime, deadline and period must be below 2^63 ns")
	}
	if s.Runtime > s.Deadline {
		return fmt.Errorf("process.scheduler.runtime: %d ns is longer than the deadline (%d ns)", s.Runtime, s.Deadline)
	}
	if s.Period != 0 && s.Deadline > s.Period {
		return fmt.Errorf("process.scheduler.deadline: %d ns is longer than the period (%d ns)", s.Deadline, s.Period)
	}
	return nil
}

// schedAttr converts a valid process.scheduler to the kernel's struct sched_attr.
func schedAttr(s *specs.Scheduler) *unix.SchedAttr {
	attr := &unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   policies[s.Policy],
		Nice:     s.Nice,
		Priority: uint32(s.Priority), // validated to 0..99
		Runtime:  s.Runtime,
		Deadline: s.Deadline,
		Period:   s.Period,
	}
	for _, f := range s.Flags {
		attr.Flags |= schedFlags[f]
	}
	return attr
}

// SetScheduler validates s and applies it to the calling thread with sched_setattr(2).
// nil leaves the scheduling attributes alone.
func SetScheduler(s *specs.Scheduler) error {
	if s == nil {
		return nil
	}
	if err := ValidateScheduler(s); err != nil {
		return err
	}
	if err := unix.SchedSetAttr(0, schedAttr(s), 0); err != nil {
		if err == unix.EPERM {
			// The usual cause rootless: the capability counts only in
			// the initial user namespace.
			return fmt.Errorf("process.scheduler: %w (a real-time or deadline policy, or a nice value below the current one, needs CAP_SYS_NICE on the host; without it only what RLIMIT_RTPRIO and RLIMIT_NICE allow)",
				os.NewSyscallError("sched_setattr", err))
		}
		return fmt.Errorf("process.scheduler: %w", os.NewSyscallError("sched_setattr", err))
	}
	return nil
}
