/*
 * early: `nook create` and `nook run` start nsenter's stage 0 from an ELF
 * constructor, before the Go runtime starts, and send it its Bootstrap.
 *
 * Why: a Go start costs ~5 ms on the development VM (docs/PERFORMANCE.md),
 * and create's critical path used to begin after it: spawn stage 0, read
 * config.json, send Bootstrap, wait while stage 0 makes the namespaces and
 * clones the init. Started here, stage 0 does all that on the other CPU
 * while the runtime starts, and the init is waiting when Go asks for it.
 *
 * The rule that keeps this safe: it is only a head start, like the Go side's
 * early Bootstrap (libcontainer.Stage0). This reads only the fields of
 * config.json that Bootstrap carries and declines (starts nothing, changes
 * nothing) on whatever it does not read exactly: another command, a flag or
 * form it does not know, socket activation or --preserve-fds, an
 * unprivileged nook, a user namespace, time offsets, an exec CPU affinity, a
 * string with an escape, a config that does not parse. Go takes the stage 0
 * (libcontainer's startStage0, through early.go) and compares the Bootstrap
 * sent with the one it computes from the whole config (bootstrappedFor): on
 * any difference it kills the stage 0 and its init and starts over, so a
 * config misread here costs time, never correctness. A command that does not
 * take it (an error before Create) kills and reaps it before it exits.
 *
 * What the child gets is what libcontainer's spawnStage0 gives it: the read-
 * only view of nook's binary as `nook init`, cwd /, stdio, the init socket at
 * fd 3, every other fd closed, the environment of stage0Env, and the signal
 * mask nook was started with (a Go parent's fork restores that one). Its
 * signal dispositions are nook's caller's, where a Go parent's would have
 * an inherited SIG_IGN reset but for SIGHUP and SIGINT: no matter, the init
 * takes its signals itself as a Go program does (the Go init's runtime;
 * the C init, nsenter/gosignals.h), and stage 0 lives for a few system
 * calls (TestEarlyStage0Signals holds the container's to the Go path's).
 *
 * _NOOK_EARLY=off leaves it all to Go (tests, A/B runs); =drop-namespaces
 * sends a Bootstrap without the namespaces to create, as a misreading
 * would, for the test of Go's starting over.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmdline.h"
#include "early.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define OPEN_TREE_CLONE_ 1
#define OPEN_TREE_CLOEXEC_ O_CLOEXEC
#define AT_EMPTY_PATH_ 0x1000
#define MOUNT_ATTR_RDONLY_ 0x1
#define MOUNT_ATTR_NOSUID_ 0x2
#define MOUNT_ATTR_NODEV_ 0x4
#define CLOSE_RANGE_CLOEXEC_ (1U << 2)

#define MAX_CONFIG (1 << 20) /* a bigger config.json is left to Go */
#define MAX_PAYLOAD (64 << 10)
#define MAX_DEPTH 64
#define EARLY_TIMER_SLACK_NS 5000000UL /* startup/timerslack.c's NOOK_TIMER_SLACK_NS */

/* What Go takes (early.go): zero pid when nothing was started. */
int nook_early_pid;
int nook_early_sock = -1;
unsigned char nook_early_payload[MAX_PAYLOAD];
uint32_t nook_early_payload_len;

/* --- the command line ---------------------------------------------------- */

/*
 * early_bundle accepts `nook [global flags] create|run [flags] ID` with the
 * flags cli/ declares, and returns the bundle (NULL: declined).
 */
static const char *early_bundle(char **argv, int argc)
{
	const char *bundle = ".", *unused;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (a[1] == 0 || (a[1] == '-' && a[2] == 0))
			return NULL;
		if (nook_flag_value(argv, argc, &i, "root", &unused) || nook_flag_value(argv, argc, &i, "log", &unused) ||
		    nook_flag_value(argv, argc, &i, "log-format", &unused) ||
		    nook_flag_value(argv, argc, &i, "rootless", &unused) || nook_flag_value(argv, argc, &i, "criu", &unused))
			continue;
		if (nook_bool_flag(a, "debug") || nook_bool_flag(a, "systemd-cgroup"))
			continue;
		return NULL;
	}
	if (i >= argc)
		return NULL;
	int run = !strcmp(argv[i], "run");
	if (!run && strcmp(argv[i], "create"))
		return NULL;
	for (i++; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (nook_flag_value(argv, argc, &i, "bundle", &bundle) || nook_flag_value(argv, argc, &i, "b", &bundle) ||
		    nook_flag_value(argv, argc, &i, "pid-file", &unused) ||
		    nook_flag_value(argv, argc, &i, "console-socket", &unused) ||
		    nook_flag_value(argv, argc, &i, "pidfd-socket", &unused))
			continue;
		if (nook_bool_flag(a, "no-pivot") || nook_bool_flag(a, "no-new-keyring"))
			continue;
		if (run && (nook_bool_flag(a, "detach") || nook_bool_flag(a, "d") || nook_bool_flag(a, "keep") ||
			    nook_bool_flag(a, "no-subreaper")))
			continue;
		return NULL; /* --preserve-fds among them: fds are left to Go */
	}
	if (i != argc - 1 || bundle[0] == 0)
		return NULL; /* exactly one id */
	return bundle;
}

/* --- config.json: the fields Bootstrap carries --------------------------- */

/* The namespace types (initproto's namespaceKinds) and their clone flags. */
static const struct {
	const char *type;
	uint32_t flag;
} kinds[] = {
	{ "mount", 0x00020000 }, { "pid", 0x20000000 },	 { "network", 0x40000000 }, { "ipc", 0x08000000 },
	{ "uts", 0x04000000 },	 { "cgroup", 0x02000000 }, { "time", 0x00000080 },
};
#define CLONE_NEWNS_ 0x00020000

struct scan {
	const char *p, *end;
	int depth;
};

/* What the scan found: the bootstrap's inputs. */
struct found {
	int has_process, terminal, has_oom;
	long long oom;
	int n;
	struct {
		uint32_t flag;
		const char *path; /* not NUL-terminated */
		size_t path_len;
	} ns[32];
	uint32_t cloneflags;
};

static void space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* string reads a string without escapes into (*v, *n); -1 for anything else. */
static int string(struct scan *s, const char **v, size_t *n)
{
	space(s);
	if (s->p >= s->end || *s->p != '"')
		return -1;
	const char *b = ++s->p;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\' || (unsigned char)*s->p < 0x20)
			return -1;
		s->p++;
	}
	if (s->p >= s->end)
		return -1;
	*v = b;
	*n = (size_t)(s->p++ - b);
	return 0;
}

static int literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* is_null consumes a null, if that is what comes. */
static int is_null(struct scan *s)
{
	space(s);
	return literal(s, "null") == 0;
}

static int skip(struct scan *s);

/* A key that may hold escapes, as (*v, *n) between the quotes. */
static int raw_key(struct scan *s, const char **v, size_t *n, int *escaped)
{
	space(s);
	if (s->p >= s->end || *s->p != '"')
		return -1;
	const char *b = ++s->p;
	*escaped = 0;
	for (; s->p < s->end && *s->p != '"'; s->p++) {
		if ((unsigned char)*s->p < 0x20)
			return -1;
		if (*s->p == '\\') {
			*escaped = 1;
			if (++s->p >= s->end)
				return -1;
		}
	}
	if (s->p >= s->end)
		return -1;
	*v = b;
	*n = (size_t)(s->p++ - b);
	return 0;
}

/*
 * known checks a key of an object whose members names (NULL-terminated)
 * this reads: encoding/json matches names case-insensitively, unescapes
 * keys and lets a repeated key add to the first, none of which this
 * follows, so any of them declines. seen collects the names met.
 */
static int known(const char *key, size_t n, int escaped, const char *const *names, unsigned *seen)
{
	if (escaped)
		return -1;
	for (int i = 0; names[i] != NULL; i++) {
		if (strlen(names[i]) != n || strncasecmp(key, names[i], n) != 0)
			continue;
		if (memcmp(key, names[i], n) != 0 || (*seen & (1u << i)))
			return -1;
		*seen |= 1u << i;
	}
	return 0;
}

/*
 * each walks an object, calling member for every key with s at its value,
 * which member must consume. A null object calls nothing. names lists the
 * keys member reads (NULL: it reads none, and skips every value).
 */
static int each(struct scan *s, int (*member)(struct scan *, const char *, size_t, void *), void *arg,
		const char *const *names)
{
	unsigned seen = 0;
	if (is_null(s))
		return 0;
	if (s->p >= s->end || *s->p != '{' || ++s->depth > MAX_DEPTH)
		return -1;
	s->p++;
	space(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;) {
		const char *key;
		size_t n;
		int escaped;
		if (raw_key(s, &key, &n, &escaped) < 0 || (names != NULL && known(key, n, escaped, names, &seen) < 0))
			return -1;
		space(s);
		if (s->p >= s->end || *s->p++ != ':')
			return -1;
		if (member(s, key, n, arg) < 0)
			return -1;
		space(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			s->depth--;
			return 0;
		}
		return -1;
	}
}

static int skip_member(struct scan *s, const char *key, size_t n, void *arg)
{
	(void)key, (void)n, (void)arg;
	return skip(s);
}

/* skip consumes any value; strings may hold escapes here. */
static int skip(struct scan *s)
{
	space(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		return each(s, skip_member, NULL, NULL);
	case '[':
		if (++s->depth > MAX_DEPTH)
			return -1;
		s->p++;
		space(s);
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			s->depth--;
			return 0;
		}
		for (;;) {
			if (skip(s) < 0)
				return -1;
			space(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == ']') {
				s->p++;
				s->depth--;
				return 0;
			}
			return -1;
		}
	case '"':
		for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
			if (*s->p == '\\' && ++s->p >= s->end)
				return -1;
		if (s->p >= s->end)
			return -1;
		s->p++;
		return 0;
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		if (*s->p != '-' && (*s->p < '0' || *s->p > '9'))
			return -1;
		while (s->p < s->end && strchr("+-.eE0123456789", *s->p) != NULL)
			s->p++;
		return 0;
	}
}

static int key_is(const char *key, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(key, want, n) == 0;
}

/* An integer that fits an int, as encoding/json decodes into one. */
static int integer(struct scan *s, long long *v)
{
	space(s);
	const char *b = s->p;
	int neg = s->p < s->end && *s->p == '-';
	if (neg)
		s->p++;
	long long x = 0;
	int digits = 0;
	for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++, digits++) {
		x = x * 10 + (*s->p - '0');
		if (x > 2147483648LL)
			return -1;
	}
	if (digits == 0 || (digits > 1 && b[neg] == '0') || (s->p < s->end && strchr(".eE", *s->p) != NULL))
		return -1;
	*v = neg ? -x : x;
	return (*v > 2147483647LL) ? -1 : 0;
}

/* The keys each level reads. */
static const char *const top_names[] = { "process", "linux", NULL };
static const char *const process_names[] = { "terminal", "oomScoreAdj", "execCPUAffinity", NULL };
static const char *const linux_names[] = { "namespaces", "timeOffsets", NULL };
static const char *const namespace_names[] = { "type", "path", NULL };

static int process_member(struct scan *s, const char *key, size_t n, void *arg)
{
	struct found *f = arg;
	if (key_is(key, n, "terminal")) {
		space(s);
		if (literal(s, "true") == 0)
			f->terminal = 1;
		else if (literal(s, "false") == 0)
			f->terminal = 0;
		else
			return -1;
		return 0;
	}
	if (key_is(key, n, "oomScoreAdj")) {
		if (is_null(s)) {
			f->has_oom = 0;
			return 0;
		}
		f->has_oom = 1;
		return integer(s, &f->oom);
	}
	if (key_is(key, n, "execCPUAffinity"))
		return is_null(s) ? 0 : -1;
	return skip(s);
}

static int namespace_member(struct scan *s, const char *key, size_t n, void *arg)
{
	struct found *f = arg;
	const char *v;
	size_t len;
	if (key_is(key, n, "type")) {
		if (string(s, &v, &len) < 0)
			return -1;
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (key_is(v, len, kinds[k].type)) {
				f->ns[f->n].flag = kinds[k].flag;
				return 0;
			}
		return -1; /* user, or one nook does not know */
	}
	if (key_is(key, n, "path")) {
		if (is_null(s)) {
			f->ns[f->n].path_len = 0;
			return 0;
		}
		if (string(s, &v, &len) < 0)
			return -1;
		f->ns[f->n].path = v;
		f->ns[f->n].path_len = len;
		return 0;
	}
	return skip(s);
}

static int namespaces(struct scan *s, struct found *f)
{
	f->n = 0;
	if (is_null(s))
		return 0;
	if (s->p >= s->end || *s->p++ != '[')
		return -1;
	space(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (f->n == (int)(sizeof(f->ns) / sizeof(f->ns[0])))
			return -1;
		f->ns[f->n].flag = 0;
		f->ns[f->n].path_len = 0;
		space(s);
		if (s->p >= s->end || *s->p != '{' || each(s, namespace_member, f, namespace_names) < 0 ||
		    f->ns[f->n].flag == 0)
			return -1;
		f->n++;
		space(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			return 0;
		}
		return -1;
	}
}

/* An empty (or null) map of time offsets is none; any offset declines. */
static int no_offsets(struct scan *s, const char *key, size_t n, void *arg)
{
	(void)s, (void)key, (void)n, (void)arg;
	return -1;
}

static int linux_member(struct scan *s, const char *key, size_t n, void *arg)
{
	if (key_is(key, n, "namespaces"))
		return namespaces(s, arg);
	if (key_is(key, n, "timeOffsets"))
		return each(s, no_offsets, NULL, NULL);
	return skip(s);
}

static int top_member(struct scan *s, const char *key, size_t n, void *arg)
{
	struct found *f = arg;
	if (key_is(key, n, "process")) {
		space(s);
		if (s->p < s->end && *s->p == '{')
			f->has_process = 1;
		return each(s, process_member, f, process_names);
	}
	if (key_is(key, n, "linux")) {
		f->n = 0;
		return each(s, linux_member, f, linux_names);
	}
	return skip(s);
}

static void put32(unsigned char *b, size_t *at, uint32_t v)
{
	memcpy(b + *at, &v, 4);
	*at += 4;
}

/*
 * bootstrap_payload encodes what libcontainer's bootstrapOf would from the
 * same fields (initproto.BootstrapPayload, then the C init's flag when
 * cInitMaybe holds); 0 when it does not fit.
 */
static size_t bootstrap_payload(const struct found *f, unsigned char *b, size_t max)
{
	size_t at = 0;
	uint32_t flags = 0;
	for (int i = 0; i < f->n; i++)
		if (f->ns[i].path_len == 0)
			flags |= f->ns[i].flag;
	put32(b, &at, EARLY_ATTR_CLONE_FLAGS);
	put32(b, &at, 4);
	put32(b, &at, flags);
	for (int i = 0; i < f->n; i++) {
		if (f->ns[i].path_len == 0)
			continue;
		if (at + 12 + f->ns[i].path_len > max)
			return 0;
		put32(b, &at, EARLY_ATTR_NS_PATH);
		put32(b, &at, 4 + (uint32_t)f->ns[i].path_len);
		put32(b, &at, f->ns[i].flag);
		memcpy(b + at, f->ns[i].path, f->ns[i].path_len);
		at += f->ns[i].path_len;
	}
	if (f->has_oom) {
		char num[24];
		int n = snprintf(num, sizeof(num), "%lld", f->oom);
		if (at + 8 + (size_t)n > max)
			return 0;
		put32(b, &at, EARLY_ATTR_OOM_SCORE_ADJ);
		put32(b, &at, (uint32_t)n);
		memcpy(b + at, num, (size_t)n);
		at += (size_t)n;
	}
	/* cInitMaybe: a process without a terminal, a new mount namespace (no user namespace: declined above). */
	if (f->has_process && !f->terminal && (flags & CLONE_NEWNS_)) {
		if (at + 8 > max)
			return 0;
		put32(b, &at, EARLY_ATTR_INIT_MODE);
		put32(b, &at, 0);
	}
	return at;
}

/*
 * nook_early_bootstrap is the Bootstrap payload for config.json's text, as
 * libcontainer's bootstrapOf would make it, in out; 0 when this declines
 * (early.go exports it to the test that holds it to bootstrapOf).
 */
size_t nook_early_bootstrap(const char *config, size_t len, unsigned char *out, size_t max)
{
	struct found f;
	memset(&f, 0, sizeof(f));
	struct scan s = { config, config + len, 0 };
	if (each(&s, top_member, &f, top_names) != 0)
		return 0;
	space(&s);
	if (s.p != s.end)
		return 0;
	return bootstrap_payload(&f, out, max);
}

/* read_config reads bundle/config.json into a malloc'd buffer. */
static char *read_config(const char *bundle, size_t *len)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path))
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= MAX_CONFIG &&
	    (buf = malloc((size_t)st.st_size)) != NULL) {
		size_t n = 0;
		while (n < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		*len = n;
	}
	close(fd);
	return buf;
}

/* --- stage 0 ------------------------------------------------------------- */

struct mount_attr_ {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* The caller's timer slack, as startup.CallerTimerSlack gives it to Go (timerslack.c). */
static unsigned long caller_timerslack(void)
{
	const char *passed = getenv("_NOOK_CALLER_TIMERSLACK");
	if (passed != NULL && *passed != 0) {
		char *end;
		unsigned long v = strtoul(passed, &end, 10);
		if (*end == 0 && v > 0)
			return v;
	}
	int current = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	return current > 0 ? (unsigned long)current : 0;
}

/* The child of the vfork: only system calls on its own stack until the exec. */
static __attribute__((noreturn)) void exec_stage0(int sock, const char *path, char *const env[])
{
	char *const argv[] = { "nook", "init", NULL };
	/*
	 * A Go parent forks from a thread whose slack timerslack.c has raised
	 * (it runs after this constructor), and stage 0 and the init inherit
	 * it; the init gives the caller's back (_NOOK_CALLER_TIMERSLACK).
	 */
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack >= 0 && (unsigned long)slack < EARLY_TIMER_SLACK_NS)
		prctl(PR_SET_TIMERSLACK, EARLY_TIMER_SLACK_NS, 0, 0, 0);
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC_) != 0)
		_exit(127);
	/* dup2 leaves the new fd without close-on-exec; the same fd needs it cleared. */
	if (sock == EARLY_SOCK_FD ? fcntl(sock, F_SETFD, 0) != 0 : dup2(sock, EARLY_SOCK_FD) < 0)
		_exit(127);
	if (chdir("/") != 0)
		_exit(127);
	execve(path, argv, env);
	_exit(127);
}

/*
 * start_child vforks: the parent waits only for the exec. Nothing of this
 * frame changes after the vfork, so the child cannot clobber it.
 */
static int start_child(int sock, const char *path, char *const env[])
{
	int pid = vfork();
	if (pid == 0)
		exec_stage0(sock, path, env);
	return pid;
}

/* spawn starts stage 0 and sends it the Bootstrap; 0 when it did. */
static int spawn(const unsigned char *payload, size_t len)
{
	int self = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_);
	if (self < 0)
		return -1; /* Go makes a sealed copy instead */
	struct mount_attr_ attr = { MOUNT_ATTR_RDONLY_ | MOUNT_ATTR_NOSUID_ | MOUNT_ATTR_NODEV_, 0, 0, 0 };
	int sv[2] = { -1, -1 };
	if (syscall(SYS_mount_setattr, self, "", AT_EMPTY_PATH_, &attr, sizeof(attr)) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		close(self);
		return -1;
	}
	/* The exec goes through /proc/self/fd/N: N must survive the child's dup2. */
	if (self <= EARLY_SOCK_FD) {
		int high = fcntl(self, F_DUPFD_CLOEXEC, EARLY_SOCK_FD + 1);
		close(self);
		self = high;
	}
	char path[64], pipe_env[32], slack_env[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self);
	snprintf(pipe_env, sizeof(pipe_env), "_NOOK_INITPIPE=%d", EARLY_SOCK_FD);
	char *env[] = { pipe_env, "GOMAXPROCS=1", NULL, NULL };
	unsigned long slack = caller_timerslack();
	if (slack > 0) {
		snprintf(slack_env, sizeof(slack_env), "_NOOK_CALLER_TIMERSLACK=%lu", slack);
		env[2] = slack_env;
	}
	/*
	 * As spawnStage0: nothing nook inherited without close-on-exec reaches
	 * the init (CVE-2024-21626), nor later a hook; nook's own fds are all
	 * close-on-exec already.
	 */
	int pid = -1;
	if (self >= 0 && syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC_) == 0)
		pid = start_child(sv[1], path, env);
	if (self >= 0)
		close(self);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	unsigned char head[8];
	uint32_t type = EARLY_MSG_BOOTSTRAP, n = (uint32_t)len;
	memcpy(head, &type, 4);
	memcpy(head + 4, &n, 4);
	struct iovec iov[2] = { { head, 8 }, { (void *)payload, len } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t sent = sendmsg(sv[0], &msg, MSG_NOSIGNAL);
	nook_early_pid = pid;
	nook_early_sock = sv[0];
	/* A short write leaves stage 0 waiting for the rest: Go sees the payload mismatch. */
	nook_early_payload_len = sent == (ssize_t)(8 + len) ? (uint32_t)len : 0;
	return 0;
}

/*
 * Priority 102: after fastcmd.c's (which never serves create or run) and
 * before startup.c lends the Go runtime a slot of the environment block.
 */
__attribute__((constructor(102))) static void nook_early_stage0(void)
{
	const char *mode = getenv("_NOOK_EARLY");
	if ((mode != NULL && !strcmp(mode, "off")) || getenv("_NOOK_INITPIPE") != NULL ||
	    getenv("_NOOK_USERNS_HOLDER") != NULL || getenv("LISTEN_FDS") != NULL || geteuid() != 0)
		return;
	int argc;
	char **argv = nook_initial_argv(&argc);
	const char *bundle = argv != NULL ? early_bundle(argv, argc) : NULL;
	if (bundle == NULL)
		return;
	size_t len = 0;
	char *config = read_config(bundle, &len);
	if (config == NULL)
		return;
	size_t plen = nook_early_bootstrap(config, len, nook_early_payload, sizeof(nook_early_payload));
	free(config);
	if (plen > 0 && mode != NULL && !strcmp(mode, "drop-namespaces"))
		memset(nook_early_payload + 8, 0, 4); /* the clone flags, the first attribute's value */
	if (plen > 0)
		spawn(nook_early_payload, plen);
}
