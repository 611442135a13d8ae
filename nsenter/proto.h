/*
 * The C side of the parent<->init protocol. The protocol itself (frame layout,
 * message numbers, who sends what when) is defined and documented in
 * libcontainer/initproto/proto.go; the numbers here must match it, and a Go test
 * (nsenter_test.go) checks that they do.
 *
 * A frame is: u32 type | u32 payload length | payload, in host byte order.
 */
#ifndef NOOK_PROTO_H
#define NOOK_PROTO_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOOK_MSG_BOOTSTRAP 1
#define NOOK_MSG_USERNS_READY 2
#define NOOK_MSG_USERNS_MAPPED 3
#define NOOK_MSG_INIT_PID 4
#define NOOK_MSG_INIT_GO 5 /* read by the Go init, or by execplan.c */
#define NOOK_MSG_READY 7    /* sent by the Go init, or by execplan.c */
#define NOOK_MSG_ERROR 8
#define NOOK_MSG_EXEC_PLAN 12
#define NOOK_MSG_INIT_MODE 13     /* u32: 0 the Go init, 1 the C init (cinit.c) */
#define NOOK_MSG_PROC_CONTEXTS 14 /* the C init's proc fs contexts, as SCM_RIGHTS */

#define NOOK_ATTR_CLONE_FLAGS 1
#define NOOK_ATTR_NS_PATH 2
#define NOOK_ATTR_TIME_OFFSETS 3
#define NOOK_ATTR_OOM_SCORE_ADJ 4
#define NOOK_ATTR_EXEC_PLAN 5 /* no value: stage 1 runs the exec plan (execplan.c) */
#define NOOK_ATTR_INIT_MODE 6 /* no value: stage 1 waits for INIT_MODE before it starts Go */

/* Exec plan attributes and flags (libcontainer/initproto/execplan.go). */
#define NOOK_PLAN_PATH 1
#define NOOK_PLAN_ARG 2
#define NOOK_PLAN_ENV 3
#define NOOK_PLAN_CWD 4
#define NOOK_PLAN_IDS 5
#define NOOK_PLAN_GROUP 6
#define NOOK_PLAN_CAPS 7
#define NOOK_PLAN_RLIMIT 8
#define NOOK_PLAN_FLAGS 9
#define NOOK_PLAN_TIMERSLACK 10
#define NOOK_PLAN_PRESERVE 11
#define NOOK_PLAN_FILTER 12
#define NOOK_PLAN_KEYRING 13 /* the C init's: the session keyring to join */
#define NOOK_PLAN_FAILURE 14 /* u32 errno, then the line printed when execve fails with it */
#define NOOK_PLAN_NO_NEW_PRIVS 1
#define NOOK_PLAN_KEEP_ADMIN 2
#define NOOK_PLAN_REOPEN_NULL 4 /* the C init's: stdio on a null device gets the container's */

/*
 * Formats an error message into msg: fmt's text, then ": " and errnum's
 * strerror unless errnum is 0 (in Go's wording, lower case, with
 * go_case). Returns its length.
 */
static inline size_t nook_error_message(char *msg, size_t size, int errnum, int go_case, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, size, fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;

	if (errnum != 0 && len + 3 < size) {
		size_t at = len + 2;

		n = snprintf(msg + len, size - len, ": %s", strerror(errnum));
		len = n < 0 ? len : len + (size_t)n >= size ? size - 1 : len + (size_t)n;
		if (go_case && at < len && msg[at] >= 'A' && msg[at] <= 'Z')
			msg[at] += 'a' - 'A';
	}
	return len;
}

/* execplan.c: carries out the exec plan sent on sock, and never returns. */
void nook_run_exec_plan(int sock) __attribute__((noreturn));

/*
 * execplan.c: ends the process with status 1 after reporting fmt's message
 * (and errno's text, in Go's case): to the parent on sock as an ERROR frame
 * until READY is sent, to stderr ("nook init: …") after it.
 */
void nook_plan_fail(int sock, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/*
 * execplan.c: the plan's steps from the cwd on (READY, the start barrier
 * when barrier >= 0, the execve); never returns. The plan is parsed from
 * buf by nook_plan_parse into an opaque struct nook_plan.
 */
struct nook_plan;
struct nook_plan *nook_plan_parse(int sock, const char *buf, uint32_t len);
void nook_plan_run(int sock, struct nook_plan *pl, int barrier) __attribute__((noreturn));

/* cinit.c: a container's init that never starts Go; never returns. */
void nook_run_c_init(int sock, uint32_t cloneflags) __attribute__((noreturn));

/*
 * startup/segments.c (package startup, which nsenter imports): madvise on
 * the program's read-only pages. The C init drops its mappings of them
 * (MADV_DONTNEED: what is touched again faults back in) before a long wait
 * at the start barrier, which comes after NOOK_SETTLE_MS without a start
 * (the Go init's settleAfter).
 */
long nook_advise_program_pages(int advice);
#define NOOK_SETTLE_MS 100

/* Bootstrap frames are small; anything bigger is a protocol error. */
#define NOOK_MAX_C_FRAME (1 << 20)

static inline int nook_full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int nook_full_read(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int nook_send_frame(int fd, uint32_t type, const void *payload, uint32_t len)
{
	uint32_t hdr[2] = { type, len };

	if (nook_full_write(fd, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? nook_full_write(fd, payload, len) : 0;
}

/* Reads the payload of the frame whose header is hdr (nook_recv_frame). */
static inline int nook_recv_payload(int fd, const uint32_t hdr[2], uint32_t *type, char **payload, uint32_t *len)
{
	*type = hdr[0];
	*len = hdr[1];
	if (*len > NOOK_MAX_C_FRAME) {
		errno = EMSGSIZE;
		return -1;
	}
	if (*len == 0)
		return 0;
	*payload = malloc(*len);
	if (*payload == NULL)
		return -1;
	if (nook_full_read(fd, *payload, *len) < 0) {
		free(*payload);
		*payload = NULL;
		return -1;
	}
	return 0;
}

/* Reads one frame; *payload is malloc'd (or NULL when empty) and owned by the caller. */
static inline int nook_recv_frame(int fd, uint32_t *type, char **payload, uint32_t *len)
{
	uint32_t hdr[2];

	*payload = NULL;
	if (nook_full_read(fd, hdr, sizeof(hdr)) < 0)
		return -1;
	return nook_recv_payload(fd, hdr, type, payload, len);
}

/* The most fds one frame carries here (the C init's proc contexts). */
#define NOOK_MAX_FRAME_FDS 16

/*
 * nook_send_frame with fds as SCM_RIGHTS on its first byte (what the Go
 * side's initproto.ExpectFiles reads).
 */
static inline int nook_send_frame_fds(int fd, uint32_t type, const void *payload, uint32_t len, const int *fds, int nfds)
{
	uint32_t hdr[2] = { type, len };
	char cbuf[CMSG_SPACE(sizeof(int) * NOOK_MAX_FRAME_FDS)];
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > NOOK_MAX_FRAME_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (nook_full_write(fd, (char *)hdr + n, sizeof(hdr) - (size_t)n) < 0)
		return -1;
	return len ? nook_full_write(fd, payload, len) : 0;
}

/*
 * nook_recv_frame that also takes the fds sent with the frame (initproto's
 * SendFiles), close-on-exec, into fds[0..*nfds). More than maxfds fds is
 * an error (the extra ones are closed).
 */
static inline int nook_recv_frame_fds(int fd, uint32_t *type, char **payload, uint32_t *len, int *fds, int maxfds, int *nfds)
{
	uint32_t hdr[2];
	char cbuf[CMSG_SPACE(sizeof(int) * NOOK_MAX_FRAME_FDS)];
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;
	int too_many = 0;

	*payload = NULL;
	*nfds = 0;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = EPIPE;
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		int i, k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + sizeof(int) * (size_t)i, sizeof(int));
			if (*nfds < maxfds)
				fds[(*nfds)++] = got;
			else {
				close(got);
				too_many = 1;
			}
		}
	}
	if (too_many || (msg.msg_flags & MSG_CTRUNC)) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((size_t)n < sizeof(hdr) && nook_full_read(fd, (char *)hdr + n, sizeof(hdr) - (size_t)n) < 0)
		return -1;
	return nook_recv_payload(fd, hdr, type, payload, len);
}

#endif
