/*
 * cmdline.h: the command line as the C constructors see it, shared by
 * fastcmd.c and early.c.
 */
#ifndef NOOK_CMDLINE_H
#define NOOK_CMDLINE_H

#include <string.h>

extern char **environ;

/*
 * The command line. musl calls constructors without arguments, so argv is
 * found where the ELF ABI puts it: the initial stack holds argc, argv[0..argc-1],
 * NULL, then the environment, which environ points at before anything can
 * change it. Walking back from environ, the first word equal to the number
 * of pointers passed is argc (a pointer is never a small number).
 */
static inline char **nook_initial_argv(int *argc)
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

/*
 * nook_flag_value matches a flag taking a value, in the forms urfave/cli
 * accepts (-name V, --name V, -name=V, --name=V); it returns 1 and sets
 * *value (advancing *i past a separate value), 0 for another argument.
 */
static inline int nook_flag_value(char **argv, int argc, int *i, const char *name, const char **value)
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

/* nook_bool_flag matches a flag without a value: -name or --name. */
static inline int nook_bool_flag(const char *arg, const char *name)
{
	if (arg[0] != '-')
		return 0;
	arg += (arg[1] == '-') ? 2 : 1;
	return strcmp(arg, name) == 0;
}

#endif
