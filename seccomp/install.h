/*
 * install.h: the C side of Program.Install (install.c) and Program.Spawn
 * (spawn.c). Both run on a thread the Go runtime has handed to C (a cgo
 * call), so that what happens under a freshly loaded filter involves no Go
 * runtime code at all.
 */
#ifndef NOOK_SECCOMP_INSTALL_H
#define NOOK_SECCOMP_INSTALL_H

#include <stdint.h>
#include <sys/types.h>

/* Where the child of nook_spawn (or nook_install_handoff) failed. */
enum {
	NOOK_STAGE_LOAD = 1,    /* seccomp(SECCOMP_SET_MODE_FILTER) */
	NOOK_STAGE_STDIO = 2,   /* dup2 of the child's stdio */
	NOOK_STAGE_SETPGID = 3,
	NOOK_STAGE_NNP = 4,     /* prctl(PR_SET_NO_NEW_PRIVS) */
	NOOK_STAGE_EXEC = 5,
};

/* nook_handoff.status, a futex word written by the sending thread. */
enum {
	NOOK_HANDOFF_PENDING = 0,
	NOOK_HANDOFF_DONE = 1, /* the sender is done with the listener (sent or not) */
};

struct nook_handoff {
	int32_t listener; /* -1 until the filter is loaded, then the listener fd */
	int32_t status;
};

/*
 * nook_install_handoff loads the filter (len instructions, struct
 * sock_filter layout) with flags, which include
 * SECCOMP_FILTER_FLAG_NEW_LISTENER, on the calling thread, publishes the
 * listener in h->listener, wakes the sender with a byte on pipe_w and waits
 * until h->status is no longer NOOK_HANDOFF_PENDING. It returns 0 or, when
 * the filter could not be loaded, -errno.
 */
int nook_install_handoff(const void *filter, unsigned short len, unsigned int flags,
			 int pipe_w, struct nook_handoff *h);

/*
 * nook_continue_all answers every notification on listener with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE until listener fails; recv and send are
 * SECCOMP_IOCTL_NOTIF_RECV and SECCOMP_IOCTL_NOTIF_SEND.
 */
void nook_continue_all(int listener, unsigned long recv, unsigned long send);

struct nook_spawn {
	const char *path;
	char *const *argv; /* NULL-terminated */
	char *const *envp; /* NULL-terminated */
	int stdio[3];
	int report; /* write end of a close-on-exec pipe for a nook_spawn_report */
	int setpgid;
	int no_new_privs;
	const void *filter;
	unsigned short len;
	unsigned int flags;
};

struct nook_spawn_report {
	int32_t stage;
	int32_t err;
};

/*
 * nook_spawn forks the calling thread; the child sets up its stdio, process
 * group and no_new_privs, loads the filter and execs path. It returns the
 * child's pid or -errno of the fork. A failure in the child is written to
 * report, then the child exits 127.
 */
pid_t nook_spawn(const struct nook_spawn *s);

#endif
