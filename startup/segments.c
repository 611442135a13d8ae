/*
 * segments: the one definition of "this program's read-only pages" for the
 * C that advises the kernel about them. prefault.c maps them before the Go
 * runtime starts (MADV_POPULATE_READ); nsenter's C init drops them before a
 * long wait at the start barrier (MADV_DONTNEED, nsenter/execplan.c).
 */
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "segments.h"

long nook_advise_program_pages(int advice)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM), page = (unsigned long)sysconf(_SC_PAGESIZE), bias = 0, i;
	long advised = 0;

	if (ph == NULL || page == 0)
		return -1;
	/* nook is built for 64-bit hosts only. A PIE is loaded wherever the kernel chose: its PT_PHDR says where. */
	for (i = 0; i < n; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (unsigned long)ph - ph[i].p_vaddr;
	for (i = 0; i < n; i++) {
		unsigned long start, end;

		if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & PF_W))
			continue;
		start = (bias + ph[i].p_vaddr) & ~(page - 1);
		end = (bias + ph[i].p_vaddr + ph[i].p_memsz + page - 1) & ~(page - 1);
		if (madvise((void *)start, end - start, advice) != 0)
			return -1;
		advised += (long)(end - start);
	}
	return advised;
}
