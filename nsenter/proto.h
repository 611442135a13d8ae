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
#include <unistd.h>

#define NOOK_MSG_BOOTSTRAP 1
#define NOOK_MSG_USERNS_READY 2
#define NOOK_MSG_USERNS_MAPPED 3
#define NOOK_MSG_INIT_PID 4
#define NOOK_MSG_INIT_GO 5 /* read by the Go init, or by execplan.c */
#define NOOK_MSG_READY 7    /* sent by the Go init, or by execplan.c */
#define NOOK_MSG_ERROR 8
#define NOOK_MSG_EXEC_PLAN 12

#define NOOK_ATTR_CLONE_FLAGS 1
#define NOOK_ATTR_NS_PATH 2
#define NOOK_ATTR_TIME_OFFSETS 3
#define NOOK_ATTR_OOM_SCORE_ADJ 4
#define NOOK_ATTR_EXEC_PLAN 5 /* no value: stage 1 runs the exec plan (execplan.c) */

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
#define NOOK_PLAN_NO_NEW_PRIVS 1
#define NOOK_PLAN_KEEP_ADMIN 2

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

/* Reads one frame; *payload is malloc'd (or NULL when empty) and owned by the caller. */
static inline int nook_recv_frame(int fd, uint32_t *type, char **payload, uint32_t *len)
{
	uint32_t hdr[2];

	*payload = NULL;
	if (nook_full_read(fd, hdr, sizeof(hdr)) < 0)
		return -1;
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

#endif
