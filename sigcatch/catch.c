/*
 * catch.c: the signal handler behind sigcatch.
 *
 * os/signal enables each signal through a round trip to the Go runtime's
 * signal-mask thread (two thread switches); catching all ~60 of them costs
 * a foreground `nook run` 2-3 ms. A handler of our own is one sigaction per
 * signal: it writes the signal's number, one byte, to a pipe whose other
 * end a goroutine reads. write(2) is async-signal-safe; errno is kept, as
 * the handler may interrupt any code on any thread.
 *
 * SA_ONSTACK is required of any handler in a Go program (the signal may
 * arrive on a goroutine's small stack; every Go thread has an alternate
 * stack). SA_RESTART as the Go runtime's own handlers: a system call the
 * signal interrupts goes on.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* The pipe's write end while signals are caught, else -1. */
static volatile int catch_fd = -1;

/* What each signal had before it was caught, to give it back. */
static struct sigaction caught_before[_NSIG];
static unsigned char caught[_NSIG];

static void catch_signal(int sig)
{
	int saved = errno;
	int fd = catch_fd;
	unsigned char b = (unsigned char)sig;

	/*
	 * A full pipe (64 KiB of signals nobody read) drops this one, and so
	 * does a release under way (fd -1).
	 */
	if (fd >= 0)
		(void)!write(fd, &b, 1);
	errno = saved;
}

/*
 * nook_sigcatch_release gives every caught signal its handler back. The fd
 * is forgotten first: a signal in between is dropped rather than written
 * to a descriptor the caller is about to close.
 */
void nook_sigcatch_release(void)
{
	catch_fd = -1;
	for (int sig = 1; sig < _NSIG; sig++) {
		if (caught[sig]) {
			sigaction(sig, &caught_before[sig], NULL);
			caught[sig] = 0;
		}
	}
}

/* nook_sigcatch_catches tells whether sig's handler is catch_signal (tests). */
int nook_sigcatch_catches(int sig)
{
	struct sigaction cur;

	return sigaction(sig, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_handler == catch_signal;
}

/*
 * nook_sigcatch_start catches sigs[0..n) into fd. It returns 0, or an
 * errno with nothing caught (EBUSY: signals are already being caught).
 */
int nook_sigcatch_start(int fd, const int *sigs, int n)
{
	struct sigaction sa;

	if (catch_fd != -1)
		return EBUSY;
	catch_fd = fd;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = catch_signal;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < n; i++) {
		int sig = sigs[i];

		if (sig <= 0 || sig >= _NSIG) {
			nook_sigcatch_release();
			return EINVAL;
		}
		if (caught[sig])
			continue;
		if (sigaction(sig, &sa, &caught_before[sig]) != 0) {
			int err = errno;

			nook_sigcatch_release();
			return err;
		}
		caught[sig] = 1;
	}
	return 0;
}
