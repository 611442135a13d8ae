/*
 * timerslack: a lazy sysmon for every nook process.
 *
 * The Go runtime's sysmon thread wakes every 20 us while the program makes
 * system calls, and on each wake-up takes the P from a goroutine that has
 * been in a system call since the last one, so the next thread to run Go
 * code has to get it back. A nook command or container init is a few
 * milliseconds of system calls, nearly each longer than 20 us on a VM, and
 * those wake-ups and hand-offs cost ~0.8 ms a command and more in the init
 * (one A/B run of make bench: a lifecycle 81.6 -> 64.1 ms). sysmon sleeps with nanosleep,
 * whose wake-up the kernel may defer by the thread's timer slack (50 us by
 * default), and a thread inherits the slack of the thread that creates it.
 * So, before the runtime makes any thread, this raises the slack to
 * NOOK_TIMER_SLACK_NS: sysmon then wakes every few milliseconds, which is
 * all a process this short needs of it. nook's own sleeps (a few polling
 * loops, none on a lifecycle's path) may end that much later.
 *
 * No program nook starts may inherit it: timerslack.go gives the thread
 * that forks a hook or ps, or that execs the container's process, the
 * slack nook's caller had, which this records. The container's init is
 * started by `nook create`, whose slack is already raised, so create passes
 * its caller's value down in _NOOK_CALLER_TIMERSLACK.
 *
 * Nothing happens in a user-namespace holder (no Go runtime ever starts
 * there) or when the caller's slack is already as large.
 */
#include <stdlib.h>
#include <sys/prctl.h>

#define NOOK_TIMER_SLACK_NS 5000000UL

/* The caller's timer slack in ns, for timerslack.go; 0 when unknown. */
unsigned long nook_caller_timerslack;

__attribute__((constructor)) static void nook_lazy_sysmon(void)
{
	const char *passed = getenv("_NOOK_CALLER_TIMERSLACK");
	int current;

	if (getenv("_NOOK_USERNS_HOLDER") != NULL)
		return;
	current = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (current <= 0)
		return;
	nook_caller_timerslack = (unsigned long)current;
	if (passed != NULL) {
		char *end;
		unsigned long v = strtoul(passed, &end, 10);

		if (*passed != '\0' && *end == '\0' && v > 0)
			nook_caller_timerslack = v;
	}
	if ((unsigned long)current < NOOK_TIMER_SLACK_NS)
		prctl(PR_SET_TIMERSLACK, NOOK_TIMER_SLACK_NS, 0, 0, 0);
}
