#ifndef NOOK_STARTUP_SEGMENTS_H
#define NOOK_STARTUP_SEGMENTS_H

/*
 * nook_advise_program_pages applies madvise(advice) to every read-only
 * loadable segment of the running program (its code and read-only data).
 * It returns the bytes advised, or -1 when the program headers cannot be
 * found or an madvise fails (the segments before it were advised).
 */
long nook_advise_program_pages(int advice);

#endif
