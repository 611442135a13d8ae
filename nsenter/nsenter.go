// Package nsenter holds the C constructor that joins and creates a container's
// namespaces before the Go runtime starts (see nsenter.c for why it must be C).
// Importing the package for its side effect links the constructor into the
// binary; it is inert unless the process was started as a container init.
package nsenter

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
#include "proto.h"
*/
import "C"

// startup's C defines nook_advise_program_pages, which the C init uses
// (proto.h); nook imports startup anyway, and so must anything linking
// this package.
import _ "github.com/nookrt/nook/startup"

// Message numbers as the C side knows them, exported so a test can check that
// they agree with libcontainer/initproto.
const (
	MsgBootstrap    = C.NOOK_MSG_BOOTSTRAP
	MsgUsernsReady  = C.NOOK_MSG_USERNS_READY
	MsgUsernsMapped = C.NOOK_MSG_USERNS_MAPPED
	MsgInitPid      = C.NOOK_MSG_INIT_PID
	MsgInitGo       = C.NOOK_MSG_INIT_GO
	MsgReady        = C.NOOK_MSG_READY
	MsgError        = C.NOOK_MSG_ERROR
	MsgExecPlan     = C.NOOK_MSG_EXEC_PLAN
	AttrCloneFlags  = C.NOOK_ATTR_CLONE_FLAGS
	AttrNsPath      = C.NOOK_ATTR_NS_PATH
	AttrTimeOffsets = C.NOOK_ATTR_TIME_OFFSETS
	AttrOOMScoreAdj = C.NOOK_ATTR_OOM_SCORE_ADJ
	AttrExecPlan    = C.NOOK_ATTR_EXEC_PLAN
	AttrInitMode    = C.NOOK_ATTR_INIT_MODE
	MsgInitMode     = C.NOOK_MSG_INIT_MODE
	MsgProcContexts = C.NOOK_MSG_PROC_CONTEXTS
)

// The exec plan's attributes and flags, as execplan.c knows them.
var PlanNumbers = map[string]int{
	"path": C.NOOK_PLAN_PATH, "arg": C.NOOK_PLAN_ARG, "env": C.NOOK_PLAN_ENV, "cwd": C.NOOK_PLAN_CWD,
	"ids": C.NOOK_PLAN_IDS, "group": C.NOOK_PLAN_GROUP, "caps": C.NOOK_PLAN_CAPS, "rlimit": C.NOOK_PLAN_RLIMIT,
	"flags": C.NOOK_PLAN_FLAGS, "timerslack": C.NOOK_PLAN_TIMERSLACK, "preserve": C.NOOK_PLAN_PRESERVE,
	"filter": C.NOOK_PLAN_FILTER, "no-new-privs": C.NOOK_PLAN_NO_NEW_PRIVS, "keep-admin": C.NOOK_PLAN_KEEP_ADMIN,
	"keyring": C.NOOK_PLAN_KEYRING, "failure": C.NOOK_PLAN_FAILURE, "reopen-null": C.NOOK_PLAN_REOPEN_NULL,
}
