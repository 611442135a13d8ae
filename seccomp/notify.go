package seccomp

// notifyRefused reports whether SCMP_ACT_NOTIFY on the named syscall is
// refused. The rule is runc's (1.5): write only. runc's init writes the
// listener's number to its parent right after loading the filter, and a
// notified write would wait for an agent that cannot have the listener
// yet. nook's init makes one write there too, the wake-up of the thread
// that sends the listener (see Install); every other syscall of that
// window, and everything after it, may be notified: the loading thread
// only ever waits for an agent the sender can reach on its own.
func notifyRefused(name string) bool {
	return name == "write"
}
