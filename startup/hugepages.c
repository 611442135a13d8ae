/*
 * hugepages: the Go runtime's first memory on transparent huge pages.
 *
 * A nook command touches ~0.5-1 MiB of fresh anonymous memory before it is
 * done (the heap, and the runtime's own metadata), one 4 KiB page fault at
 * a time: 150-250 faults, each ~10-16 us on the development VM (a C loop
 * touching 200 fresh pages: 2.2 ms; the same 200 in one huge page: 0.15 ms,
 * zeroing included). Hosts commonly set THP to "madvise"
 * (Debian's kernels do), so the runtime's memory gets huge pages only if
 * asked, and the Go runtime never asks (since Go 1.21.1 it leaves THP to
 * the system). Measured with make bench's A/B of two builds: create
 * 20.98 -> 17.72 ms, exec 18.71 -> 15.80, run 26.48 -> 22.82.
 *
 * In a cgo binary the runtime maps all its memory through the C library's
 * mmap (runtime/cgo's x_cgo_mmap), and the Makefile links nook with
 * -Wl,--wrap=mmap, so those calls come here. Nothing else of nook's calls
 * mmap (musl's own allocator and thread stacks use its internal __mmap, and
 * this wrapper is never reached from the C commands, stage 0 or the C init,
 * which never start the runtime). Two kinds of mapping are changed:
 *
 *  - the heap: the runtime maps its arena in whole 4 MiB chunks (MAP_FIXED
 *    over its reservation, read-write), and each such mapping made of whole
 *    aligned huge pages is advised MADV_HUGEPAGE as it is made. Goroutine
 *    stacks live there too.
 *  - the runtime's small metadata mappings (persistentalloc's 256 KiB
 *    chunks and the like: read-write, private, anonymous, no address asked
 *    for) are carved one after the other out of one 2 MiB aligned region
 *    advised MADV_HUGEPAGE, until it is used up. They were separate
 *    mappings scattered over the address space, too small for a huge page
 *    each. The runtime may munmap or madvise any part of what it got: the
 *    kernel splits the huge page, and no range is ever handed out twice.
 *
 * A huge page that cannot be had (THP off, no free 2 MiB block) is a
 * fault of small pages as before; with the kernel's defrag setting at its
 * usual "madvise", a fault in an advised range may first compact memory.
 *
 * The price is memory: a command's RSS grows by up to 2 MiB for the
 * region and 2 MiB per touched half of a heap chunk (create's peak RSS
 * 8.4 -> 14.1 MiB in make bench). Every nook command is short-lived except
 * a foreground run or exec, which holds that much more while its container
 * runs; an engine detaches both. The exit keeper and the parker are C programs of their
 * own. A container's init (_NOOK_INITPIPE set: stage 0, the init, an exec's
 * set-up) never uses it: a Go init that parks as itself waits as long as its
 * container stays created, and with huge pages the part of its heap it never
 * used stays resident (the runtime counts memory it never touched as given
 * back, so it never releases it): its anonymous memory 1.0 -> 6.5 MiB.
 * _NOOK_HUGEPAGES=off turns it off in any process: the runtime's mappings
 * are then made as asked.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HUGE_PAGE (2ul << 20)
#define SMALL_MAPPING_MAX (256ul << 10)

/* Set by the constructor before the runtime maps anything; read-only after. */
static int hugepages_off;

/* The region small mappings are carved from: 0 until set up. */
enum { REGION_UNSET, REGION_SETTING_UP, REGION_READY, REGION_NONE };
static int region_state;
static uintptr_t region_next, region_end;

__attribute__((constructor)) static void nook_hugepages_setting(void)
{
	const char *v = getenv("_NOOK_HUGEPAGES");

	hugepages_off = (v != NULL && strcmp(v, "off") == 0) || getenv("_NOOK_INITPIPE") != NULL;
}

/*
 * The mmap system call itself: with --wrap=mmap, a call to mmap from this
 * file would come back here, and __real_mmap exists only when the link
 * wraps (test binaries do not), so this file calls the kernel directly.
 */
static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);

	return r == -1 ? MAP_FAILED : (void *)r;
}

/*
 * Maps the region once. Only the first caller sets it up; a thread that
 * comes while that is in progress gets an ordinary mapping instead of
 * waiting (the runtime makes its first mappings from one thread anyway).
 */
static int region_ready(void)
{
	int state = __atomic_load_n(&region_state, __ATOMIC_ACQUIRE);
	char *p;
	uintptr_t start;

	if (state != REGION_UNSET)
		return state == REGION_READY;
	if (!__atomic_compare_exchange_n(&region_state, &state, REGION_SETTING_UP, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return state == REGION_READY;

	/* Twice the size, so that an aligned huge page lies inside; trim the rest. */
	p = raw_mmap(NULL, 2 * HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		__atomic_store_n(&region_state, REGION_NONE, __ATOMIC_RELEASE);
		return 0;
	}
	start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (start > (uintptr_t)p)
		munmap(p, start - (uintptr_t)p);
	if ((uintptr_t)p + 2 * HUGE_PAGE > start + HUGE_PAGE)
		munmap((void *)(start + HUGE_PAGE), (uintptr_t)p + 2 * HUGE_PAGE - (start + HUGE_PAGE));
	/* No THP in this kernel: the region would only be ordinary memory. */
	if (madvise((void *)start, HUGE_PAGE, MADV_HUGEPAGE) != 0) {
		munmap((void *)start, HUGE_PAGE);
		__atomic_store_n(&region_state, REGION_NONE, __ATOMIC_RELEASE);
		return 0;
	}
	region_next = start;
	region_end = start + HUGE_PAGE;
	__atomic_store_n(&region_state, REGION_READY, __ATOMIC_RELEASE);
	return 1;
}

/* The next len bytes (rounded up to whole pages) of the region, or NULL when it is used up. */
static void *carve(size_t len)
{
	uintptr_t cur, next;

	if (!region_ready())
		return NULL;
	len = (len + 4095) & ~(size_t)4095;
	cur = __atomic_load_n(&region_next, __ATOMIC_RELAXED);
	do {
		next = cur + len;
		if (next > region_end || next < cur)
			return NULL;
	} while (!__atomic_compare_exchange_n(&region_next, &cur, next, 0, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return (void *)cur;
}

static int is_small_runtime_mapping(void *addr, size_t len, int prot, int flags, int fd)
{
	return addr == NULL && len > 0 && len <= SMALL_MAPPING_MAX && prot == (PROT_READ | PROT_WRITE) &&
	       flags == (MAP_PRIVATE | MAP_ANONYMOUS) && fd == -1;
}

static int is_heap_chunk(void *addr, size_t len, int prot, int flags)
{
	return (flags & MAP_FIXED) && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) &&
	       prot == (PROT_READ | PROT_WRITE) && len >= HUGE_PAGE && len % HUGE_PAGE == 0 &&
	       ((uintptr_t)addr & (HUGE_PAGE - 1)) == 0;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	if (hugepages_off)
		return raw_mmap(addr, len, prot, flags, fd, off);
	if (is_small_runtime_mapping(addr, len, prot, flags, fd)) {
		p = carve(len);
		if (p != NULL)
			return p;
	}
	p = raw_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && is_heap_chunk(p, len, prot, flags))
		madvise(p, len, MADV_HUGEPAGE); /* advice only: an error changes nothing */
	return p;
}
