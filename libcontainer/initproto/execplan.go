package initproto

import (
	"encoding/binary"
	"fmt"

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
}

// ExecPlanMsg is the frame carrying an ExecPlan.
const ExecPlanMsg Type = 12

// AttrExecPlan in Bootstrap (no value): an ExecPlan follows InitPid
// instead of Config, for the C half.
const AttrExecPlan uint32 = 5

// AppendExecPlanAttr adds AttrExecPlan to a Bootstrap payload.
func AppendExecPlanAttr(bootstrap []byte) []byte {
	b := binary.NativeEndian.AppendUint32(bootstrap, AttrExecPlan)
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
)

// PlanFlags bits.
const (
	PlanNoNewPrivs uint32 = 1 << 0
	PlanKeepAdmin  uint32 = 1 << 1
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
	attr(PlanFlags, u32(nil, flags))
	attr(PlanTimerSlack, u64(nil, p.TimerSlack))
	attr(PlanPreserve, u32(nil, p.PreserveFds))
	if len(p.Filter) > 0 {
		attr(PlanFilter, append(u32(nil, p.FilterFlags), p.Filter...))
	}
	return b
}

// DecodeExecPlan parses what Encode made, with the C half's checks: the
// tests hold the two to the same format.
func DecodeExecPlan(b []byte) (*ExecPlan, error) {
	p := &ExecPlan{}
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("exec plan: %d trailing bytes", len(b))
		}
		a, n := ne.Uint32(b), ne.Uint32(b[4:])
		if uint64(n) > uint64(len(b)-8) {
			return nil, fmt.Errorf("exec plan: attribute %d is truncated", a)
		}
		v := b[8 : 8+n]
		b = b[8+n:]
		fixed := map[uint32]int{PlanIDs: 12, PlanGroup: 4, PlanCaps: 40, PlanRlimit: 20, PlanFlags: 4, PlanTimerSlack: 8, PlanPreserve: 4}
		if want, ok := fixed[a]; ok && len(v) != want {
			return nil, fmt.Errorf("exec plan: attribute %d is %d bytes, want %d", a, len(v), want)
		}
		switch a {
		case PlanPath:
			p.Path = string(v)
		case PlanArg:
			p.Args = append(p.Args, string(v))
		case PlanEnv:
			p.Env = append(p.Env, string(v))
		case PlanCwd:
			p.Cwd = string(v)
		case PlanIDs:
			p.UID, p.GID, p.Umask = ne.Uint32(v), ne.Uint32(v[4:]), ne.Uint32(v[8:])
		case PlanGroup:
			p.Groups = append(p.Groups, ne.Uint32(v))
		case PlanCaps:
			p.Caps = caps.Sets{Bounding: caps.Set(ne.Uint64(v)), Effective: caps.Set(ne.Uint64(v[8:])),
				Permitted: caps.Set(ne.Uint64(v[16:])), Inheritable: caps.Set(ne.Uint64(v[24:])), Ambient: caps.Set(ne.Uint64(v[32:]))}
		case PlanRlimit:
			p.Rlimits = append(p.Rlimits, rlimits.Rlimit{Resource: int(ne.Uint32(v)), Soft: ne.Uint64(v[4:]), Hard: ne.Uint64(v[12:])})
		case PlanFlags:
			f := ne.Uint32(v)
			p.NoNewPrivs, p.KeepAdmin = f&PlanNoNewPrivs != 0, f&PlanKeepAdmin != 0
		case PlanTimerSlack:
			p.TimerSlack = ne.Uint64(v)
		case PlanPreserve:
			p.PreserveFds = ne.Uint32(v)
		case PlanFilter:
			if len(v) < 4 || (len(v)-4)%8 != 0 {
				return nil, fmt.Errorf("exec plan: the filter is %d bytes", len(v))
			}
			p.FilterFlags, p.Filter = ne.Uint32(v), v[4:]
		default:
			return nil, fmt.Errorf("exec plan: unknown attribute %d", a)
		}
	}
	if p.Path == "" || len(p.Args) == 0 || p.Cwd == "" {
		return nil, fmt.Errorf("exec plan: no path, args or cwd")
	}
	return p, nil
}
