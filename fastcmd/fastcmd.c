/*
 * fastcmd: `nook state ID`, `nook start ID`, `nook kill ID 0|KILL`,
 * `nook delete ID` and `nook list` of containers that have a summary, done
 * in an ELF constructor before the Go runtime starts.
 *
 * Why: every nook command is a fresh process, and a Go start costs ~8 ms on
 * the development VM (page faults, the runtime, package initialisers), most
 * of what these commands cost. They are what an engine polls and what a
 * lifecycle is made of (docs/PERFORMANCE.md). Done here they cost about
 * what exec'ing a static C program costs.
 *
 * The rule that keeps this safe: this code only ever *declines*. Whatever it
 * does not understand exactly (another command, a flag it does not know, a
 * missing or unexpected summary, a lock held by someone else, a container
 * that is not in the state the fast path serves, any error before the
 * command has had its effect) makes it return from the constructor having
 * changed nothing, and the Go command runs as always: the errors, the
 * waiting and every unusual case stay in one place (cli/, libcontainer/).
 * What it does serve it does exactly as the Go side would, and prints the
 * same bytes (tests/integration/fastcmd_test.go runs both and compares).
 *
 * What the Go side's State, Start and Kill do, and what is done here:
 *  - the lock: flock on the container's state directory, shared for state,
 *    exclusive for start and kill, never waited for (busy: decline), then the
 *    directory at the path must still be the one locked;
 *  - the status (libcontainer.Status): the init alive with the recorded
 *    start time (/proc/<pid>/stat), the start barrier (exec.fifo) present:
 *    created, absent: paused if the cgroup's freezer says frozen, else
 *    running; a dead init: stopped, with pid 0 and how it ended (exit.json,
 *    written by the exit keeper);
 *  - what stays fixed for the container's life comes from the summary
 *    create writes once (libcontainer/summary.go documents the format): the
 *    pid and its start time, the freezer directory, whether start need only
 *    open the barrier, where SIGKILL goes, whether delete need only remove
 *    directories (and which cgroup ones), and `state`'s output around
 *    the pid and status, rendered by Go.
 *
 * _NOOK_FASTCMD=off leaves every command to Go; _NOOK_FASTCMD=must makes a
 * decline exit 125 with its reason (the tests use both).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

extern char **environ;

#define DEFAULT_ROOT "/run/nook" /* cli.DefaultRoot */
#define MAX_ID 200               /* state.MaxDirName: longer ids live under a digest */
#define MAX_SUMMARY (256 << 10) /* a larger one (huge annotations) is left to Go */
#define DECLINE (-1)
#define MAX_CGROUP_DIRS 32 /* a v1 host has about a dozen hierarchies */

/* Why a command was declined, for _NOOK_FASTCMD=must. */
static const char *declined;

static int decline(const char *why)
{
	declined = why;
	return DECLINE;
}

/*
 * The command line. musl calls constructors without arguments, so argv is
 * found where the ELF ABI puts it: the initial stack holds argc, argv[0..argc-1],
 * NULL, then the environment, which environ points at before anything can
 * change it. Walking back from environ, the first word equal to the number
 * of pointers passed is argc (a pointer is never a small number).
 */
static char **initial_argv(int *argc)
{
	char **env = environ;
	if (env == NULL || env[-1] != NULL)
		return NULL;
	for (long n = 1; n < 64; n++) {
		if ((long)env[-2 - n] == n) {
			*argc = (int)n;
			return env - 1 - n;
		}
	}
	return NULL;
}

struct command {
	const char *root;
	const char *log;
	const char *name; /* state, start, kill or delete */
	const char *id;
	const char *signal; /* kill's, NULL: SIGTERM */
	int quiet;          /* list -q */
};

/* A clean absolute path, as filepath.Abs would leave it. */
static int clean_absolute(const char *p)
{
	if (p[0] != '/')
		return 0;
	for (const char *c = p; *c; c++) {
		if (c[0] == '/' && (c[1] == '/' || (c[1] == '.' && (c[2] == '/' || c[2] == 0)) ||
				    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == 0))))
			return 0;
	}
	return strlen(p) == 1 || p[strlen(p) - 1] != '/';
}

/* state.ValidateID, for the ids whose directory is named after them. */
static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '+' && c != '-')))
			return 0;
	}
	return 1;
}

/*
 * flag_value matches a global flag taking a value, in the forms urfave/cli
 * accepts (-name V, --name V, -name=V, --name=V); it returns 1 and sets
 * *value (advancing *i past a separate value), 0 for another argument.
 */
static int flag_value(char **argv, int argc, int *i, const char *name, const char **value)
{
	const char *a = argv[*i];
	a += (a[1] == '-') ? 2 : 1;
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != 0)
		return 0;
	if (*i + 1 >= argc)
		return 0;
	*value = argv[++*i];
	return 1;
}

/* parse accepts `nook [global flags] state|start|delete ID`, `delete --force ID` and `kill ID [SIG]`. */
static int parse(char **argv, int argc, struct command *c)
{
	const char *format = "text", *unused;
	int i = 1;
	memset(c, 0, sizeof(*c));
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (a[1] == 0 || (a[1] == '-' && a[2] == 0))
			return decline("a bare - or --");
		if (flag_value(argv, argc, &i, "root", &c->root) || flag_value(argv, argc, &i, "log", &c->log) ||
		    flag_value(argv, argc, &i, "log-format", &format) || flag_value(argv, argc, &i, "rootless", &unused) ||
		    flag_value(argv, argc, &i, "criu", &unused))
			continue;
		if (!strcmp(a, "--systemd-cgroup") || !strcmp(a, "-systemd-cgroup"))
			continue; /* no effect on what is served here */
		return decline("a global flag the fast path does not take");
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return decline("--log-format");
	if (i >= argc)
		return decline("no command");
	c->name = argv[i++];
	if (!strcmp(c->name, "list")) {
		/* list [-q|--quiet] [--format table]: the table or the ids. */
		for (; i < argc; i++) {
			const char *a = argv[i];
			if (!strcmp(a, "-q") || !strcmp(a, "--q") || !strcmp(a, "-quiet") || !strcmp(a, "--quiet"))
				c->quiet = 1;
			else if ((!strcmp(a, "-f") || !strcmp(a, "--f") || !strcmp(a, "-format") || !strcmp(a, "--format")) &&
				 i + 1 < argc && !strcmp(argv[i + 1], "table"))
				i++;
			else if (strcmp(a, "--format=table") && strcmp(a, "-format=table") && strcmp(a, "-f=table") &&
				 strcmp(a, "--f=table"))
				return decline("a list flag or argument the fast path does not take");
		}
		goto root;
	}
	if (strcmp(c->name, "state") && strcmp(c->name, "start") && strcmp(c->name, "kill") && strcmp(c->name, "delete"))
		return decline("another command");
	/* delete's --force changes nothing for the stopped containers served here. */
	if (!strcmp(c->name, "delete") && i < argc &&
	    (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-force") || !strcmp(argv[i], "-f") || !strcmp(argv[i], "--f")))
		i++;
	int args = argc - i, max = !strcmp(c->name, "kill") ? 2 : 1;
	if (args < 1 || args > max)
		return decline("the number of arguments");
	for (int j = i; j < argc; j++)
		if (argv[j][0] == '-')
			return decline("a command flag");
	c->id = argv[i];
	c->signal = args == 2 ? argv[i + 1] : NULL;
	if (!valid_id(c->id))
		return decline("an id the fast path does not serve");
root:
	if (c->root == NULL) {
		/* The Go side looks in $XDG_RUNTIME_DIR when it is set (cli.xdgRoot). */
		if (getenv("XDG_RUNTIME_DIR") != NULL)
			return decline("no --root, and XDG_RUNTIME_DIR set");
		c->root = DEFAULT_ROOT;
	}
	if (!clean_absolute(c->root))
		return decline("a --root that is not a clean absolute path");
	if (c->log != NULL) {
		if (c->log[0] == 0)
			return decline("an empty --log");
		/* As setupLogging: the log file is made even when nothing is logged. */
		int fd = open(c->log, O_CREAT | O_WRONLY | O_APPEND | O_SYNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return decline("--log cannot be opened");
		close(fd);
	}
	return 0;
}

/* read_all reads the whole of file (at most max - 1 bytes, NUL-terminated) into buf. */
static ssize_t read_all(int dirfd, const char *file, char *buf, size_t max)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		if (n == max - 1) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		ssize_t r = read(fd, buf + n, max - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		n += r;
		/*
		 * A short read is the end: of a regular file (nook's files),
		 * and of a /proc or cgroup file, which is generated whole for
		 * a buffer this large. One read call instead of two.
		 */
		if (r == 0 || n < max - 1)
			break;
	}
	close(fd);
	buf[n] = 0;
	return n;
}

struct summary {
	long long pid;
	unsigned long long start;
	int plain_start, kill_init, plain_delete;
	int freezer; /* 0 none, 1 v1, 2 v2 */
	int ncgroup_dirs;
	const char *cgroup_dirs[MAX_CGROUP_DIRS];
	const char *freezer_dir;
	const char *head, *tail, *row;
	size_t head_len, tail_len, row_len;
};

/* expect consumes "<word> <decimal>\n" from *p. */
static int expect_number(char **p, const char *word, unsigned long long *v)
{
	size_t n = strlen(word);
	if (strncmp(*p, word, n) != 0 || (*p)[n] != ' ')
		return 0;
	char *s = *p + n + 1, *end;
	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\n')
		return 0;
	*p = end + 1;
	return 1;
}

/* expect_blob consumes "<word> <n>\n<n bytes>\n" from *p (end is the buffer's end). */
static int expect_blob(char **p, char *end, const char *word, const char **blob, size_t *len)
{
	unsigned long long n;
	if (!expect_number(p, word, &n) || n >= (unsigned long long)(end - *p) || (*p)[n] != '\n')
		return 0;
	*blob = *p;
	*len = n;
	*p += n + 1;
	return 1;
}

/* parse_summary parses the summary in buf (len bytes) into s; libcontainer/summary.go writes it. */
static int parse_summary(char *buf, size_t len, struct summary *s)
{
	char *p = buf, *end = buf + len;
	unsigned long long pid, plain, kill_init;
	const char *line = "nook-summary 1\n";
	if (strncmp(p, line, strlen(line)) != 0)
		return 0;
	p += strlen(line);
	if (!expect_number(&p, "pid", &pid) || pid == 0 || pid > INT_MAX || !expect_number(&p, "start", &s->start) ||
	    s->start == 0 || !expect_number(&p, "start-plain", &plain) || plain > 1 ||
	    !expect_number(&p, "kill-init", &kill_init) || kill_init > 1)
		return 0;
	s->pid = (long long)pid;
	s->plain_start = (int)plain;
	s->kill_init = (int)kill_init;
	if (!strncmp(p, "freezer none\n", 13)) {
		s->freezer = 0;
		p += 13;
	} else if (!strncmp(p, "freezer v1 /", 12) || !strncmp(p, "freezer v2 /", 12)) {
		s->freezer = p[9] == '1' ? 1 : 2;
		char *nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			return 0;
		*nl = 0; /* the rest of the line is its path */
		s->freezer_dir = p + 11;
		p = nl + 1;
	} else {
		return 0;
	}
	unsigned long long plain_delete, ndirs;
	if (!expect_number(&p, "delete-plain", &plain_delete) || plain_delete > 1 ||
	    !expect_number(&p, "cgroup-dirs", &ndirs) || ndirs > MAX_CGROUP_DIRS)
		return 0;
	s->plain_delete = (int)plain_delete;
	s->ncgroup_dirs = (int)ndirs;
	for (int i = 0; i < s->ncgroup_dirs; i++) {
		char *nl = memchr(p, '\n', end - p);
		if (nl == NULL || *p != '/')
			return 0;
		*nl = 0; /* the line is its path */
		s->cgroup_dirs[i] = p;
		p = nl + 1;
	}
	return expect_blob(&p, end, "head", &s->head, &s->head_len) &&
	       expect_blob(&p, end, "tail", &s->tail, &s->tail_len) &&
	       expect_blob(&p, end, "row", &s->row, &s->row_len) && p == end;
}

/* libcontainer.processAlive: the pid runs (not a zombie) with the recorded start time. */
static int process_alive(long long pid, unsigned long long start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	ssize_t n = read_all(AT_FDCWD, path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return 0;
	p += 2; /* field 3, the state */
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10) == start;
}

/* cgroups' Frozen: freezer.state reads FROZEN (v1), cgroup.events has "frozen 1" (v2). */
static int frozen(const struct summary *s)
{
	char path[PATH_MAX + 32], buf[4096];
	if (s->freezer == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", s->freezer_dir, s->freezer == 1 ? "freezer.state" : "cgroup.events");
	ssize_t n = read_all(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return 0;
	if (s->freezer == 1) {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
			buf[--n] = 0;
		return !strcmp(buf, "FROZEN");
	}
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, "frozen ", 7))
			return strtoul(line + 7, NULL, 10) == 1;
	}
	return 0;
}

enum status { CREATED, RUNNING, PAUSED, STOPPED };
static const char *status_names[] = { "created", "running", "paused", "stopped" };

/* libcontainer.liveStatus; fifo is the start barrier's path from dirfd. */
static enum status status_at(int dirfd, const char *fifo, const struct summary *s)
{
	struct stat st;
	if (!process_alive(s->pid, s->start))
		return STOPPED;
	if (fstatat(dirfd, fifo, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return CREATED;
	return frozen(s) ? PAUSED : RUNNING;
}

/* status_of is the status of the container whose state directory is dirfd. */
static enum status status_of(int dirfd, const struct summary *s)
{
	return status_at(dirfd, "exec.fifo", s);
}

/* unix.SignalName's names (linux, amd64 and arm64 alike); 0 and the rest have none. */
static const char *signal_names[] = {
	NULL,	    "SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",	  "SIGTRAP",   "SIGABRT", "SIGBUS",
	"SIGFPE",   "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2",	  "SIGPIPE",   "SIGALRM", "SIGTERM",
	"SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",	  "SIGTTIN",   "SIGTTOU", "SIGURG",
	"SIGXCPU",  "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",     "SIGPWR",  "SIGSYS",
};
#define NSIGNAMES ((int)(sizeof(signal_names) / sizeof(signal_names[0])))

/* nook_fast_signal_name is signal_names for the Go test that checks them against unix.SignalName. */
const char *nook_fast_signal_name(int sig)
{
	return sig > 0 && sig < NSIGNAMES ? signal_names[sig] : NULL;
}

/* A growing output buffer; a failed allocation makes the command decline. */
struct out {
	char *b;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n > o->cap) {
		size_t cap = (o->len + n) * 2;
		char *b = realloc(o->b, cap);
		if (b == NULL) {
			o->failed = 1;
			return;
		}
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
}

/* PUTS puts a string literal. */
#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static void putf(struct out *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf))
		o->failed = 1;
	else
		put(o, buf, n);
}

/* put_time writes ns since the epoch as encoding/json writes a UTC time.Time (RFC 3339, trailing zeros of the fraction dropped). */
static int put_time(struct out *o, long long ns)
{
	if (ns < 0)
		return 0;
	time_t sec = ns / 1000000000LL;
	long frac = ns % 1000000000LL;
	struct tm tm;
	if (gmtime_r(&sec, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return 0;
	putf(o, "\"%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	     tm.tm_sec);
	if (frac != 0) {
		char digits[16];
		int n = snprintf(digits, sizeof(digits), "%09ld", frac);
		while (n > 0 && digits[n - 1] == '0')
			n--;
		PUTS(o, ".");
		put(o, digits, n);
	}
	PUTS(o, "Z\"");
	return 1;
}

/*
 * put_exit renders exit.json (as the exit keeper, nsenter/keeper.c, and
 * `nook run` write it: {"exitedAt":N[,"waitStatus":N][,"oomKills":N]}) the
 * way `state` prints a stopped container's exit fields (stateout.Exit).
 * 0: anything else is in it, and Go's reading of it decides.
 */
static int put_exit(struct out *o, const char *json)
{
	long long at, ws = 0;
	unsigned long long oom = 0;
	int has_ws = 0, has_oom = 0, n = 0;
	if (sscanf(json, "{\"exitedAt\":%lld%n", &at, &n) != 1 || n == 0)
		return 0;
	json += n;
	if (!strncmp(json, ",\"waitStatus\":", 14)) {
		char *end;
		errno = 0;
		ws = strtoll(json + 14, &end, 10);
		if (errno || end == json + 14 || ws < INT32_MIN || ws > INT32_MAX)
			return 0;
		has_ws = 1;
		json = end;
	}
	if (!strncmp(json, ",\"oomKills\":", 12)) {
		char *end;
		errno = 0;
		if (json[12] < '0' || json[12] > '9')
			return 0;
		oom = strtoull(json + 12, &end, 10);
		if (errno)
			return 0;
		has_oom = 1;
		json = end;
	}
	if (strcmp(json, "}") && strcmp(json, "}\n"))
		return 0;
	if (has_ws) {
		int status = (int)ws, sig = status & 0x7f;
		if (sig != 0 && sig != 0x7f) { /* WaitStatus.Signaled */
			PUTS(o, ",\n  \"exit\": {\n    \"signal\": ");
			if (nook_fast_signal_name(sig))
				putf(o, "\"%s\"", nook_fast_signal_name(sig));
			else
				putf(o, "\"%d\"", sig);
			if (status & 0x80)
				PUTS(o, ",\n    \"coreDumped\": true");
			PUTS(o, "\n  }");
		} else if (sig == 0) { /* WaitStatus.Exited */
			putf(o, ",\n  \"exit\": {\n    \"code\": %d\n  }", (status >> 8) & 0xff);
		}
	}
	if (has_oom)
		putf(o, ",\n  \"oomKilled\": %s", oom > 0 ? "true" : "false");
	PUTS(o, ",\n  \"exitedAt\": ");
	return put_time(o, at);
}

static void write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* as the Go side, which does not check the write of its output */
		b += w;
		n -= w;
	}
}

/* `state`: prints what cli's state command prints. */
static int state(int dirfd, const struct summary *s)
{
	struct out o = { 0 };
	enum status st = status_of(dirfd, s);
	put(&o, s->head, s->head_len);
	putf(&o, "%lld,\n  \"status\": \"%s\",\n  ", st == STOPPED ? 0 : s->pid, status_names[st]);
	put(&o, s->tail, s->tail_len);
	if (st == STOPPED) {
		char buf[512];
		ssize_t n = read_all(dirfd, "exit.json", buf, sizeof(buf));
		if (n < 0 && errno != ENOENT)
			return decline("exit.json cannot be read");
		if (n >= 0 && !put_exit(&o, buf))
			return decline("exit.json is not as the keeper writes it");
	}
	PUTS(&o, "\n}\n");
	if (o.failed)
		return decline("out of memory");
	write_all(1, o.b, o.len);
	return 0;
}

/* libcontainer.signalProcess: a pidfd, then the start time, so the signal cannot reach a reused pid. */
static int signal_init(const struct summary *s, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)s->pid, 0);
	if (fd < 0)
		return -1;
	int ok = process_alive(s->pid, s->start) && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0;
	close(fd);
	return ok ? 0 : -1;
}

/* cli.ParseSignal: a number 0-64, or a name with or without SIG in any case. */
static int parse_signal(const char *s)
{
	if (s == NULL)
		return SIGTERM;
	if (*s >= '0' && *s <= '9') {
		char *end;
		long n = strtol(s, &end, 10);
		return (*end == 0 && n <= 64) ? (int)n : -1;
	}
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	for (int i = 1; i < NSIGNAMES; i++)
		if (!strcasecmp(name, signal_names[i] + 3))
			return i;
	return -1;
}

/* `kill ID 0|KILL` of a created or running container (libcontainer's killLocked without --all). */
static int kill_container(int dirfd, const struct summary *s, const char *signame)
{
	int sig = parse_signal(signame);
	if (sig < 0)
		return decline("a signal the fast path does not parse");
	/*
	 * Only signals whose effect does not depend on the program: 0 (is it
	 * running?) and SIGKILL. Any other a program may be about to catch,
	 * and a shell run as PID 1 that traps it drops it until the trap is
	 * set: sent from here it arrived ~5 ms after `start` returned, before
	 * busybox's shell had set its trap on the development VM (runtime-tools'
	 * killsig lost 2 signals in 18); the Go kill lands ~10 ms later.
	 */
	if (sig != 0 && sig != SIGKILL)
		return decline("a signal the program may be about to catch");
	if (sig == SIGKILL && !s->kill_init)
		return decline("SIGKILL goes to the whole cgroup");
	enum status st = status_of(dirfd, s);
	if (st != CREATED && st != RUNNING)
		return decline("a container that is neither created nor running");
	if (signal_init(s, sig) != 0)
		return decline("the signal could not be sent");
	return 0;
}

/* `start ID` of a created container whose start only opens the barrier (libcontainer's startLocked). */
static int start_container(int dirfd, const struct summary *s)
{
	if (!s->plain_start)
		return decline("start has more to do (poststart hooks, or no process)");
	if (getenv("NOTIFY_SOCKET") != NULL)
		return decline("NOTIFY_SOCKET is set");
	if (status_of(dirfd, s) != CREATED)
		return decline("a container that is not created");
	/* The init holds the fifo open for reading; with no reader left a non-blocking open fails (ENXIO). */
	int fd = openat(dirfd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return decline("the start barrier cannot be opened");
	if (write(fd, "0", 1) != 1) {
		close(fd);
		return decline("the start barrier cannot be written");
	}
	/*
	 * Started: from here nothing can be handed back. Removing the barrier
	 * (the live status's "running") fails only if the state directory does.
	 */
	if (unlinkat(dirfd, "exec.fifo", 0) != 0) {
		char msg[256];
		int n = snprintf(msg, sizeof(msg), "nook: remove start barrier: %s\n", strerror(errno));
		write_all(2, msg, n);
		return 1;
	}
	/*
	 * Return once the program runs: the init holds its end of the fifo
	 * until its execve (close-on-exec), which the write end sees as POLLERR
	 * (so does an init that died). A command started right after `start`
	 * (a signal: runtime-tools' killsig traps one in the shell it starts)
	 * then finds the user's program, not the init's last steps; the Go
	 * start, ~10 ms slower to return, had that margin. Not under the lock,
	 * and never longer than the Go start waits before poststart hooks.
	 */
	close(dirfd);
	struct pollfd pfd = { .fd = fd, .events = 0 };
	while (poll(&pfd, 1, 5000) < 0 && errno == EINTR)
		;
	close(fd);
	return 0;
}

/*
 * `delete [--force] ID` of a stopped container whose delete is only
 * directories to remove (libcontainer's Delete: destroyCgroup, then
 * h.Destroy). Nothing is removed before everything is known to be
 * removable by this; a cgroup that is busy (a process left in it) or a
 * file that cannot go declines, and the Go delete, which kills what is left
 * and tolerates what is already gone, finishes the job.
 */
static int delete_container(int dirfd, const char *dir, const struct summary *s)
{
	if (!s->plain_delete)
		return decline("delete has more to do (poststop hooks, no mount namespace, or systemd)");
	if (status_of(dirfd, s) != STOPPED)
		return decline("a container that is not stopped");
	int listfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = listfd < 0 ? NULL : fdopendir(listfd);
	if (d == NULL)
		return decline("the state directory cannot be read");
	char names[64][NAME_MAX + 1];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN || n == 64) {
			closedir(d);
			return decline("the state directory holds more than files");
		}
		strcpy(names[n++], e->d_name);
	}
	closedir(d);
	for (int i = 0; i < s->ncgroup_dirs; i++)
		if (rmdir(s->cgroup_dirs[i]) != 0 && errno != ENOENT)
			return decline("a cgroup directory cannot be removed");
	for (int i = 0; i < n; i++)
		if (unlinkat(dirfd, names[i], 0) != 0 && errno != ENOENT)
			return decline("a file of the state directory cannot be removed");
	if (rmdir(dir) != 0)
		return decline("the state directory cannot be removed");
	return 0;
}

/* A container as `list` shows it: its six cells (ID PID STATUS BUNDLE CREATED OWNER). */
#define LIST_CELLS 6
struct listed {
	char id[MAX_ID + 1];
	char pid[24];
	const char *cell[LIST_CELLS];
	size_t len[LIST_CELLS];
};

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->id, ((const struct listed *)b)->id);
}

/* list_one reads container id under rootfd into l (no lock: as Root.List, for a record past creating). */
static int list_one(int rootfd, const char *id, struct listed *l)
{
	char buf[MAX_SUMMARY], path[MAX_ID + 16];
	struct summary s;
	snprintf(path, sizeof(path), "%s/summary", id);
	ssize_t n = read_all(rootfd, path, buf, sizeof(buf));
	if (n < 0 || !parse_summary(buf, n, &s) || s.row_len == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/exec.fifo", id);
	enum status st = status_at(rootfd, path, &s);
	strcpy(l->id, id);
	snprintf(l->pid, sizeof(l->pid), "%lld", st == STOPPED ? 0 : s.pid);
	/* The row is bundle, created and owner, tab-separated (libcontainer's listRow). */
	char *row = strndup(s.row, s.row_len), *bundle_end, *created_end;
	if (row == NULL || (bundle_end = strchr(row, '\t')) == NULL || (created_end = strchr(bundle_end + 1, '\t')) == NULL)
		return 0;
	*bundle_end = *created_end = 0;
	/* Cells 0 and 1 are l's own id and pid, pointed at once l has stopped moving (list). */
	const char *cells[LIST_CELLS] = { l->id, l->pid, status_names[st], row, bundle_end + 1, created_end + 1 };
	for (int k = 0; k < LIST_CELLS; k++) {
		l->cell[k] = cells[k];
		l->len[k] = strlen(cells[k]);
	}
	return 1;
}

/*
 * `list` and `list -q` (cli's list command: Root.List in the order of the
 * directory names, then a tabwriter with minwidth 12, padding 3, spaces).
 * Every container must have a summary: one being created (or removed)
 * meanwhile, a long id, a cell that is not printable ASCII, and the list is
 * the Go side's.
 */
static int list(const struct command *c)
{
	int rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return decline("no state root");
	int dupfd = dup(rootfd);
	DIR *d = dupfd < 0 ? NULL : fdopendir(dupfd);
	if (d == NULL)
		return decline("the state root cannot be read");
	size_t n = 0, cap = 64;
	struct listed *all = malloc(cap * sizeof(*all));
	struct dirent *e;
	const char *why = NULL;
	while (all != NULL && why == NULL && (e = readdir(d)) != NULL) {
		if (e->d_type == DT_UNKNOWN || e->d_name[0] == '~')
			why = "a directory the fast path cannot tell or a long id";
		else if (e->d_type != DT_DIR || !valid_id(e->d_name))
			continue; /* as state.Store.List: not a container */
		else if (n == cap && (all = realloc(all, (cap *= 2) * sizeof(*all))) == NULL)
			why = "out of memory";
		else if (!list_one(rootfd, e->d_name, &all[n++]))
			why = "a container without a summary";
	}
	closedir(d);
	close(rootfd);
	if (all == NULL)
		why = "out of memory";
	if (why != NULL)
		return decline(why);
	qsort(all, n, sizeof(*all), by_id);
	for (size_t i = 0; i < n; i++) {
		all[i].cell[0] = all[i].id;
		all[i].cell[1] = all[i].pid;
	}
	struct out o = { 0 };
	if (c->quiet) {
		for (size_t i = 0; i < n; i++) {
			put(&o, all[i].id, strlen(all[i].id));
			PUTS(&o, "\n");
		}
	} else {
		/* Columns are as wide as their widest cell plus 3, at least 12; the last one unpadded. */
		struct listed header = { .cell = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
		size_t width[LIST_CELLS - 1];
		for (int k = 0; k < LIST_CELLS; k++)
			header.len[k] = strlen(header.cell[k]);
		for (int k = 0; k < LIST_CELLS - 1; k++) {
			width[k] = header.len[k];
			for (size_t i = 0; i < n; i++)
				if (all[i].len[k] > width[k])
					width[k] = all[i].len[k];
			width[k] = width[k] + 3 < 12 ? 12 : width[k] + 3;
		}
		for (size_t i = 0; i <= n; i++) {
			const struct listed *l = i == 0 ? &header : &all[i - 1];
			for (int k = 0; k < LIST_CELLS; k++) {
				put(&o, l->cell[k], l->len[k]);
				for (size_t pad = l->len[k]; k < LIST_CELLS - 1 && pad < width[k]; pad++)
					PUTS(&o, " ");
			}
			PUTS(&o, "\n");
		}
	}
	if (o.failed)
		return decline("out of memory");
	write_all(1, o.b, o.len);
	return 0;
}

/* serve serves c on its locked state directory, or declines. */
static int serve(int dirfd, const char *dir, const struct command *c)
{
	/* As state.Store.lock: only the lock on the directory now at the path counts. */
	struct stat held, now;
	if (fstat(dirfd, &held) != 0 || stat(dir, &now) != 0 || held.st_ino != now.st_ino || held.st_dev != now.st_dev)
		return decline("the state directory was replaced");
	static char buf[MAX_SUMMARY];
	ssize_t n = read_all(dirfd, "summary", buf, sizeof(buf));
	if (n < 0)
		return decline("no summary");
	struct summary s;
	if (!parse_summary(buf, n, &s))
		return decline("a summary the fast path does not read");
	if (!strcmp(c->name, "state"))
		return state(dirfd, &s);
	if (!strcmp(c->name, "start"))
		return start_container(dirfd, &s);
	if (!strcmp(c->name, "delete"))
		return delete_container(dirfd, dir, &s);
	return kill_container(dirfd, &s, c->signal);
}

/*
 * run locks c's state directory and serves c, or declines. A decline closes
 * the directory, and with it the lock: the Go command that follows takes
 * it on a descriptor of its own, which this one's lock would block.
 */
static int run(const struct command *c)
{
	if (!strcmp(c->name, "list"))
		return list(c);
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/%s", c->root, c->id) >= (int)sizeof(dir))
		return decline("the path is too long");
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return decline("no state directory");
	int code = DECLINE;
	if (flock(dirfd, (strcmp(c->name, "state") ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0)
		decline("the container's lock is held");
	else
		code = serve(dirfd, dir, c);
	if (code == DECLINE)
		close(dirfd);
	return code;
}

/*
 * Priority 101: before nook's other constructors, which run at the default
 * priority. startup.c lends the Go runtime one slot of the environment
 * block, and the slot it takes may be XDG_RUNTIME_DIR or NOTIFY_SOCKET,
 * which this reads; nsenter.c's acts only in a container's init, which this
 * leaves alone.
 */
__attribute__((constructor(101))) static void nook_fast_command(void)
{
	const char *mode = getenv("_NOOK_FASTCMD");
	if (getenv("_NOOK_INITPIPE") != NULL || (mode != NULL && !strcmp(mode, "off")))
		return;
	int argc, code = DECLINE;
	struct command c;
	char **argv = initial_argv(&argc);
	if (argv == NULL)
		declined = "no command line";
	else if (parse(argv, argc, &c) == 0)
		code = run(&c);
	if (code != DECLINE)
		_exit(code);
	if (mode != NULL && !strcmp(mode, "must") && argv != NULL && argc > 1) {
		char msg[256];
		int n = snprintf(msg, sizeof(msg), "nook: fast path declined: %s\n", declined);
		write_all(2, msg, n);
		_exit(125);
	}
	/* Declined: nothing was changed, and the Go command runs. */
}
