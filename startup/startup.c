/*
 * startup: one P for every nook command.
 *
 * A nook command is a short process that does one thing, yet the Go runtime
 * starts one P per CPU, and every extra P costs threads and page faults at
 * start-up (~0.8 ms a command on the 2-CPU CI VM; a container lifecycle is
 * four commands). The runtime reads GOMAXPROCS from the initial environment
 * block (the array on the stack) before any Go code runs; only an ELF
 * constructor runs earlier. The block cannot grow, so this borrows a slot:
 * the last "KEY=VALUE" entry that the runtime does not read itself (not GO*)
 * and that no other constructor of nook's reads (not _NOOK_*: constructors
 * run in no fixed order) becomes "GOMAXPROCS=1", and startup.go puts it back
 * before main() runs.
 *
 * Nothing happens when GOMAXPROCS is already set (the user's choice, and the
 * container init, which gets GOMAXPROCS=1 from its parent), in a user-
 * namespace holder (no Go runtime ever starts there), or when the
 * environment is empty.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* The entry replaced, for startup.go; NULL when nothing was borrowed. */
char *nook_borrowed_env;

extern char **environ;

/*
 * The soft RLIMIT_NOFILE nook was started with, and whether it is known:
 * package syscall raises its own before main() and puts the original back
 * only in syscall.Exec, and the parked init (containerinit) execs its
 * parker with execveat, which must give the same limit (startup.go).
 */
unsigned long long nook_nofile_at_start;
int nook_nofile_known;

__attribute__((constructor)) static void nook_read_nofile(void)
{
	struct rlimit lim;

	/* Only a container's init execs that way: other commands skip the call. */
	if (getenv("_NOOK_INITPIPE") == NULL)
		return;
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
		nook_nofile_at_start = (unsigned long long)lim.rlim_cur;
		nook_nofile_known = 1;
	}
}

/*
 * The environment comes from environ, not a third constructor argument: glibc
 * passes (argc, argv, envp) to constructors, musl passes nothing. Both point
 * environ at the block on the stack before constructors run.
 */
__attribute__((constructor)) static void nook_one_proc(void)
{
	static char one[] = "GOMAXPROCS=1";
	char **envp = environ;
	int i, last = -1;

	if (envp == NULL || getenv("GOMAXPROCS") != NULL || getenv("_NOOK_USERNS_HOLDER") != NULL)
		return;
	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], "GO", 2) == 0 || strncmp(envp[i], "_NOOK_", 6) == 0 ||
		    strchr(envp[i], '=') == NULL)
			continue;
		last = i;
	}
	if (last < 0)
		return;
	nook_borrowed_env = envp[last];
	envp[last] = one;
}
