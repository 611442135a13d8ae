// Package sched applies the per-process kernel scheduling settings of a runtime-spec
// process: process.scheduler (sched_setattr), process.ioPriority (ioprio_set),
// linux.personality (personality) and process.execCPUAffinity (sched_setaffinity).
//
// Every Set* call acts on the calling thread only, so callers must run it on the locked OS
// thread that will go on to execve (nook's init is one such thread). Each Validate* function
// is pure and names the offending config field; the Set* functions call it first, so a bad
// value never reaches the kernel.
package sched
