/*
 * execplan: a `nook exec` process set up and executed without a Go runtime.
 *
 * Starting the Go runtime in an exec'd process costs it ~8 ms on the
 * development VM, a third of `nook exec ID true`. For a plain process (no
 * terminal, no LSM label, no scheduling or memory policy, no user name to
 * look up, no user namespace, no seccomp agent) the parent decides
 * everything the Go init would (libcontainer/execplan.go: the program
 * found along PATH, HOME, the capability sets, the rlimits, the seccomp
 * program) and sends it as an ExecPlan (libcontainer/initproto/execplan.go
 * defines the format); stage 1 carries it out here, in the order of the Go
 * init's runExec (libcontainer/containerinit/init.go), which stays the
 * reference: every step and every error message follows it.
 *
 *   1. read the plan, then INIT_GO (the parent has put us in the cgroup);
 *   2. give this process every CPU, lead a session of its own;
 *   3. chdir to the cwd as root (a refusal is tried again as the user);
 *   4. drop the bounding set, switch to the user keeping capabilities,
 *      keep CAP_SYS_RESOURCE (and CAP_SYS_ADMIN for a filter loaded without
 *      no_new_privs) until the end; umask; check the cwd is inside the root;
 *   5. READY (errors go to stderr from here on, as the Go init's);
 *   6. the caller's timer slack, rlimits, close_range, no_new_privs,
 *      seccomp (before the capabilities when they would lose CAP_SYS_ADMIN
 *      and there is no no_new_privs), the final capabilities, ambient;
 *   7. execve.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proto.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
/*
 * The kernel's structs for capset(2) and seccomp(2), declared here: musl's
 * headers have none of them, and this package sees no kernel headers.
 */
struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};
#define CAP_VERSION_3 0x20080522
struct bpf_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct bpf_prog {
	unsigned short len;
	struct bpf_insn *filter;
};
#define SECCOMP_MODE_FILTER_OP 1 /* SECCOMP_SET_MODE_FILTER */
#define BPF_MAX_INSNS 4096
#define CAP_SYS_ADMIN_BIT 21
#define CAP_SYS_RESOURCE_BIT 24
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif
#define MAX_PLAN_LIST 4096 /* args, env, groups, rlimits: more is a protocol error */

struct plan_rlimit {
	uint32_t resource;
	uint64_t soft, hard;
};

/* An execve failure the parent explained ahead (NOOK_PLAN_FAILURE). */
struct plan_failure {
	uint32_t errnum;
	char *line;
};

struct nook_plan {
	char *path, *cwd;
	char *keyring; /* NULL: keep the session keyring */
	struct plan_failure *failures;
	size_t nfailures;
	char **argv, **envp;
	size_t nargs, nenv;
	uint32_t uid, gid, umask;
	gid_t *groups;
	size_t ngroups;
	uint64_t bounding, effective, permitted, inheritable, ambient;
	struct plan_rlimit *rlimits;
	size_t nrlimits;
	uint32_t flags, preserve;
	uint64_t timerslack;
	struct bpf_prog filter; /* len 0: none */
	uint32_t filter_flags;
};

/* Before READY the parent reports errors; after it, stderr (init.go's RunInit). */
static int ready_sent;

void nook_plan_fail(int sock, const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = nook_error_message(msg, sizeof(msg), saved, 1, fmt, ap);
	va_end(ap);
	if (!ready_sent)
		nook_send_frame(sock, NOOK_MSG_ERROR, msg, (uint32_t)n);
	else
		dprintf(2, "nook init: %s\n", msg);
	_exit(1);
}

/* Appends one element to a list of size elements, failing past MAX_PLAN_LIST. */
static void *grow(int sock, void *list, size_t *n, size_t size)
{
	void *p;

	if (*n >= MAX_PLAN_LIST) {
		errno = 0;
		nook_plan_fail(sock, "nsenter: exec plan: too many entries");
	}
	p = realloc(list, (*n + 2) * size); /* room for a NULL terminator */
	if (p == NULL)
		nook_plan_fail(sock, "nsenter: exec plan");
	(*n)++;
	return p;
}

static char *dup_string(int sock, const char *v, uint32_t len)
{
	char *s = malloc((size_t)len + 1);

	if (s == NULL)
		nook_plan_fail(sock, "nsenter: exec plan");
	memcpy(s, v, len);
	s[len] = '\0';
	if (strlen(s) != len) {
		errno = 0;
		nook_plan_fail(sock, "nsenter: exec plan: a string holds a NUL");
	}
	return s;
}

static uint32_t u32_at(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t u64_at(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Parses the plan (ExecPlan.Encode); any malformed attribute ends the process. */
static void parse_plan(int sock, const char *buf, uint32_t len, struct nook_plan *pl)
{
	uint32_t off = 0;

	memset(pl, 0, sizeof(*pl));
	while (off + 8 <= len) {
		uint32_t attr = u32_at(buf + off), alen = u32_at(buf + off + 4);
		const char *v = buf + off + 8;
		static const uint32_t fixed[] = { [NOOK_PLAN_IDS] = 12, [NOOK_PLAN_GROUP] = 4, [NOOK_PLAN_CAPS] = 40,
						   [NOOK_PLAN_RLIMIT] = 20, [NOOK_PLAN_FLAGS] = 4, [NOOK_PLAN_TIMERSLACK] = 8,
						   [NOOK_PLAN_PRESERVE] = 4 };

		off += 8;
		errno = 0;
		if (alen > len - off)
			nook_plan_fail(sock, "nsenter: exec plan: attribute %u is truncated", attr);
		if (attr < sizeof(fixed) / sizeof(fixed[0]) && fixed[attr] != 0 && alen != fixed[attr])
			nook_plan_fail(sock, "nsenter: exec plan: attribute %u is %u bytes", attr, alen);
		switch (attr) {
		case NOOK_PLAN_PATH:
			pl->path = dup_string(sock, v, alen);
			break;
		case NOOK_PLAN_ARG:
			pl->argv = grow(sock, pl->argv, &pl->nargs, sizeof(char *));
			pl->argv[pl->nargs - 1] = dup_string(sock, v, alen);
			break;
		case NOOK_PLAN_ENV:
			pl->envp = grow(sock, pl->envp, &pl->nenv, sizeof(char *));
			pl->envp[pl->nenv - 1] = dup_string(sock, v, alen);
			break;
		case NOOK_PLAN_CWD:
			pl->cwd = dup_string(sock, v, alen);
			break;
		case NOOK_PLAN_KEYRING:
			pl->keyring = dup_string(sock, v, alen);
			break;
		case NOOK_PLAN_FAILURE:
			if (alen < 4)
				nook_plan_fail(sock, "nsenter: exec plan: attribute %u is %u bytes", attr, alen);
			pl->failures = grow(sock, pl->failures, &pl->nfailures, sizeof(struct plan_failure));
			pl->failures[pl->nfailures - 1].errnum = u32_at(v);
			pl->failures[pl->nfailures - 1].line = dup_string(sock, v + 4, alen - 4);
			break;
		case NOOK_PLAN_IDS:
			pl->uid = u32_at(v);
			pl->gid = u32_at(v + 4);
			pl->umask = u32_at(v + 8);
			break;
		case NOOK_PLAN_GROUP:
			pl->groups = grow(sock, pl->groups, &pl->ngroups, sizeof(gid_t));
			pl->groups[pl->ngroups - 1] = u32_at(v);
			break;
		case NOOK_PLAN_CAPS:
			pl->bounding = u64_at(v);
			pl->effective = u64_at(v + 8);
			pl->permitted = u64_at(v + 16);
			pl->inheritable = u64_at(v + 24);
			pl->ambient = u64_at(v + 32);
			break;
		case NOOK_PLAN_RLIMIT:
			pl->rlimits = grow(sock, pl->rlimits, &pl->nrlimits, sizeof(struct plan_rlimit));
			pl->rlimits[pl->nrlimits - 1].resource = u32_at(v);
			pl->rlimits[pl->nrlimits - 1].soft = u64_at(v + 4);
			pl->rlimits[pl->nrlimits - 1].hard = u64_at(v + 12);
			break;
		case NOOK_PLAN_FLAGS:
			pl->flags = u32_at(v);
			break;
		case NOOK_PLAN_TIMERSLACK:
			pl->timerslack = u64_at(v);
			break;
		case NOOK_PLAN_PRESERVE:
			pl->preserve = u32_at(v);
			break;
		case NOOK_PLAN_FILTER:
			if (alen < 4 || (alen - 4) % sizeof(struct bpf_insn) != 0 ||
			    (alen - 4) / sizeof(struct bpf_insn) > BPF_MAX_INSNS)
				nook_plan_fail(sock, "nsenter: exec plan: the seccomp filter is %u bytes", alen);
			pl->filter_flags = u32_at(v);
			pl->filter.len = (unsigned short)((alen - 4) / sizeof(struct bpf_insn));
			pl->filter.filter = malloc(alen - 4);
			if (pl->filter.filter == NULL)
				nook_plan_fail(sock, "nsenter: exec plan");
			memcpy(pl->filter.filter, v + 4, alen - 4);
			break;
		default:
			nook_plan_fail(sock, "nsenter: exec plan: unknown attribute %u", attr);
		}
		off += alen;
	}
	errno = 0;
	if (off != len || pl->path == NULL || pl->cwd == NULL || pl->nargs == 0)
		nook_plan_fail(sock, "nsenter: exec plan: incomplete");
	pl->argv[pl->nargs] = NULL;
	if (pl->envp == NULL)
		pl->envp = calloc(1, sizeof(char *));
	else
		pl->envp[pl->nenv] = NULL;
}

/* capset(2) of the calling thread: version 3, each set in two 32-bit words. */
static int set_caps(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct cap_header hdr = { .version = CAP_VERSION_3 };
	struct cap_data data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	return (int)syscall(SYS_capset, &hdr, data);
}

static uint64_t current_permitted(void)
{
	struct cap_header hdr = { .version = CAP_VERSION_3 };
	struct cap_data data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
}

/* Step 4: the bounding set, the user, the capabilities kept until the exec. */
static void switch_user(int sock, const struct nook_plan *pl)
{
	uint64_t have, interim_p = pl->permitted, interim_e = pl->effective;
	int c;

	for (c = 0; c < 64; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0) /* past the kernel's last capability */
			break;
		if (in == 0 || (pl->bounding >> c & 1))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			nook_plan_fail(sock, "drop capability %d from the bounding set", c);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		nook_plan_fail(sock, "set keep-caps");
	if (syscall(SYS_setgroups, pl->ngroups, pl->groups) < 0 && !(pl->ngroups == 0 && errno == EPERM))
		nook_plan_fail(sock, "setgroups (process.user.additionalGids)");
	if (syscall(SYS_setresgid, pl->gid, pl->gid, pl->gid) < 0)
		nook_plan_fail(sock, "setgid %u (process.user.gid)", pl->gid);
	if (syscall(SYS_setresuid, pl->uid, pl->uid, pl->uid) < 0)
		nook_plan_fail(sock, "setuid %u (process.user.uid)", pl->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		nook_plan_fail(sock, "clear keep-caps");
	have = current_permitted();
	if (have >> CAP_SYS_RESOURCE_BIT & 1) {
		interim_p |= 1ULL << CAP_SYS_RESOURCE_BIT;
		interim_e |= 1ULL << CAP_SYS_RESOURCE_BIT;
	}
	if ((pl->flags & NOOK_PLAN_KEEP_ADMIN) && (have >> CAP_SYS_ADMIN_BIT & 1)) {
		interim_p |= 1ULL << CAP_SYS_ADMIN_BIT;
		interim_e |= 1ULL << CAP_SYS_ADMIN_BIT;
	}
	if (set_caps(interim_e, interim_p, pl->inheritable) < 0)
		nook_plan_fail(sock, "capset");
}

static void load_seccomp(const struct nook_plan *pl)
{
	if (syscall(SYS_seccomp, SECCOMP_MODE_FILTER_OP, pl->filter_flags, &pl->filter) < 0)
		nook_plan_fail(-1, "linux.seccomp: seccomp: load filter");
}

struct nook_plan *nook_plan_parse(int sock, const char *buf, uint32_t len)
{
	struct nook_plan *pl = malloc(sizeof(*pl));

	if (pl == NULL)
		nook_plan_fail(sock, "nsenter: exec plan");
	parse_plan(sock, buf, len, pl);
	return pl;
}

void nook_run_exec_plan(int sock)
{
	struct nook_plan *pl;
	uint32_t type, len;
	char *buf;
	unsigned long all[1024 / sizeof(unsigned long)];

	errno = 0;
	if (nook_recv_frame(sock, &type, &buf, &len) < 0 || type != NOOK_MSG_EXEC_PLAN)
		nook_plan_fail(sock, "nsenter: expected the exec plan");
	pl = nook_plan_parse(sock, buf, len);
	free(buf);
	if (nook_recv_frame(sock, &type, &buf, &len) < 0 || type != NOOK_MSG_INIT_GO)
		nook_plan_fail(sock, "nsenter: expected init-go");
	free(buf);

	/* Not the affinity of whoever ran nook (resetAffinity); the kernel keeps the cpuset's. */
	memset(all, 0xff, sizeof(all));
	sched_setaffinity(0, sizeof(all), (cpu_set_t *)all);
	if (setsid() < 0)
		nook_plan_fail(sock, "setsid");
	nook_plan_run(sock, pl, -1);
}

/*
 * reopenDevNull's step (containerinit/devnull.go): each of stdin, stdout
 * and stderr that is a null device becomes the container's /dev/null.
 */
static void reopen_dev_null(int sock)
{
	struct stat st;
	int fd, null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (null < 0)
		nook_plan_fail(sock, "reopen /dev/null in the container");
	if (fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		errno = 0;
		nook_plan_fail(sock, "reopen /dev/null in the container: it is not the null device (1:3)");
	}
	for (fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
			continue;
		if (dup3(null, fd, 0) < 0)
			nook_plan_fail(sock, "reopen /dev/null as fd %d", fd);
	}
	close(null);
}

/*
 * The start barrier (waitBarrier in containerinit/init.go): the byte `nook
 * start` writes, then close-on-exec, so that start learns from its closing
 * that the program was executed.
 */
static void wait_barrier(int barrier)
{
	struct pollfd p = { .fd = barrier, .events = POLLIN };
	ssize_t n;
	char b;
	int ready;

	/*
	 * `run`, and engines that start at once, write within the Go init's
	 * settle time (settleAfter); a container left in created waits long,
	 * and gives back its mappings of nook's read-only pages first.
	 */
	do
		ready = poll(&p, 1, NOOK_SETTLE_MS);
	while (ready < 0 && errno == EINTR);
	if (ready == 0)
		nook_advise_program_pages(MADV_DONTNEED); /* a failure only means less is given back */
	do
		n = read(barrier, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		if (n == 0)
			errno = EPIPE;
		nook_plan_fail(-1, "start barrier: read exec.fifo");
	}
	if (fcntl(barrier, F_SETFD, FD_CLOEXEC) < 0)
		nook_plan_fail(-1, "start barrier: close-on-exec");
}

void nook_plan_run(int sock, struct nook_plan *pl, int barrier)
{
	char cwd[4096];
	int cwd_refused = 0, filter_first;
	size_t i;

	if (pl->flags & NOOK_PLAN_REOPEN_NULL)
		reopen_dev_null(sock);
	/* A fresh session keyring keeps the host's keys out of reach (startProcess). */
	if (pl->keyring != NULL && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, pl->keyring) < 0 && errno != ENOSYS)
		nook_plan_fail(sock, "join session keyring");
	if (chdir(pl->cwd) < 0) {
		if (errno != EACCES && errno != EPERM)
			nook_plan_fail(sock, "chdir to process.cwd %s", pl->cwd);
		cwd_refused = 1;
	}
	switch_user(sock, pl);
	umask(pl->umask);
	if (cwd_refused && chdir(pl->cwd) < 0)
		nook_plan_fail(sock, "chdir to process.cwd %s", pl->cwd);
	/* A cwd outside our root has no path from it (CVE-2024-21626). */
	if (getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/')
		nook_plan_fail(sock, "process.cwd %s is outside the container's root", pl->cwd);

	errno = 0;
	if (nook_send_frame(sock, NOOK_MSG_READY, NULL, 0) < 0)
		nook_plan_fail(sock, "nsenter: send ready");
	ready_sent = 1;
	close(sock);
	if (barrier >= 0)
		wait_barrier(barrier);

	if (pl->timerslack != 0 && prctl(PR_SET_TIMERSLACK, pl->timerslack, 0, 0, 0) < 0)
		nook_plan_fail(-1, "give back the caller's timer slack %llu ns", (unsigned long long)pl->timerslack);
	for (i = 0; i < pl->nrlimits; i++) {
		struct rlimit rl = { pl->rlimits[i].soft, pl->rlimits[i].hard };

		if (setrlimit((int)pl->rlimits[i].resource, &rl) < 0)
			nook_plan_fail(-1, "process.rlimits: set resource %u to %llu:%llu", pl->rlimits[i].resource,
				  (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	}
	if (syscall(SYS_close_range, 3 + pl->preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		nook_plan_fail(-1, "close_range");
	if ((pl->flags & NOOK_PLAN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		nook_plan_fail(-1, "set no_new_privs");
	filter_first = pl->filter.len > 0 && !(pl->flags & NOOK_PLAN_NO_NEW_PRIVS) &&
		       !(pl->effective >> CAP_SYS_ADMIN_BIT & 1);
	if (filter_first)
		load_seccomp(pl);
	if (set_caps(pl->effective, pl->permitted, pl->inheritable) < 0)
		nook_plan_fail(-1, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		nook_plan_fail(-1, "clear ambient capabilities");
	for (i = 0; i < 64; i++)
		if ((pl->ambient >> i & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			nook_plan_fail(-1, "raise ambient capability %zu", i);
	if (pl->filter.len > 0 && !filter_first)
		load_seccomp(pl);
	execve(pl->path, pl->argv, pl->envp);
	/* The parent's explanation of this errno, read before the root changed hands. */
	for (i = 0; i < pl->nfailures; i++) {
		if (pl->failures[i].errnum == (uint32_t)errno) {
			dprintf(2, "nook init: %s\n", pl->failures[i].line);
			_exit(1);
		}
	}
	nook_plan_fail(-1, "exec %s", pl->argv[0]);
}
