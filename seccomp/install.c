/*
 * install.c: load a seccomp filter that has a listener on the calling
 * thread and hand the listener to another thread. See Program.Install for
 * why this is C.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "install.h"

/* From <linux/seccomp.h> and <linux/futex.h>, which musl-gcc does not see. */
#define NOOK_SECCOMP_SET_MODE_FILTER 1
#define NOOK_FUTEX_WAIT_PRIVATE 128

#define NOOK_USER_NOTIF_FLAG_CONTINUE 1

/* struct sock_fprog */
struct nook_fprog {
	unsigned short len;
	const void *filter;
};

int nook_install_handoff(const void *filter, unsigned short len, unsigned int flags,
			 int pipe_w, struct nook_handoff *h)
{
	struct nook_fprog prog = { len, filter };
	long listener;
	char wake = 1;

	listener = syscall(SYS_seccomp, NOOK_SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0)
		return -errno;
	/*
	 * Every syscall below goes through the filter. The listener is
	 * published in memory, which needs no syscall; the write only wakes
	 * the sender early. NOTIFY on write is refused, so it completes,
	 * unless the profile denies it, in which case the sender finds the
	 * listener when it next looks.
	 */
	__atomic_store_n(&h->listener, (int32_t)listener, __ATOMIC_RELEASE);
	while (write(pipe_w, &wake, 1) < 0 && errno == EINTR)
		;
	/*
	 * A notified futex waits for the agent's answer, which needs the
	 * listener, which the sender delivers without any help from here.
	 * Any answer, or a failure, just means another look at the status.
	 */
	while (__atomic_load_n(&h->status, __ATOMIC_ACQUIRE) == NOOK_HANDOFF_PENDING)
		syscall(SYS_futex, &h->status, NOOK_FUTEX_WAIT_PRIVATE, NOOK_HANDOFF_PENDING, NULL, NULL, 0);
	return 0;
}

/* struct seccomp_notif and struct seccomp_notif_resp */
struct nook_notif {
	uint64_t id;
	uint32_t pid;
	uint32_t flags;
	unsigned char data[64]; /* struct seccomp_data */
};

struct nook_notif_resp {
	uint64_t id;
	int64_t val;
	int32_t error;
	uint32_t flags;
};

void nook_continue_all(int listener, unsigned long recv, unsigned long send)
{
	struct nook_notif n;
	struct nook_notif_resp r;

	for (;;) {
		memset(&n, 0, sizeof n); /* the kernel insists */
		if (syscall(SYS_ioctl, listener, recv, &n) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			return;
		}
		memset(&r, 0, sizeof r);
		r.id = n.id;
		r.flags = NOOK_USER_NOTIF_FLAG_CONTINUE;
		syscall(SYS_ioctl, listener, send, &r);
	}
}
