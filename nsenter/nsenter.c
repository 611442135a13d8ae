/*
 * nsenter: the part of the container init that must run before the Go runtime.
 *
 * Why C: setns(2) into a mount or user namespace and unshare(CLONE_NEWUSER) are
 * refused for multi-threaded processes, and the Go runtime starts threads before
 * main(). A constructor runs while the process is still single-threaded.
 *
 * The constructor does nothing unless _NOOK_INITPIPE names the init socket, so
 * every other nook command pays only a getenv().
 *
 * Sequence (the frames are described in libcontainer/initproto/proto.go):
 *   stage 0 (the process nook spawned):
 *     read BOOTSTRAP; open the host's /proc and write process.oomScoreAdj through
 *     it; open every namespace path, then setns() all but the user namespace,
 *     the user namespace, and what the first pass was refused (join_namespaces);
 *     unshare(CLONE_NEWUSER) and ask the parent to
 *     write uid_map/gid_map (USERNS_READY / USERNS_MAPPED); unshare the other new
 *     namespaces; clone(CLONE_PARENT) the init so that it is a child of nook (and
 *     PID 1 of a new pid namespace); send INIT_PID; exit.
 *   stage 1 (the container init, or an exec'd process):
 *     with an exec plan (a plain `nook exec` process), carry it out and execve
 *     without starting Go (execplan.c); told by INIT_MODE (when Bootstrap
 *     announced one) that the parent builds the root, stay the C init
 *     (cinit.c); otherwise return at once, so that the Go runtime starts while the parent moves the
 *     init into its cgroup; the Go half (libcontainer/containerinit/init.go) waits for INIT_GO
 *     before it touches the container, then unshares the cgroup namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

#define MAX_NS_PATHS 16

struct ns_path {
	uint32_t type; /* CLONE_NEW* */
	char path[4096];
	int fd;
};

struct bootstrap {
	uint32_t cloneflags;
	/* linux.timeOffsets as /proc/self/timens_offsets wants them ("" = none). */
	char timeoffsets[256];
	/* process.oomScoreAdj as decimal text ("" = leave it alone). */
	char oomscoreadj[16];
	/* An exec plan follows for stage 1 (execplan.c) instead of a Go start. */
	int execplan;
	/* INIT_MODE follows: the Go init, or the C init (cinit.c). */
	int initmode;
	int npaths;
	struct ns_path paths[MAX_NS_PATHS];
};

/* Sends an ERROR frame to the parent and exits: the parent prints it. */
static void bail(int sock, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = nook_error_message(msg, sizeof(msg), errno, 0, fmt, ap);
	va_end(ap);
	if (sock >= 0)
		nook_send_frame(sock, NOOK_MSG_ERROR, msg, (uint32_t)n);
	_exit(1);
}

static void read_bootstrap(int sock, struct bootstrap *bs)
{
	uint32_t type, len, off = 0;
	char *buf = NULL;

	/*
	 * Not a memset of the whole: the paths take 64 KiB, and every page
	 * first touched is a page fault (tens of us on a VM); a path is
	 * written when one comes.
	 */
	bs->cloneflags = 0;
	bs->timeoffsets[0] = bs->oomscoreadj[0] = '\0';
	bs->execplan = bs->initmode = bs->npaths = 0;
	errno = 0;
	if (nook_recv_frame(sock, &type, &buf, &len) < 0)
		bail(sock, "nsenter: read bootstrap");
	if (type != NOOK_MSG_BOOTSTRAP) {
		errno = 0;
		bail(sock, "nsenter: expected bootstrap message, got type %u", type);
	}
	/* Attributes: u32 attr | u32 len | value, back to back. */
	while (off + 8 <= len) {
		uint32_t attr, alen;

		memcpy(&attr, buf + off, 4);
		memcpy(&alen, buf + off + 4, 4);
		off += 8;
		if (alen > len - off) {
			errno = 0;
			bail(sock, "nsenter: truncated bootstrap attribute %u", attr);
		}
		switch (attr) {
		case NOOK_ATTR_CLONE_FLAGS:
			if (alen != 4) {
				errno = 0;
				bail(sock, "nsenter: bad clone flags length %u", alen);
			}
			memcpy(&bs->cloneflags, buf + off, 4);
			break;
		case NOOK_ATTR_NS_PATH: {
			struct ns_path *p;

			/* value: u32 CLONE_NEW* type, then the path (no NUL). */
			if (bs->npaths == MAX_NS_PATHS || alen < 5 || alen - 4 >= sizeof(p->path)) {
				errno = 0;
				bail(sock, "nsenter: bad namespace path attribute");
			}
			p = &bs->paths[bs->npaths++];
			memcpy(&p->type, buf + off, 4);
			memcpy(p->path, buf + off + 4, alen - 4);
			p->path[alen - 4] = '\0';
			p->fd = -1;
			break;
		}
		case NOOK_ATTR_TIME_OFFSETS:
			if (alen >= sizeof(bs->timeoffsets)) {
				errno = 0;
				bail(sock, "nsenter: time offsets too long");
			}
			memcpy(bs->timeoffsets, buf + off, alen);
			bs->timeoffsets[alen] = '\0';
			break;
		case NOOK_ATTR_OOM_SCORE_ADJ:
			if (alen == 0 || alen >= sizeof(bs->oomscoreadj)) {
				errno = 0;
				bail(sock, "nsenter: bad oom_score_adj length %u", alen);
			}
			memcpy(bs->oomscoreadj, buf + off, alen);
			bs->oomscoreadj[alen] = '\0';
			break;
		case NOOK_ATTR_EXEC_PLAN:
			bs->execplan = 1;
			break;
		case NOOK_ATTR_INIT_MODE:
			bs->initmode = 1;
			break;
		default:
			errno = 0;
			bail(sock, "nsenter: unknown bootstrap attribute %u", attr);
		}
		off += alen;
	}
	free(buf);
}

/*
 * One pass of join_namespaces: setns() into every namespace not joined yet
 * whose type is the user namespace (user != 0) or any other (user == 0).
 * With defer_eperm, a namespace we may not join yet (EPERM) is left for a
 * later pass; any other failure ends stage 0.
 */
static void join_pass(int sock, struct bootstrap *bs, int user, int defer_eperm)
{
	int i;

	for (i = 0; i < bs->npaths; i++) {
		struct ns_path *p = &bs->paths[i];

		if (p->fd < 0 || (p->type == CLONE_NEWUSER) != (user != 0))
			continue;
		if (setns(p->fd, (int)p->type) < 0) {
			if (errno == EPERM && defer_eperm)
				continue;
			bail(sock, "join namespace %s: setns", p->path);
		}
		close(p->fd);
		p->fd = -1;
	}
}

/*
 * Joins the namespaces given by path, in runc's order:
 *   1. every namespace but the user namespace, while we still hold the
 *      capabilities we were started with: as host root that is all of them,
 *      including one owned by a user namespace other than the container's
 *      (a host netns under /run/netns belongs to the initial one), which
 *      we could no longer join from inside the container's user namespace;
 *   2. the user namespace;
 *   3. what step 1 was refused with EPERM, now with the capabilities the
 *      user namespace grants (a rootless runtime can join a namespace owned
 *      by the container's user namespace only from inside it).
 * All paths are opened before the first setns() because joining a mount
 * namespace changes how later paths resolve.
 */
static void join_namespaces(int sock, struct bootstrap *bs)
{
	int i;

	/*
	 * O_NONBLOCK: a path that is a FIFO must fail setns() below, not block
	 * the open (and create) forever waiting for a writer.
	 */
	for (i = 0; i < bs->npaths; i++) {
		bs->paths[i].fd = open(bs->paths[i].path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (bs->paths[i].fd < 0)
			bail(sock, "join namespace %s: open", bs->paths[i].path);
	}
	join_pass(sock, bs, 0, 1);
	join_pass(sock, bs, 1, 0);
	join_pass(sock, bs, 0, 0);
}

/*
 * Opens the procfs that every write of stage 0 goes through: the host's /proc,
 * looked up before any namespace is joined or made, so nothing the container
 * (or a namespace given by path) mounts can stand in for it (CVE-2025-52881
 * class).
 */
static int open_host_proc(int sock)
{
	struct statfs st;
	int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		bail(sock, "open /proc");
	if (fstatfs(fd, &st) < 0)
		bail(sock, "statfs /proc");
	if (st.f_type != PROC_SUPER_MAGIC) {
		errno = 0;
		bail(sock, "/proc is not a procfs (filesystem magic %#lx)", (unsigned long)st.f_type);
	}
	return fd;
}

/*
 * Writes value to /proc/self/<name> of the procfs proc_fd (open_host_proc).
 * Returns -1 with errno set on failure; what is "self" is our own process in
 * any pid namespace, the host's procfs seeing every pid.
 */
static int write_proc_self(int proc_fd, const char *name, const char *value)
{
	char path[64];
	size_t n = strlen(value);
	ssize_t w;
	int fd;

	snprintf(path, sizeof(path), "self/%s", name);
	fd = openat(proc_fd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -1;
	do
		w = write(fd, value, n);
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w != n) {
		w = -1;
		errno = EIO;
	}
	close(fd);
	return w < 0 ? -1 : 0;
}

/*
 * Reads /proc/self/<name> of proc_fd into buf (NUL-terminated, first line
 * only); "" on failure.
 */
static void read_proc_self(int proc_fd, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "self/%s", name);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * Whether we hold our capabilities in the initial user namespace: root
 * there, not an unprivileged user (rootless) nor root of another user
 * namespace (nook run by rootless podman), whose capabilities the kernel
 * does not count for what belongs to the host.
 */
static int host_privileged(int proc_fd)
{
	char map[128];
	unsigned long inside, outside, count;

	if (geteuid() != 0)
		return 0;
	read_proc_self(proc_fd, "uid_map", map, sizeof(map));
	return sscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0 &&
	       count == 4294967295UL;
}

/*
 * process.oomScoreAdj, from the host's side as runc does: before any user
 * namespace (lowering the score needs CAP_SYS_RESOURCE of the host) and before
 * we turn non-dumpable (which makes /proc/self root's). The init and the
 * processes it forks inherit it.
 */
static void set_oom_score_adj(int sock, int proc_fd, const char *value)
{
	int saved;

	if (value[0] == '\0' || write_proc_self(proc_fd, "oom_score_adj", value) == 0)
		return;
	saved = errno;
	if ((saved == EACCES || saved == EPERM) && !host_privileged(proc_fd)) {
		char cur[16];

		read_proc_self(proc_fd, "oom_score_adj", cur, sizeof(cur));
		errno = 0;
		bail(sock, "process.oomScoreAdj %s: nook runs without privileges on the host (uid %u%s), and may not lower oom_score_adj below its own (%s) without CAP_SYS_RESOURCE there; use a value >= %s",
		     value, (unsigned)geteuid(), geteuid() == 0 ? " of a user namespace" : "", cur[0] ? cur : "unknown",
		     cur[0] ? cur : "the current one");
	}
	if (value[0] == '-' && (saved == EIO || saved == EACCES || saved == EPERM)) {
		errno = 0;
		bail(sock, "process.oomScoreAdj %s: this host refuses negative oom_score_adj values even for root (%s); use a value >= 0",
		     value, strerror(saved));
	}
	errno = saved;
	bail(sock, "process.oomScoreAdj %s: write /proc/self/oom_score_adj", value);
}

static void expect(int sock, uint32_t want)
{
	uint32_t type, len;
	char *buf = NULL;

	errno = 0;
	if (nook_recv_frame(sock, &type, &buf, &len) < 0)
		bail(sock, "nsenter: waiting for message %u", want);
	free(buf);
	if (type != want) {
		errno = 0;
		bail(sock, "nsenter: expected message %u, got %u", want, type);
	}
}

/* Reads INIT_MODE: 0 for the Go init, 1 for the C init. */
static uint32_t init_mode(int sock)
{
	uint32_t type, len, mode;
	char *buf = NULL;

	errno = 0;
	if (nook_recv_frame(sock, &type, &buf, &len) < 0)
		bail(sock, "nsenter: waiting for the init mode");
	if (type != NOOK_MSG_INIT_MODE || len != 4) {
		free(buf);
		errno = 0;
		bail(sock, "nsenter: expected the init mode, got message %u", type);
	}
	memcpy(&mode, buf, 4);
	free(buf);
	return mode;
}

__attribute__((constructor)) static void nsenter(void)
{
	const char *env = getenv("_NOOK_INITPIPE");
	/* Static, not on the stack: see read_bootstrap. */
	static struct bootstrap bs;
	uint32_t pid32;
	int sock, proc_fd;
	pid_t pid;

	/*
	 * A user-namespace holder for idmapped mounts: the parent made us in a
	 * new user namespace with the mount's mappings and only needs our
	 * /proc/<pid>/ns/user; we wait to be killed, before any Go starts.
	 */
	if (getenv("_NOOK_USERNS_HOLDER") != NULL) {
		for (;;)
			pause();
	}
	if (env == NULL)
		return;
	sock = atoi(env);
	if (sock < 3)
		bail(-1, "bad _NOOK_INITPIPE");

	read_bootstrap(sock, &bs);
	proc_fd = open_host_proc(sock);
	set_oom_score_adj(sock, proc_fd, bs.oomscoreadj);

	/*
	 * Nothing in the container may ptrace us or open our /proc files while we
	 * hold host resources (CVE-2016-9962); we join no namespace before this.
	 * execve of the user process resets it.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail(sock, "prctl(PR_SET_DUMPABLE)");

	join_namespaces(sock, &bs);

	if (bs.cloneflags & CLONE_NEWUSER) {
		/* Read before unshare: unmapped, we would be the overflow uid. */
		int rootless = geteuid() != 0;

		if (unshare(CLONE_NEWUSER) < 0)
			bail(sock, "unshare user namespace");
		/*
		 * Only a process outside the namespace may write a full mapping.
		 * A non-dumpable process's /proc files belong to root: an
		 * unprivileged parent (rootless) could open neither uid_map nor
		 * setgroups, and newuidmap refuses a target its caller does not
		 * own. Dumpable only for that parent and only while it maps us,
		 * as runc: nothing else runs in the new namespace yet, and the
		 * caller's own uid could ptrace us anyway.
		 */
		if (rootless && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail(sock, "prctl(PR_SET_DUMPABLE) for the id mapping");
		pid32 = (uint32_t)getpid();
		if (nook_send_frame(sock, NOOK_MSG_USERNS_READY, &pid32, 4) < 0)
			bail(sock, "nsenter: send userns ready");
		expect(sock, NOOK_MSG_USERNS_MAPPED);
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			bail(sock, "prctl(PR_SET_DUMPABLE)");
	}

	/*
	 * A new cgroup namespace must be rooted at the container's cgroup, which
	 * the parent moves the init into while its Go runtime starts: the Go
	 * init unshares it once told so (InitGo).
	 */
	if (unshare((int)(bs.cloneflags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP))) < 0)
		bail(sock, "unshare namespaces 0x%x", bs.cloneflags);

	/*
	 * A new time namespace takes its offsets only before any process is in
	 * it: unshare put it in our time_for_children, and the clone below is
	 * its first member.
	 */
	if (bs.timeoffsets[0] != '\0' && write_proc_self(proc_fd, "timens_offsets", bs.timeoffsets) < 0)
		bail(sock, "write linux.timeOffsets to /proc/self/timens_offsets");
	close(proc_fd);

	/*
	 * CLONE_PARENT makes the init a child of nook itself rather than of this
	 * short-lived process: `nook run` can wait for it, and when `nook create`
	 * exits it is re-parented to the caller's subreaper (conmon, the shim).
	 * A new pid namespace only applies to children, hence the clone at all.
	 */
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		bail(sock, "clone init");
	if (pid > 0) {
		pid32 = (uint32_t)pid;
		if (nook_send_frame(sock, NOOK_MSG_INIT_PID, &pid32, 4) < 0)
			bail(sock, "nsenter: send init pid");
		_exit(0);
	}

	/* A plain `nook exec` process: set up and executed from here, no Go. */
	if (bs.execplan)
		nook_run_exec_plan(sock);
	/* A container whose root the parent builds: its init stays C. */
	if (bs.initmode && init_mode(sock) == 1)
		nook_run_c_init(sock, bs.cloneflags);

	/*
	 * Return at once: the Go runtime starts and main() runs the Go init,
	 * which waits for InitGo before it does anything in the container.
	 */
}
