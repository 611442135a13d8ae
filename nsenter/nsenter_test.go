package nsenter

import (
	"testing"

	"github.com/nookrt/nook/libcontainer/initproto"
)

// The C and Go halves of the protocol must agree on every number.
func TestProtocolNumbersMatch(t *testing.T) {
	pairs := []struct {
		name string
		c    int
		g    uint32
	}{
		{"bootstrap", MsgBootstrap, uint32(initproto.Bootstrap)},
		{"userns-ready", MsgUsernsReady, uint32(initproto.UsernsReady)},
		{"userns-mapped", MsgUsernsMapped, uint32(initproto.UsernsMapped)},
		{"init-pid", MsgInitPid, uint32(initproto.InitPid)},
		{"init-go", MsgInitGo, uint32(initproto.InitGo)},
		{"error", MsgError, uint32(initproto.Error)},
		{"attr clone flags", AttrCloneFlags, initproto.AttrCloneFlags},
		{"attr ns path", AttrNsPath, initproto.AttrNsPath},
		{"attr time offsets", AttrTimeOffsets, initproto.AttrTimeOffsets},
		{"attr oom score adj", AttrOOMScoreAdj, initproto.AttrOOMScoreAdj},
		{"ready", MsgReady, uint32(initproto.Ready)},
		{"exec plan", MsgExecPlan, uint32(initproto.ExecPlanMsg)},
		{"attr exec plan", AttrExecPlan, initproto.AttrExecPlan},
		{"attr init mode", AttrInitMode, initproto.AttrInitMode},
		{"init mode", MsgInitMode, uint32(initproto.InitMode)},
		{"proc contexts", MsgProcContexts, uint32(initproto.ProcContexts)},
		{"plan keyring", PlanNumbers["keyring"], initproto.PlanKeyring},
		{"plan failure", PlanNumbers["failure"], initproto.PlanFailure},
		{"plan reopen null", PlanNumbers["reopen-null"], initproto.PlanReopenNull},
		{"plan path", PlanNumbers["path"], initproto.PlanPath},
		{"plan arg", PlanNumbers["arg"], initproto.PlanArg},
		{"plan env", PlanNumbers["env"], initproto.PlanEnv},
		{"plan cwd", PlanNumbers["cwd"], initproto.PlanCwd},
		{"plan ids", PlanNumbers["ids"], initproto.PlanIDs},
		{"plan group", PlanNumbers["group"], initproto.PlanGroup},
		{"plan caps", PlanNumbers["caps"], initproto.PlanCaps},
		{"plan rlimit", PlanNumbers["rlimit"], initproto.PlanRlimit},
		{"plan flags", PlanNumbers["flags"], initproto.PlanFlags},
		{"plan timer slack", PlanNumbers["timerslack"], initproto.PlanTimerSlack},
		{"plan preserve", PlanNumbers["preserve"], initproto.PlanPreserve},
		{"plan filter", PlanNumbers["filter"], initproto.PlanFilter},
		{"plan no_new_privs", PlanNumbers["no-new-privs"], initproto.PlanNoNewPrivs},
		{"plan keep admin", PlanNumbers["keep-admin"], initproto.PlanKeepAdmin},
	}
	for _, p := range pairs {
		if uint32(p.c) != p.g {
			t.Errorf("%s: C says %d, Go says %d", p.name, p.c, p.g)
		}
	}
}
