/*
 * gosignals.h: signals taken as a Go program takes them, for the C programs
 * that stand in for nook's Go init while a container waits for start (the
 * parker, parker.c, and the C init, cinit.c): SIGHUP, SIGINT and SIGTERM end
 * the process (by the signal, or with status 2 where the kernel spares a pid
 * namespace's init); the signals Go makes fatal with a trace end it with
 * status 2; the others Go catches and ignores, so do these. Handlers, not
 * SIG_IGN: execve gives the program default dispositions, as Go's does.
 */
#ifndef NOOK_GOSIGNALS_H
#define NOOK_GOSIGNALS_H

#include <signal.h>
#include <unistd.h>

/* SIGHUP, SIGINT, SIGTERM: Go dies of the signal (runtime.dieFromSignal). */
static void nook_go_die_of(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	_exit(2);
}

/* SIGQUIT, SIGABRT, …: Go prints a trace and exits 2. */
static void nook_go_exit_two(int sig)
{
	(void)sig;
	_exit(2);
}

static void nook_go_ignore(int sig)
{
	(void)sig;
}

static void nook_go_handle(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = SA_RESTART };

	sigfillset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void nook_take_signals_as_go(void)
{
	static const int die[] = { SIGHUP, SIGINT, SIGTERM };
	static const int trace[] = { SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGSTKFLT, SIGSYS };
	static const int ignored[] = { SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM,
				       SIGPROF, SIGIO, SIGPWR };
	size_t i;
	int sig;

	for (i = 0; i < sizeof(die) / sizeof(die[0]); i++)
		nook_go_handle(die[i], nook_go_die_of);
	for (i = 0; i < sizeof(trace) / sizeof(trace[0]); i++)
		nook_go_handle(trace[i], nook_go_exit_two);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		nook_go_handle(ignored[i], nook_go_ignore);
	/* The real-time signals the C library leaves to programs. */
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		nook_go_handle(sig, nook_go_ignore);
}

#endif
