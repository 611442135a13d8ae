package seccomp

// libc_compat.c supplies what Debian's glibc-built libseccomp.a needs when
// nook is linked against musl; this file only makes cgo compile it.

// #cgo CFLAGS: -Wall -Wextra -O2
import "C"
