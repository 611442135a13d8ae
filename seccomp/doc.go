// Package seccomp turns a config.json `linux.seccomp` object into a kernel
// seccomp filter and hands the user-notification listener to a seccomp agent.
//
// The work is split between two processes on purpose:
//
//   - The parent (`nook create`, on the host) calls Compile: every field is
//     validated with an error naming it, and libseccomp compiles the profile
//     to a classic-BPF program. The result, a Program, is plain data that
//     travels to the init in its JSON config.
//   - The init calls Program.Install on its own locked OS thread right
//     before execve. Loading is one raw seccomp(2) system call (plus, for
//     NOTIFY, the listener's hand-off), so the in-container init does no
//     libseccomp work (no syscall tables, no BPF generation) after it has
//     entered the container.
//
// # Semantics worth knowing
//
// Unknown syscall names (names this libseccomp does not know on any
// architecture) are skipped with a debug line, as runc does, so one profile
// serves kernels and libseccomp versions of different ages.
//
// A syscalls[] entry whose action equals the default action (same errno
// included) adds nothing to the filter and is skipped: libseccomp refuses such
// rules.
//
// Conditions (args) of one entry are ANDed when every condition names a
// different argument index. libseccomp cannot AND two conditions on the same
// argument inside one rule, so when any index appears more than once the entry
// follows runc: every condition becomes a rule of its own, and the entry
// matches when ANY of its conditions holds. For example
//
//	args: [{index 0, EQ 1}, {index 0, EQ 2}, {index 1, EQ 3}]
//
// matches arg0==1 OR arg0==2 OR arg1==3 (not "(arg0==1 OR arg0==2) AND
// arg1==3"). Profiles written for runc, Docker's included, rely on this "list
// of allowed values" reading; a range such as {GE 5},{LE 10} on one index
// therefore does NOT express 5..10, and needs MASKED_EQ or separate entries.
//
// SCMP_ACT_ERRNO and SCMP_ACT_TRACE take errnoRet (defaultErrnoRet for the
// default action); it defaults to EPERM for both, TRACE using it as the
// tracer's message value. Any other action with an errnoRet is an error.
//
// When the default action is not ALLOW, LOG or TRACE (nor already ENOSYS),
// a syscall newer than every syscall the profile names for its architecture
// answers ENOSYS, as with runc, so that C libraries fall back to older
// syscalls instead of failing or being killed (see enosys.go). This stub is
// part of the compiled program, and of the cache key.
//
// When any rule uses SCMP_ACT_NOTIFY, the filter is loaded with
// SECCOMP_FILTER_FLAG_NEW_LISTENER and a listenerPath is required. NOTIFY is
// refused as the default action and, as runc refuses them, on write (see
// notifyRefused); any other syscall may be notified: Install loads the
// filter and hands the listener to the agent from another thread, without
// the loading thread holding anything that thread needs.
//
// SECCOMP_FILTER_FLAG_TSYNC is accepted and not used, as runc does: the
// filter is loaded on the one thread that execs the container's process.
//
// Program.Spawn starts a program under the filter without loading it on
// the calling thread (the init's startContainer hooks); there a NOTIFY rule
// answers ENOSYS, as no listener is made for it.
package seccomp
