/*
 * keeper: records how a container's init ended.
 *
 * After `nook create` (or `run -d`) exits, the init is reaped by whoever
 * inherited it (the engine's subreaper, or PID 1), so no nook process sees
 * its exit status. create therefore starts one keeper per container. It
 * holds a pidfd of the init (it is not the init's parent, so the init stays
 * the child of whoever it is today), sleeps in poll() until the init exits,
 * writes what it learnt to exit.json in the container's state directory,
 * and exits. Costs: one exec on create, and a sleeping process of a few
 * dozen KiB (no Go runtime, no threads) while the container lives. It is
 * a program of its own (main below, embedded in nook), so that it does not
 * keep nook's binary busy.
 *
 * create hands it (libcontainer/exitinfo.go):
 *   fd 3  a pidfd of the init, opened by its parent (the pid cannot have
 *         been reused);
 *   fd 4  the container's state directory, opened without its lock;
 *   fd 5  the memory cgroup's OOM counter (v1 memory.oom_control, v2
 *         memory.events), when there is one;
 *   _NOOK_EXIT_KEEPER="<pid> <start time> <1 if fd 5>" (the start time is
 *         field 22 of /proc/<pid>/stat, to check a zombie's stat is the
 *         init's on kernels without PIDFD_INFO_EXIT).
 *
 * The status: PIDFD_GET_INFO with PIDFD_INFO_EXIT (Linux 6.15) once the
 * init has been reaped, and until then field 52 (exit_code) of the zombie's
 * /proc/<pid>/stat, read only while the pidfd proves the zombie still
 * there. The record is written under a shared lock of the state directory
 * (the one every nook command takes) and only if the directory still
 * exists: `nook delete` holds the lock exclusively while it removes the
 * directory, so the keeper of a deleted container writes nothing and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"


#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* The first 64 bytes of struct pidfd_info (PIDFD_INFO_SIZE_VER0). */
struct keeper_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define KEEPER_PIDFD_GET_INFO _IOWR(0xFF, 11, struct keeper_pidfd_info)
#define KEEPER_PIDFD_INFO_PID (1ULL << 0)
#define KEEPER_PIDFD_INFO_EXIT (1ULL << 3)

/*
 * PIDFD_INFO_EXIT: 1 with *status once the init is reaped, 0 while it is
 * not (or the kernel is older than 6.15).
 */
static int reaped_status(int pidfd, int *status, int *alive)
{
	struct keeper_pidfd_info info;

	memset(&info, 0, sizeof(info));
	info.mask = KEEPER_PIDFD_INFO_EXIT;
	*alive = -1; /* unknown */
	if (ioctl(pidfd, KEEPER_PIDFD_GET_INFO, &info) < 0)
		return 0;
	if (info.mask & KEEPER_PIDFD_INFO_EXIT) {
		*status = info.exit_code;
		return 1;
	}
	*alive = (info.mask & KEEPER_PIDFD_INFO_PID) != 0;
	return 0;
}

/*
 * Fields 22 (start time) and 52 (exit_code, the wait status of a zombie)
 * of /proc/<pid>/stat; 0 on success.
 */
static int read_stat(pid_t pid, unsigned long long *start, int *exit_code)
{
	char path[64], buf[2048], *p;
	int fd, field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command may hold spaces and ')': count from the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	p++;
	*start = 0;
	for (field = 3; field <= 52; field++) {
		char *end;
		unsigned long long v;

		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			return -1;
		v = strtoull(p, &end, 10);
		if (field == 22)
			*start = v;
		if (field == 52) {
			*exit_code = (int)v;
			return 0;
		}
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
	}
	return -1;
}

/*
 * The init's wait status, from the kernel's own record once it is reaped,
 * else from its zombie: the read counts only if the process was still
 * there after it (a pid is not reused while its zombie exists), or, where
 * the kernel cannot tell, if the start time read is the init's.
 */
static int exit_status(int pidfd, pid_t pid, unsigned long long start, int *status)
{
	unsigned long long got_start;
	int code, alive;

	if (reaped_status(pidfd, status, &alive))
		return 1;
	if (read_stat(pid, &got_start, &code) < 0)
		return reaped_status(pidfd, status, &alive);
	if (reaped_status(pidfd, status, &alive))
		return 1;
	if (alive < 0)
		alive = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
	if (alive || got_start == start) {
		*status = code;
		return 1;
	}
	return 0;
}

/* The oom_kill counter of a memory.oom_control or memory.events file. */
static int oom_kills(int fd, unsigned long long *n)
{
	char buf[1024], *p;
	ssize_t len;

	if (fd < 0)
		return 0;
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "oom_kill ", 9) == 0) {
			*n = strtoull(p + 9, NULL, 10);
			return 1;
		}
	}
	return 0;
}

/*
 * Writes exit.json (temp file and rename) under a shared lock of the state
 * directory, unless the directory has been removed.
 */
static void write_record(int dirfd, const char *json, size_t len)
{
	char tmp[64];
	struct stat st;
	int fd, ok;

	while (flock(dirfd, LOCK_SH) < 0)
		if (errno != EINTR)
			return;
	if (fstat(dirfd, &st) < 0 || st.st_nlink == 0)
		return; /* deleted: the container is gone */
	snprintf(tmp, sizeof(tmp), ".exit.json.keeper%d", (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	ok = write(fd, json, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	if (!ok || renameat(dirfd, tmp, dirfd, "exit.json") < 0)
		unlinkat(dirfd, tmp, 0);
}

static void keep(const char *env)
{
	unsigned long long start = 0, oom_before = 0, oom_after = 0;
	int pid = 0, has_oom = 0, status = 0, known, oom_known;
	int oomfd = -1;
	struct pollfd pfd = { .fd = KEEPER_PIDFD, .events = POLLIN };
	struct timespec now;
	char json[256];
	int n;

	sigset_t none;

	/* Started by keeperlaunch.c, it comes with every signal blocked. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Only the fds create handed over: never the caller's stdio or others. */
	if (syscall(SYS_close_range, KEEPER_OOMFD + 1, ~0U, 0) < 0) {
		int fd;

		for (fd = KEEPER_OOMFD + 1; fd < 1024; fd++)
			close(fd);
	}
	if (sscanf(env, "%d %llu %d", &pid, &start, &has_oom) != 3 || pid <= 0)
		return;
	/* Nothing may ptrace it or open its /proc files. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Executed from a memfd, its name would be the fd's number. */
	prctl(PR_SET_NAME, "nook-keeper", 0, 0, 0);
	if (has_oom)
		oomfd = KEEPER_OOMFD;
	oom_known = oom_kills(oomfd, &oom_before);

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return;
	clock_gettime(CLOCK_REALTIME, &now);
	known = exit_status(KEEPER_PIDFD, pid, start, &status);
	oom_known = oom_known && oom_kills(oomfd, &oom_after);

	n = snprintf(json, sizeof(json), "{\"exitedAt\":%lld", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
	if (known)
		n += snprintf(json + n, sizeof(json) - n, ",\"waitStatus\":%d", status);
	if (oom_known)
		n += snprintf(json + n, sizeof(json) - n, ",\"oomKills\":%llu",
			      oom_after > oom_before ? oom_after - oom_before : 0ULL);
	n += snprintf(json + n, sizeof(json) - n, "}\n");
	write_record(KEEPER_DIRFD, json, (size_t)n);
}

#ifdef NOOK_KEEPER_MAIN
/*
 * The keeper on its own: `make build` compiles this file again with
 * NOOK_KEEPER_MAIN into a small static program that nook embeds
 * (keeper_embed.go) and executes from a sealed memfd. A keeper that ran the
 * nook binary itself would hold it busy for as long as the container
 * lives: the binary could not be overwritten in place (ETXTBSY), and a
 * write through the read-only view would fail with ETXTBSY before EROFS.
 */
int main(void)
{
	const char *env = getenv("_NOOK_EXIT_KEEPER");

	if (env != NULL)
		keep(env);
	return 0;
}
#else
/*
 * The fallback, in a binary built without the embedded keeper (plain `go
 * build`): runs before the Go runtime, and only in a process create started
 * as a keeper: every other nook process pays one getenv().
 */
__attribute__((constructor)) static void nook_exit_keeper(void)
{
	const char *env = getenv("_NOOK_EXIT_KEEPER");

	if (env == NULL)
		return;
	keep(env);
	_exit(0);
}
#endif
