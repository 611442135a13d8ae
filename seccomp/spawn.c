/*
 * spawn.c: fork the calling thread and exec a program under a seccomp
 * filter that only the child loads. See Program.Spawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "install.h"

#define NOOK_SECCOMP_SET_MODE_FILTER 1

struct nook_fprog {
	unsigned short len;
	const void *filter;
};

/*
 * A kernel struct sigaction of zeros is SIG_DFL with no flags and an empty
 * mask on every architecture, whatever the order of its fields; 64 bytes
 * cover the largest layout.
 */
static const unsigned char sig_default[64];

/* fail reports stage and errno to the parent and ends the child. */
static void __attribute__((noreturn)) fail(int report, int stage)
{
	struct nook_spawn_report r = { stage, errno };
	ssize_t w;

	do {
		w = write(report, &r, sizeof r);
	} while (w < 0 && errno == EINTR);
	_exit(127);
}

/*
 * setup_stdio puts s->stdio on 0, 1 and 2 without close-on-exec. A source
 * already below 3 but in the wrong place is first moved above 2, so that no
 * dup2 overwrites a source still to be used (as Go's forkExec does).
 */
static int setup_stdio(const struct nook_spawn *s, int *report)
{
	int fds[3], i;

	if (*report < 3) {
		*report = fcntl(*report, F_DUPFD_CLOEXEC, 3);
		if (*report < 0)
			_exit(127); /* nowhere to report to */
	}
	for (i = 0; i < 3; i++) {
		fds[i] = s->stdio[i];
		if (fds[i] < 3 && fds[i] != i) {
			fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			if (fds[i] < 0)
				return -1;
		}
	}
	for (i = 0; i < 3; i++) {
		if (fds[i] == i) {
			if (fcntl(i, F_SETFD, 0) < 0)
				return -1;
		} else if (dup2(fds[i], i) < 0) {
			return -1;
		}
	}
	return 0;
}

static void __attribute__((noreturn)) child(const struct nook_spawn *s, const sigset_t *mask,
					     const unsigned char *caught)
{
	struct nook_fprog prog = { s->len, s->filter };
	int report = s->report, sig;

	/* No handler of the Go runtime may run here. */
	for (sig = 1; sig < _NSIG; sig++) {
		if (caught[sig])
			syscall(SYS_rt_sigaction, sig, sig_default, NULL, _NSIG / 8);
	}
	if (setup_stdio(s, &report) < 0)
		fail(report, NOOK_STAGE_STDIO);
	if (s->setpgid && setpgid(0, 0) < 0)
		fail(report, NOOK_STAGE_SETPGID);
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(report, NOOK_STAGE_NNP);
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* Last, so that only execve (and a failure report) is filtered. */
	if (syscall(SYS_seccomp, NOOK_SECCOMP_SET_MODE_FILTER, s->flags, &prog) < 0)
		fail(report, NOOK_STAGE_LOAD);
	execve(s->path, s->argv, s->envp);
	fail(report, NOOK_STAGE_EXEC);
}

pid_t nook_spawn(const struct nook_spawn *s)
{
	unsigned char caught[_NSIG] = { 0 };
	sigset_t all, old;
	struct sigaction sa;
	pid_t pid;
	int sig, err;

	/*
	 * The signals the runtime catches, found here because the child must
	 * reset them with raw syscalls only. Signals stay blocked from the
	 * fork until the child has reset them.
	 */
	for (sig = 1; sig < _NSIG; sig++) {
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
			caught[sig] = 1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child(s, &old, caught);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid < 0 ? -err : pid;
}
