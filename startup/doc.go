// Package startup holds what nook does to start fast, in one place. Every
// nook command is a fresh process and a lifecycle is five of them (create,
// the container's init, start, state, delete), so start-up is most of what
// nook costs (docs/PERFORMANCE.md has the numbers and how to re-measure).
// The package is a leaf: it imports nothing of nook's, and importing it
// links its ELF constructors, which run before the Go runtime, and the
// mmap wrapper the Makefile's link routes the runtime's mappings to.
//
// The tricks, what each saves (A/B runs of `make bench` on the 2-CPU CI VM),
// and what each must never do:
//
//   - One P (startup.c, startup.go). The runtime starts one P per CPU and
//     every extra P costs threads and page faults: ~0.8-2 ms a command.
//     The constructor lends the runtime "GOMAXPROCS=1" in one slot of the
//     initial environment block, and this package's init puts the entry
//     back before any other package reads the environment. It must never
//     override a GOMAXPROCS the user set, borrow a GO* or _NOOK_* entry
//     (the runtime and nook's other constructors read those), or leave
//     GOMAXPROCS=1 in the environment of a program nook starts.
//
//   - A lazy sysmon (timerslack.c, timerslack.go). Before the runtime
//     makes a thread, the process's timer slack is raised to 5 ms, so
//     sysmon's 20 us wake-ups are deferred: ~1 ms a command, more in the
//     init (a lifecycle 81.6 -> 64.1 ms). No program nook starts may
//     inherit it: hooks, ps, CRIU and the container's process are started
//     through WithCallerTimerSlack or after UseCallerTimerSlack, and create
//     passes its caller's slack to the init in CallerTimerSlackEnv. Nothing
//     on a lifecycle's path may sleep on a timer (a sleep may end 5 ms late).
//
//   - The Go runtime's memory on huge pages (hugepages.c). A command
//     touches ~0.5-1 MiB of fresh anonymous memory one 4 KiB fault at a
//     time (~10-16 us each on the development VM); nook is linked with
//     -Wl,--wrap=mmap, so the runtime's mmap calls (which go through the C
//     library in a cgo binary) come to hugepages.c, which advises its heap
//     chunks MADV_HUGEPAGE and carves its small metadata mappings from one
//     huge-page-advised 2 MiB region: create ~3 ms faster, run and exec
//     ~2-3 ms. It must never change what a mapping is (only advice, or a
//     fresh zeroed part of the region never handed out twice) and must stay
//     off with _NOOK_HUGEPAGES=off and in every container init (a Go init
//     parked as itself would keep ~5 MiB more resident); it costs up
//     to ~6 MiB of RSS in a command, which stays only in a foreground run
//     or exec.
//
//   - Code and read-only data mapped at start (prefault.c). One
//     MADV_POPULATE_READ over the binary's read-only segments before the
//     runtime starts, instead of a fault per 16 pages of them the command
//     touches: ~0.4-0.5 ms a Go command, create and run ~2-3%. It must stay
//     off in every container init and stage 0 (_NOOK_INITPIPE: a Go init
//     parked as itself gives these pages back), in an exit keeper and in a
//     user-namespace holder, and with _NOOK_PREFAULT=off; it grows a
//     command's RSS by page cache pages every nook process shares. Which
//     pages are the program's read-only ones is segments.c's to say, for
//     this and for nsenter's C init, which drops them before a long wait.
//
// Two other tricks are not code here: the build (a static binary linked
// with musl, GOEXPERIMENT=nogreenteagc,jsonv2; see the Makefile), and the
// early start of the init's first stage, which the container API does
// itself (libcontainer.Root.Create and Exec start it before they read the
// config or the record, so its exec overlaps that work).
package startup
