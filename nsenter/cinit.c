/*
 * cinit: a container's init that never starts Go.
 *
 * The Go init's runtime start is most of what `nook create` waits for on this
 * kind of VM (~7 ms of page faults). For a container whose set-up needs no
 * code of its own in the init (libcontainer/cinit.go says which), the parent,
 * already running, builds the root from one of its threads that joined the
 * init's namespaces (containerinit/fromparent.go), and this process only does
 * what must be done by the container's PID 1 itself:
 *
 *   1. take signals as the Go init would, and wait for INIT_GO (the parent
 *      has put us in the container's cgroup); its payload says how many
 *      proc filesystems the container mounts;
 *   2. unshare the cgroup namespace (rooted at that cgroup), take every CPU,
 *      lead a session of its own;
 *   3. open a proc filesystem context per proc mount and send them back
 *      (PROC_CONTEXTS): a procfs belongs to the pid namespace of whoever
 *      opens its context, and only we are in the container's; the parent
 *      configures and places each mount. The frame also tells the parent
 *      our cgroup namespace exists;
 *   4. wait for the exec plan, with the start barrier's fd, and carry it
 *      out (execplan.c): READY, the barrier, the execve.
 *
 * Errors before READY go to the parent as ERROR frames, in the Go init's
 * words, as they would from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gosignals.h"
#include "proto.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif

void nook_run_c_init(int sock, uint32_t cloneflags)
{
	unsigned long all[1024 / sizeof(unsigned long)];
	int procs[NOOK_MAX_FRAME_FDS], barrier[1] = { -1 }, nbarrier;
	uint32_t type, len, nproc, i;
	struct nook_plan *pl;
	char *buf;

	/* The Go init's runtime would have these from its first instruction. */
	nook_take_signals_as_go();
	/* What `ps` shows of a container waiting for start (its own name after the execve). */
	prctl(PR_SET_NAME, "nook-init", 0, 0, 0);

	errno = 0;
	if (nook_recv_frame(sock, &type, &buf, &len) < 0 || type != NOOK_MSG_INIT_GO || len != 4)
		nook_plan_fail(sock, "nsenter: expected init-go with the number of proc mounts");
	memcpy(&nproc, buf, 4);
	free(buf);
	if (nproc > NOOK_MAX_FRAME_FDS) {
		errno = 0;
		nook_plan_fail(sock, "nsenter: %u proc mounts, at most %d", nproc, NOOK_MAX_FRAME_FDS);
	}

	/* enterSession's steps (containerinit/init.go), in its order. */
	memset(all, 0xff, sizeof(all));
	sched_setaffinity(0, sizeof(all), (cpu_set_t *)all);
	if ((cloneflags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		nook_plan_fail(sock, "unshare cgroup namespace");
	if (setsid() < 0)
		nook_plan_fail(sock, "setsid");

	for (i = 0; i < nproc; i++) {
		procs[i] = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
		if (procs[i] < 0)
			nook_plan_fail(sock, "open a proc filesystem context for the container's pid namespace");
	}
	if (nook_send_frame_fds(sock, NOOK_MSG_PROC_CONTEXTS, NULL, 0, procs, (int)nproc) < 0)
		nook_plan_fail(sock, "nsenter: send the proc contexts");
	for (i = 0; i < nproc; i++)
		close(procs[i]);

	errno = 0;
	if (nook_recv_frame_fds(sock, &type, &buf, &len, barrier, 1, &nbarrier) < 0)
		nook_plan_fail(sock, "nsenter: expected the exec plan");
	if (type == NOOK_MSG_ERROR)
		_exit(1); /* the parent gave up: it reports why */
	if (type != NOOK_MSG_EXEC_PLAN || nbarrier != 1) {
		errno = 0;
		nook_plan_fail(sock, "nsenter: expected the exec plan with the start barrier, got message %u", type);
	}
	pl = nook_plan_parse(sock, buf, len);
	free(buf);
	nook_plan_run(sock, pl, barrier[0]);
}
