/*
 * The fds a container's exit keeper is handed (keeper.c), in one place for
 * both sides: keeper.go exports them to the Go that starts the keeper
 * (libcontainer/exitinfo.go).
 */
#ifndef NOOK_KEEPER_H
#define NOOK_KEEPER_H

#define KEEPER_PIDFD 3 /* a pidfd of the init */
#define KEEPER_DIRFD 4 /* the container's state directory */
#define KEEPER_OOMFD 5 /* its memory cgroup's oom_kill counter file (optional) */

#endif
