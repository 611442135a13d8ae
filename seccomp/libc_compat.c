/*
 * libc_compat: what Debian's libseccomp.a needs from a C library that musl
 * does not have.
 *
 * `make build` links nook statically against musl (see the Makefile: musl's
 * start-up costs ~1 ms less than static glibc's on every nook command). No
 * musl build of libseccomp is packaged, so it links Debian's archive, which
 * was compiled against glibc with _FORTIFY_SOURCE. Every symbol it takes from
 * a C library exists in musl except glibc's checked fprintf (used only by
 * seccomp_export_pfc, which nook never calls). Built against glibc, where
 * the real one exists, this file is empty.
 */
#include <stdarg.h>
#include <stdio.h> /* glibc's defines __GLIBC__ */

#if !defined(__GLIBC__)

int __fprintf_chk(FILE *stream, int flag, const char *format, ...);

/* flag is the fortify level; the checks it asks for are glibc's own. */
int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, format);
	n = vfprintf(stream, format, ap);
	va_end(ap);
	return n;
}
#endif
