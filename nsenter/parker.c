/*
 * parker: what a container's init becomes while it waits, long, for start.
 *
 * An init left in "created" (no `nook start` within the init's settle time,
 * libcontainer/containerinit) has finished everything but the execve: the
 * container's root, the process's credentials, capabilities, rlimits,
 * no_new_privs and seccomp filter are the process's own by now. Waiting
 * as a Go program costs ~1 MiB of heap, stacks and runtime data per
 * container; the init execs this instead (from a sealed memfd, embedded in
 * nook like the exit keeper), which waits in a page or two of memory.
 * Compiled into nook's package only as an empty unit: all of it is under
 * NOOK_PARKER_MAIN, which `make build` sets when it builds parker.bin.
 *
 * The init hands it:
 *   argv[1]  the start barrier's fd (exec.fifo, read-write, inherited);
 *   argv[2]  the signal mask to restore, in hex (signal n is bit n-1);
 *   argv[3]  the path of the container's program, resolved in its root;
 *   argv[4…] the program's argv;
 *   envp     the program's environment.
 * The init execs it with every signal blocked: a signal sent while the exec
 * has reset the init's handlers waits, pending, until the handlers below
 * are in place and the mask is restored (the kernel does not take a default
 * action on a pid namespace's init; unblocked, it would be lost).
 * It reads the barrier's byte (written by `nook start`), marks the barrier
 * close-on-exec, so that `nook start` learns from its closing that the
 * program was executed (poststart hooks wait for that), and execs the
 * program. Everything it calls is allowed by the container's seccomp
 * filter: the init checks that before it execs the parker, and keeps
 * waiting as a Go program otherwise.
 *
 * Signals as a Go program takes them (the init was one): SIGHUP, SIGINT
 * and SIGTERM end it (by the signal, or with status 2 where the kernel
 * spares a pid namespace's init); the signals Go makes fatal with a trace
 * end it with status 2; the others Go catches and ignores, so does this.
 * execve gives the program default dispositions, as Go's does, and the
 * restored mask, the one the init had.
 */
#ifdef NOOK_PARKER_MAIN
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "gosignals.h"

static void fail(const char *what, const char *name)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "nook init: %s %s: %s\n", what, name, strerror(errno));

	if (n > 0)
		write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(1);
}

/* restore_mask sets the signal mask the init handed over in hex. */
static void restore_mask(const char *hex)
{
	unsigned long long bits;
	sigset_t set;
	char *end;
	int sig;

	errno = 0;
	bits = strtoull(hex, &end, 16);
	if (*hex == '\0' || *end != '\0' || errno != 0) {
		errno = EINVAL;
		fail("parked: bad signal mask", hex);
	}
	sigemptyset(&set);
	for (sig = 1; sig <= 64; sig++)
		if (bits & (1ULL << (sig - 1)))
			sigaddset(&set, sig);
	if (sigprocmask(SIG_SETMASK, &set, NULL) < 0)
		fail("parked:", "restore the signal mask");
}

int main(int argc, char **argv, char **envp)
{
	char *end, b;
	long barrier;
	ssize_t n;

	/*
	 * As the init was until now (nsenter.c): nothing in the container may
	 * ptrace us or open our /proc files before the program runs. A failure
	 * leaves us as the program itself will be, dumpable.
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (argc < 5) {
		errno = EINVAL;
		fail("parked:", "usage: <barrier fd> <signal mask> <path> <argv...>");
	}
	barrier = strtol(argv[1], &end, 10);
	if (*end != '\0' || barrier < 0 || barrier > 1 << 20) {
		errno = EINVAL;
		fail("start barrier: bad fd", argv[1]);
	}
	nook_take_signals_as_go();
	restore_mask(argv[2]);
	do
		n = read((int)barrier, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		if (n == 0)
			errno = EPIPE;
		fail("start barrier:", "read");
	}
	if (fcntl((int)barrier, F_SETFD, FD_CLOEXEC) < 0)
		fail("start barrier:", "close-on-exec");
	execve(argv[3], argv + 4, envp);
	fail("exec", argv[4]);
	return 1;
}
#endif
