/*
 * early.h: the protocol numbers early.c sends with, as
 * libcontainer/initproto (and nsenter/proto.h) define them. The attributes
 * are held to initproto's by libcontainer's TestEarlyBootstrapIsBootstrapOf
 * (the payloads must be the same bytes), the message and the fd by the
 * integration tests (stage0_test.go: stage 0 is taken).
 */
#ifndef NOOK_EARLY_H
#define NOOK_EARLY_H

#define EARLY_MSG_BOOTSTRAP 1
#define EARLY_ATTR_CLONE_FLAGS 1
#define EARLY_ATTR_NS_PATH 2
#define EARLY_ATTR_OOM_SCORE_ADJ 4
#define EARLY_ATTR_INIT_MODE 6
/* stage 0's init socket: 3 + the fds passed on, and early.c passes none */
#define EARLY_SOCK_FD 3

#endif
