package sched

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestValidateSchedulerAccepts(t *testing.T) {
	for _, s := range []*specs.Scheduler{
		nil,
		{Policy: specs.SchedOther},
		{Policy: specs.SchedOther, Nice: -20},
		{Policy: specs.SchedBatch, Nice: 19},
		{Policy: specs.SchedIdle},
		{Policy: specs.SchedFIFO, Priority: 1, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
		{Policy: specs.SchedRR, Priority: 99},
		{Policy: specs.SchedDeadline, Runtime: 1 << 10, Deadline: 1 << 20},
		{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1e7, Period: 1e8,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagReclaim, specs.SchedFlagDLOverrun}},
	} {
		if err := ValidateScheduler(s); err != nil {
			t.Errorf("ValidateScheduler(%+v) = %v", s, err)
		}
	}
}

func TestValidateSchedulerRefuses(t *testing.T) {
	tests := []struct {
		s    specs.Scheduler
		want string
	}{
		{specs.Scheduler{}, "process.scheduler.policy: required"},
		{specs.Scheduler{Policy: "SCHED_FAST"}, `process.scheduler.policy: unknown policy "SCHED_FAST"`},
		{specs.Scheduler{Policy: specs.SchedISO}, "process.scheduler.policy: SCHED_ISO is not implemented by Linux"},
		{specs.Scheduler{Policy: specs.SchedOther, Nice: -21}, "process.scheduler.nice: -21 is outside -20..19"},
		{specs.Scheduler{Policy: specs.SchedOther, Nice: 20}, "process.scheduler.nice: 20"},
		{specs.Scheduler{Policy: specs.SchedFIFO}, "process.scheduler.priority: SCHED_FIFO needs a priority in 1..99, got 0"},
		{specs.Scheduler{Policy: specs.SchedRR, Priority: 100}, "process.scheduler.priority: SCHED_RR needs a priority in 1..99, got 100"},
		{specs.Scheduler{Policy: specs.SchedOther, Priority: 5}, "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"},
		{specs.Scheduler{Policy: specs.SchedBatch, Runtime: 1}, "process.scheduler: runtime, deadline and period apply only to SCHED_DEADLINE, not SCHED_BATCH"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Deadline: 1e6}, "process.scheduler.runtime: SCHED_DEADLINE needs at least 1024 ns, got 0"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6}, "process.scheduler.deadline: SCHED_DEADLINE needs a deadline"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2e6, Deadline: 1e6}, "process.scheduler.runtime: 2000000 ns is longer than the deadline"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 2e6, Period: 1e6}, "process.scheduler.deadline: 2000000 ns is longer than the period"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e6, Deadline: 1 << 63}, "below 2^63"},
		{specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, "SCHED_FLAG_TURBO"}}, `process.scheduler.flags[1]: unknown flag "SCHED_FLAG_TURBO"`},
	}
	for _, tt := range tests {
		err := ValidateScheduler(&tt.s)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateScheduler(%+v) = %v, want it to contain %q", tt.s, err, tt.want)
		}
		// The setter refuses the same config before making any syscall.
		if err2 := SetScheduler(&tt.s); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("SetScheduler(%+v) = %v, want the validation error %v", tt.s, err2, err)
		}
	}
}

func TestSchedAttrEncoding(t *testing.T) {
	a := schedAttr(&specs.Scheduler{
		Policy: specs.SchedDeadline, Runtime: 1, Deadline: 2, Period: 3,
		Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagReclaim, specs.SchedFlagUtilClampMax},
	})
	want := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_DEADLINE, Runtime: 1, Deadline: 2, Period: 3,
		Flags: unix.SCHED_FLAG_RESET_ON_FORK | unix.SCHED_FLAG_RECLAIM | unix.SCHED_FLAG_UTIL_CLAMP_MAX}
	if *a != want {
		t.Fatalf("schedAttr = %+v, want %+v", *a, want)
	}
}

func TestSetNilSchedulerIsNoop(t *testing.T) {
	if err := SetScheduler(nil); err != nil {
		t.Fatal(err)
	}
}

// Each policy is applied to a throwaway thread and read back with sched_getattr. The
// real-time ones live only for the instant it takes to read them back.
func TestSetSchedulerReadsBack(t *testing.T) {
	tests := []specs.Scheduler{
		{Policy: specs.SchedOther, Nice: 7},
		{Policy: specs.SchedOther, Nice: -3},
		{Policy: specs.SchedBatch, Nice: 3},
		{Policy: specs.SchedIdle},
		{Policy: specs.SchedFIFO, Priority: 1, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
		{Policy: specs.SchedRR, Priority: 2, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
		{Policy: specs.SchedDeadline, Runtime: 1e5, Deadline: 1e7, Period: 1e8,
			Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
	}
	for _, s := range tests {
		t.Run(fmt.Sprintf("%s/%d/%d", s.Policy, s.Nice, s.Priority), func(t *testing.T) {
			var got *unix.SchedAttr
			err := onThrowawayThread(func() error {
				if err := SetScheduler(&s); err != nil {
					return err
				}
				var err error
				got, err = unix.SchedGetAttr(0, 0)
				return err
			})
			skipIfNotPermitted(t, err, string(s.Policy))
			if s.Policy == specs.SchedDeadline && errors.Is(err, unix.EBUSY) {
				t.Skipf("SCHED_DEADLINE admission control refused the bandwidth here: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Policy != policies[s.Policy] {
				t.Errorf("policy = %d, want %d", got.Policy, policies[s.Policy])
			}
			if got.Priority != uint32(s.Priority) {
				t.Errorf("priority = %d, want %d", got.Priority, s.Priority)
			}
			if fair := s.Policy == specs.SchedOther || s.Policy == specs.SchedBatch; fair && got.Nice != s.Nice {
				t.Errorf("nice = %d, want %d", got.Nice, s.Nice)
			}
			if len(s.Flags) > 0 && got.Flags&unix.SCHED_FLAG_RESET_ON_FORK == 0 {
				t.Errorf("flags = %#x, want SCHED_FLAG_RESET_ON_FORK set", got.Flags)
			}
			if s.Policy == specs.SchedDeadline && (got.Runtime != s.Runtime || got.Deadline != s.Deadline || got.Period != s.Period) {
				t.Errorf("runtime/deadline/period = %d/%d/%d, want %d/%d/%d", got.Runtime, got.Deadline, got.Period, s.Runtime, s.Deadline, s.Period)
			}
		})
	}
}

// A config the spec allows but the kernel refuses comes back naming the field and the
// syscall: Linux refuses SCHED_DEADLINE to a thread whose affinity does not span its whole
// root domain.
func TestSetSchedulerReportsKernelError(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs at least 2 CPUs to narrow a thread's affinity")
	}
	var one unix.CPUSet
	one.Set(0)
	err := OnThreadWithAffinity(one, func() error {
		return SetScheduler(&specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1e5, Deadline: 1e7, Period: 1e8})
	})
	if err == nil {
		t.Fatal("SetScheduler(SCHED_DEADLINE) on a one-CPU thread succeeded, want the kernel's refusal")
	}
	if !strings.HasPrefix(err.Error(), "process.scheduler: sched_setattr: ") || !errors.Is(err, unix.EPERM) {
		t.Fatalf("SetScheduler = %q, want process.scheduler: sched_setattr: …EPERM", err)
	}
}
