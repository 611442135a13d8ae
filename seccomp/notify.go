package seccomp

// handOffSyscall reports whether SCMP_ACT_NOTIFY on the named syscall would
// stall the runtime itself. Between Program.Load and the moment the listener
// fd has left the init (sendmsg to the parent, which forwards it to the
// agent), no agent can answer a notification: if the init's own thread makes
// a notified syscall in that window it blocks forever, and `nook create` with
// it. The list is what a Go thread may do in that window: pass the fd on,
// block on a futex, take a preemption signal, touch memory, exit.
func handOffSyscall(name string) bool {
	switch name {
	case "sendmsg", "sendto", "write", "close",
		"futex", "nanosleep", "clock_nanosleep", "sched_yield",
		"rt_sigreturn", "rt_sigprocmask", "sigaltstack",
		"mmap", "munmap", "madvise",
		"exit", "exit_group":
		return true
	}
	return false
}
