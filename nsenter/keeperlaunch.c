/*
 * keeperlaunch: create's exit keeper, started so that create's own exit is
 * short.
 *
 * A caller hears of a process's exit only once the kernel has torn down its
 * whole address space: for a Go command on the development VM ~0.65 ms of
 * the ~0.9 ms from exit_group to the caller's wait4 (tracefs:
 * sched_process_exit to mmap:exit_mmap), for its mapped program and heap,
 * against ~0.06 ms for a small C program. The kernel tears an address space
 * down when its last user lets go of it. create already leaves one process
 * behind, the exit keeper; started as a child that shares create's memory
 * (CLONE_VM), which it lets go of only when it executes the keeper program,
 * after create has exited, the teardown moves out of create's exit and into
 * the keeper's exec. The keeper's own start leaves create's path too: with
 * a vfork and exec, create waited for the exec (~0.3-0.5 ms).
 *
 * Until the exec the child runs only the raw system calls below, on its own
 * small stack in create's memory; the Go runtime never learns of it. It
 * starts with every signal blocked (it has create's handlers, which are
 * Go's, until the exec), and puts its files in place first: the keeper's
 * three at KEEPER_PIDFD.., the program and a pidfd of create (both
 * close-on-exec) just above, nothing else, no stdio. It leaves create's
 * session and working directory, waits on the pidfd until every thread of
 * create has exited, and executes the program. Everything it needs was
 * handed over before the clone, so nothing create does after it matters.
 * Until it has closed them, its copy of create's file table holds all of
 * create's files (the caller's stdio, the state lock); create waits for
 * that before it goes on to exit (nook_keeper_settle), by when it is
 * normally long done: create waits for its init's Ready meanwhile. The
 * keeper unblocks its signals first thing (keeper.c).
 *
 * It stays create's child as a forked keeper was, and is re-parented to
 * create's caller (or init) with create's exit, as before; it only runs its
 * program a moment later. Used by `nook create` only, which exits as soon
 * as it is done: a process that went on running would hold its keeper back
 * (libcontainer: CreateOptions.ExitsAfter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "keeper.h"
#include "keeperlaunch.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* The keeper's fds: its three, then the program and create's pidfd. */
enum {
	LAUNCH_FIRST = KEEPER_PIDFD,
	LAUNCH_PROG = KEEPER_OOMFD + 1,
	LAUNCH_CREATE = KEEPER_OOMFD + 2,
	LAUNCH_FDS = LAUNCH_CREATE - LAUNCH_FIRST + 1,
	LAUNCH_SCRATCH = 64, /* above every target while they are moved */
};

#if defined(__x86_64__) || defined(__aarch64__)
/* What the child is handed; written once, before the clone. */
static struct {
	int src[LAUNCH_FDS]; /* create's fd for each keeper fd, -1: none */
	char **argv, **envp;
} launch;
static int launch_used;

/*
 * LAUNCH_SETTLING from the clone until the child holds none of create's
 * files but its own (it then stores LAUNCH_SETTLED); the kernel stores 0
 * too, and wakes create, should the child die first (CLONE_CHILD_CLEARTID).
 * Not a private futex: the kernel's wake is a shared one.
 */
enum { LAUNCH_SETTLED = 0, LAUNCH_SETTLING = 1 };
static int launch_settling;

/* The child's stack, in create's memory like everything else of its. */
static char launch_stack[8192] __attribute__((aligned(64)));

/*
 * System calls without the C library: the child shares the cloning
 * thread's TLS, and a libc wrapper would write that thread's errno.
 */
static long raw6(long n, long a, long b, long c, long d, long e)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	return x0;
#endif
}
#define raw3(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0)

/* struct pollfd, declared here so that no libc header decides its layout. */
struct launch_pollfd {
	int fd;
	short events, revents;
};

static int launch_child(void *unused)
{
	struct launch_pollfd create = {.fd = LAUNCH_CREATE, .events = 0x001 /* POLLIN */, .revents = 0};
	int tmp[LAUNCH_FDS];
	int i;

	(void)unused;
	/* Out of the way first: any source may sit on any target. */
	for (i = 0; i < LAUNCH_FDS; i++) {
		tmp[i] = -1;
		if (launch.src[i] >= 0 && (tmp[i] = (int)raw3(SYS_fcntl, launch.src[i], F_DUPFD_CLOEXEC, LAUNCH_SCRATCH)) < 0)
			goto fail;
	}
	for (i = 0; i < LAUNCH_FDS; i++) {
		int target = LAUNCH_FIRST + i;

		if (tmp[i] < 0)
			raw3(SYS_close, target, 0, 0);
		else if (raw3(SYS_dup3, tmp[i], target, target >= LAUNCH_PROG ? O_CLOEXEC : 0) < 0)
			goto fail;
	}
	for (i = 0; i < LAUNCH_FIRST; i++)
		raw3(SYS_close, i, 0, 0);
	if (raw3(SYS_close_range, LAUNCH_CREATE + 1, ~0u, 0) < 0) {
		/* Before Linux 5.9; create's fds are far below 1024. */
		for (i = LAUNCH_CREATE + 1; i < 1024; i++)
			raw3(SYS_close, i, 0, 0);
	}
	raw3(SYS_setsid, 0, 0, 0);
	raw3(SYS_chdir, "/", 0, 0);
	__atomic_store_n(&launch_settling, LAUNCH_SETTLED, __ATOMIC_RELEASE);
	raw3(SYS_futex, &launch_settling, 1 /* FUTEX_WAKE */, 1);
	/*
	 * Readable once every thread of create has exited. Every signal is
	 * blocked, so nothing interrupts it; should it fail all the same, the
	 * keeper starts now (create then tears down its own memory).
	 */
	while (raw3(SYS_ppoll, &create, 1, 0) == -EINTR)
		;
	raw6(SYS_execveat, LAUNCH_PROG, (long)"", (long)launch.argv, (long)launch.envp, AT_EMPTY_PATH);
fail:
	raw3(SYS_exit, 127, 0, 0);
	return 0;
}

int nook_keeper_start_at_exit(const int fds[3], int prog, char **argv, char **envp)
{
	sigset_t all, old;
	int create, pid, err, i;

	if (__atomic_exchange_n(&launch_used, 1, __ATOMIC_ACQ_REL))
		return -EBUSY;
	/* Opened here, while create certainly runs: the pid cannot be reused. */
	create = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (create < 0)
		return -errno;
	for (i = 0; i < 3; i++)
		launch.src[i] = fds[i];
	launch.src[LAUNCH_PROG - LAUNCH_FIRST] = prog;
	launch.src[LAUNCH_CREATE - LAUNCH_FIRST] = create;
	launch.argv = argv;
	launch.envp = envp;
	__atomic_store_n(&launch_settling, LAUNCH_SETTLING, __ATOMIC_RELEASE);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(launch_child, launch_stack + sizeof(launch_stack), CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD, NULL,
		    NULL, NULL, &launch_settling);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(create);
	if (pid < 0) {
		__atomic_store_n(&launch_settling, LAUNCH_SETTLED, __ATOMIC_RELEASE);
		return -err;
	}
	return pid;
}

void nook_keeper_settle(void)
{
	while (__atomic_load_n(&launch_settling, __ATOMIC_ACQUIRE) == LAUNCH_SETTLING)
		syscall(SYS_futex, &launch_settling, 0 /* FUTEX_WAIT */, LAUNCH_SETTLING, NULL);
}
#else
/* No raw system calls written for this architecture: create forks its keeper. */
int nook_keeper_start_at_exit(const int fds[3], int prog, char **argv, char **envp)
{
	(void)fds, (void)prog, (void)argv, (void)envp;
	return -ENOSYS;
}

void nook_keeper_settle(void)
{
}
#endif
