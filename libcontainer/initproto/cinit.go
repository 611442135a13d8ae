package initproto

// The C init (nsenter/cinit.c): a container whose set-up needs nothing of
// the Go init has its root built by the parent, from a thread that joined
// the init's namespaces, and its PID 1 never starts Go. The conversation:
//
//	parent                          init (stage 1, C)
//	Bootstrap with AttrInitMode  →
//	                             ←  InitPid (from stage 0)
//	InitMode(InitModeC)          →
//	InitGo(u32 proc mounts)      →  unshares the cgroup namespace, setsid
//	                             ←  ProcContexts (fds: fsopen("proc") each)
//	(the parent builds the root)
//	ExecPlanMsg (fd: the barrier)→
//	                             ←  Ready (or Error)
//
// With InitModeGo the init returns to the Go runtime and the conversation
// goes on as without AttrInitMode (Config, InitGo, …).
const (
	// AttrInitMode in Bootstrap (no value): stage 1 waits for InitMode
	// before it starts Go.
	AttrInitMode uint32 = 6
	// InitMode carries a u32: InitModeGo or InitModeC.
	InitMode Type = 13
	// ProcContexts carries, as SCM_RIGHTS, one proc filesystem context
	// per proc mount InitGo asked for (none: it still says the cgroup
	// namespace is made).
	ProcContexts Type = 14
)

// InitMode values.
const (
	InitModeGo uint32 = 0
	InitModeC  uint32 = 1
)

// AppendInitModeAttr adds AttrInitMode to a Bootstrap payload.
func AppendInitModeAttr(bootstrap []byte) []byte { return appendFlagAttr(bootstrap, AttrInitMode) }
