/*
 * nook_keeper_start_at_exit starts create's exit keeper (keeper.c) as a
 * child that shares this process's memory and executes the keeper program
 * only once this process has exited (keeperlaunch.c). fds are what become
 * the keeper's KEEPER_PIDFD, KEEPER_DIRFD and KEEPER_OOMFD (-1: none), prog
 * the program to execute; argv and envp are kept, never freed. It returns
 * the keeper's pid, or -errno. Once per process.
 */
#ifndef NOOK_KEEPERLAUNCH_H
#define NOOK_KEEPERLAUNCH_H

int nook_keeper_start_at_exit(const int fds[3], int prog, char **argv, char **envp);

/*
 * nook_keeper_settle returns once a keeper started at exit holds none of
 * this process's files but its own (at once if there is none, or it died).
 * Until then its copy of the file table may hold, say, the caller's pipe.
 */
void nook_keeper_settle(void);

#endif
