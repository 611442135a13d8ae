/*
 * prefault: nook's code and read-only data mapped before the Go runtime
 * starts.
 *
 * On the development VM every page fault is an exit to the hypervisor
 * (~10-20 us), and a Go command takes ~100 faults in its code and
 * read-only data alone (each mapping the 16 pages around it): the
 * runtime's start, the package initialisers, the first JSON decode. One
 * MADV_POPULATE_READ over the read-only segments maps all of them in one
 * system call, from the page cache: `nook --version` and a `state` through
 * the Go path ~0.4-0.5 ms faster, create and run ~2-3% (docs/PERFORMANCE.md).
 * The mapped pages are the page cache's, shared with every other nook
 * process: the RSS of the command grows, not the host's memory use.
 *
 * On a cold page cache the populate reads the whole binary where the faults
 * would have read what the command touches; on this kernel exec's readahead
 * already brings the whole 8 MiB file in (`fincore` after one `nook
 * --version` of a copy dropped from the cache: all of it), so nothing is
 * checked first.
 *
 * Never in a container's init or stage 0 (_NOOK_INITPIPE: a Go init that
 * parks as itself gives its program's pages back, selfimage), in an exit
 * keeper run from nook's own binary (a build without the embedded keeper)
 * or a user-namespace holder, all of which wait long and run little, or
 * with _NOOK_PREFAULT=off. The C commands (fastcmd) are served by an
 * earlier constructor and never get here.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "segments.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* Bytes the constructor mapped, 0 when it was off, -1 when it failed: for
 * the tests (prefault.go). */
long nook_prefault_bytes;

__attribute__((constructor)) static void nook_prefault(void)
{
	const char *v = getenv("_NOOK_PREFAULT");

	if ((v != NULL && strcmp(v, "off") == 0) || getenv("_NOOK_INITPIPE") != NULL ||
	    getenv("_NOOK_EXIT_KEEPER") != NULL || getenv("_NOOK_USERNS_HOLDER") != NULL)
		return;
	nook_prefault_bytes = nook_advise_program_pages(MADV_POPULATE_READ);
}
