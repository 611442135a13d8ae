package initproto

import (
	"encoding/binary"

	"github.com/nookrt/nook/libcontainer/caps"
	"github.com/nookrt/nook/libcontainer/rlimits"
)

// ExecPlan is a `nook exec` process's set-up, decided by the parent in
// full, for the C half of the process to carry out without starting a Go
// runtime (nsenter/execplan.c). The parent announces it with the
// Bootstrap attribute AttrExecPlan and sends it, as frame ExecPlanMsg,
// where it would send Config; the process answers with Ready (or Error)
// as the Go init does. Only a plain process gets one (libcontainer's
// execPlan says which); every other exec is set up by the Go init.
type ExecPlan struct {
	Path        string   // args[0] resolved in the container
	Args, Env   []string // Env with HOME
	Cwd         string
	UID, GID    uint32
	Groups      []uint32
	Umask       uint32
	Caps        caps.Sets // the final sets, those the runtime cannot grant dropped
	Rlimits     []rlimits.Rlimit
	NoNewPrivs  bool
	KeepAdmin   bool   // keep CAP_SYS_ADMIN until the seccomp filter is loaded (no no_new_privs)
	TimerSlack  uint64 // the caller's, 0: leave it
	PreserveFds uint32
	// Filter is the compiled seccomp program (struct sock_filter array),
	// loaded with FilterFlags; empty: none.
	Filter      []byte
	FilterFlags uint32

	// The C init's alone (cinit.go): the session keyring to join ("":
	// none), stdio on a null device given the container's /dev/null, and
	// the line to print when the execve fails with a given errno (the
	// explanation the Go init would add, read before the start).
	Keyring    string
	ReopenNull bool
	Failures   []ExecFailure
}

// ExecFailure is the line (after "nook init: ") printed when the execve
// fails with Errno.
type ExecFailure struct {
	Errno uint32
	Line  string
}

// ExecPlanMsg is the frame carrying an ExecPlan.
const ExecPlanMsg Type = 12

// AttrExecPlan in Bootstrap (no value): an ExecPlan follows InitPid
// instead of Config, for the C half.
const AttrExecPlan uint32 = 5

// AppendExecPlanAttr adds AttrExecPlan to a Bootstrap payload.
func AppendExecPlanAttr(bootstrap []byte) []byte { return appendFlagAttr(bootstrap, AttrExecPlan) }

// appendFlagAttr adds an attribute without a value to a Bootstrap payload.
func appendFlagAttr(bootstrap []byte, attr uint32) []byte {
	b := binary.NativeEndian.AppendUint32(bootstrap, attr)
	return binary.NativeEndian.AppendUint32(b, 0)
}

// ExecPlan attributes (u32 attr | u32 len | value, as Bootstrap's). Strings
// carry no NUL; numbers are in host byte order.
const (
	PlanPath       uint32 = 1  // string
	PlanArg        uint32 = 2  // string, one per argument, in order
	PlanEnv        uint32 = 3  // string, one per variable
	PlanCwd        uint32 = 4  // string
	PlanIDs        uint32 = 5  // u32 uid, u32 gid, u32 umask
	PlanGroup      uint32 = 6  // u32, one per supplementary group
	PlanCaps       uint32 = 7  // u64 bounding, effective, permitted, inheritable, ambient
	PlanRlimit     uint32 = 8  // u32 resource, u64 soft, u64 hard
	PlanFlags      uint32 = 9  // u32: PlanNoNewPrivs | PlanKeepAdmin
	PlanTimerSlack uint32 = 10 // u64
	PlanPreserve   uint32 = 11 // u32
	PlanFilter     uint32 = 12 // u32 flags, then the filter
	PlanKeyring    uint32 = 13 // string
	PlanFailure    uint32 = 14 // u32 errno, then the line
)

// PlanFlags bits.
const (
	PlanNoNewPrivs uint32 = 1 << 0
	PlanKeepAdmin  uint32 = 1 << 1
	PlanReopenNull uint32 = 1 << 2
)

// Encode is the plan as the C half parses it.
func (p *ExecPlan) Encode() []byte {
	var b []byte
	attr := func(a uint32, v []byte) {
		b = binary.NativeEndian.AppendUint32(b, a)
		b = binary.NativeEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	u32 := binary.NativeEndian.AppendUint32
	u64 := binary.NativeEndian.AppendUint64
	attr(PlanPath, []byte(p.Path))
	for _, a := range p.Args {
		attr(PlanArg, []byte(a))
	}
	for _, e := range p.Env {
		attr(PlanEnv, []byte(e))
	}
	attr(PlanCwd, []byte(p.Cwd))
	attr(PlanIDs, u32(u32(u32(nil, p.UID), p.GID), p.Umask))
	for _, g := range p.Groups {
		attr(PlanGroup, u32(nil, g))
	}
	c := p.Caps
	attr(PlanCaps, u64(u64(u64(u64(u64(nil, uint64(c.Bounding)), uint64(c.Effective)), uint64(c.Permitted)),
		uint64(c.Inheritable)), uint64(c.Ambient)))
	for _, l := range p.Rlimits {
		attr(PlanRlimit, u64(u64(u32(nil, uint32(l.Resource)), l.Soft), l.Hard))
	}
	var flags uint32
	if p.NoNewPrivs {
		flags |= PlanNoNewPrivs
	}
	if p.KeepAdmin {
		flags |= PlanKeepAdmin
	}
	if p.ReopenNull {
		flags |= PlanReopenNull
	}
	attr(PlanFlags, u32(nil, flags))
	attr(PlanTimerSlack, u64(nil, p.TimerSlack))
	attr(PlanPreserve, u32(nil, p.PreserveFds))
	if len(p.Filter) > 0 {
		attr(PlanFilter, append(u32(nil, p.FilterFlags), p.Filter...))
	}
	if p.Keyring != "" {
		attr(PlanKeyring, []byte(p.Keyring))
	}
	for _, f := range p.Failures {
		attr(PlanFailure, append(u32(nil, f.Errno), f.Line...))
	}
	return b
}
