package integration

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/tests/harness"
)

// planned is what `nook --debug exec` logs when stage 1 sets the process up
// in C from the parent's plan (nsenter/execplan.c).
const planned = "from an exec plan"

// errorMsg is the msg of nook's error line in a --debug stderr.
var errorMsg = regexp.MustCompile(`level=error msg="((?:[^"\\]|\\.)*)"`)

// A plain exec'd process is set up by stage 1 in C from the parent's plan;
// the same process with any field the plan does not carry (here an
// execCPUAffinity of every CPU, which changes nothing) is set up by the Go
// init. Both must give it the same arguments, environment (HOME from the
// container's passwd when it has none), ids and groups, cwd, umask,
// rlimits, fds, capabilities, no_new_privs and seccomp mode, and fail the
// same way.
func TestExecPlanMatchesTheGoInit(t *testing.T) {
	report := `echo "args: $0 $*"; echo "env: $(env | sort | tr '\n' ' ')"; id; pwd; umask; ulimit -n; ulimit -u;` +
		` ls /proc/self/fd | tr '\n' ' '; echo; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; exit 3`
	base := func() specs.Process {
		return specs.Process{Args: []string{"sh", "-c", report, "zero", "a b"}, Cwd: "/",
			Env: []string{"PATH=/usr/bin:/bin", "FOO=x y"}, NoNewPrivileges: true,
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}}
	}
	docker := withSeccomp(seccompProfile(t, "docker-default.json"))
	for _, tc := range []struct {
		name      string
		container []specMod
		change    func(*specs.Process)
		preserve  bool
		wantErr   string
	}{
		{name: "root, no HOME given", change: func(p *specs.Process) {}},
		{name: "a user, groups, ambient capabilities, umask, cwd", change: func(p *specs.Process) {
			u := uint32(0o027)
			p.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}, Umask: &u}
			p.Cwd = "/tmp"
			p.Capabilities.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
			p.Capabilities.Permitted = append(p.Capabilities.Permitted, "CAP_NET_BIND_SERVICE")
			p.Capabilities.Ambient = []string{"CAP_NET_BIND_SERVICE"}
			p.Env = append(p.Env, "HOME=/given")
		}},
		{name: "the container's seccomp filter", container: []specMod{docker}, change: func(p *specs.Process) {}},
		{name: "the filter without no_new_privs", container: []specMod{docker}, change: func(p *specs.Process) {
			p.NoNewPrivileges = false
		}},
		{name: "rlimits", change: func(p *specs.Process) {
			p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024}, {Type: "RLIMIT_NPROC", Soft: 77, Hard: 99}}
		}},
		{name: "a preserved fd", preserve: true, change: func(p *specs.Process) {}},
		{name: "a missing cwd", wantErr: "chdir to process.cwd /nowhere", change: func(p *specs.Process) { p.Cwd = "/nowhere" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id, _, _ := e.createStarted(append([]specMod{args("sleep", "1000")}, tc.container...)...)
			defer func() { e.ok(e.nook("delete", "--force", id)) }()
			var outs [2]result
			for i, inGo := range []bool{false, true} {
				p := base()
				tc.change(&p)
				if inGo {
					p.ExecCPUAffinity = &specs.CPUAffinity{Initial: fmt.Sprintf("0-%d", runtime.NumCPU()-1)}
				}
				a := []string{"--debug", "exec", "--process", e.writeProcess(p)}
				var extra []*os.File
				if tc.preserve {
					f, err := os.Open(os.DevNull)
					must(t, err)
					defer f.Close()
					extra = []*os.File{f}
					a = append(a, "--preserve-fds", "1")
				}
				outs[i] = e.NookOpts(harness.Opts{Extra: extra}, append(a, id)...)
				if got := strings.Contains(outs[i].Stderr, planned); got == inGo {
					t.Fatalf("set up from a plan: %v, want %v\n%s", got, !inGo, outs[i])
				}
			}
			plan, goInit := outs[0], outs[1]
			if tc.wantErr != "" {
				sameFailure(t, tc.wantErr, "the plan", plan, goInit)
				return
			}
			if plan.Code != 3 || goInit.Code != 3 || plan.Stdout != goInit.Stdout {
				t.Errorf("from the plan (exit %d):\n%s\nfrom the Go init (exit %d):\n%s", plan.Code, plan.Stdout, goInit.Code, goInit.Stdout)
			}
			if !strings.Contains(plan.Stdout, "args: zero a b") || !strings.Contains(plan.Stdout, "FOO=x y") {
				t.Errorf("the process's own output is missing:\n%s", plan.Stdout)
			}
		})
	}
}

// sameFailure checks that a and the Go init's run b failed alike: the same
// error line, holding want, and the same exit status.
func sameFailure(t *testing.T, want, aName string, a, b result) {
	t.Helper()
	am, bm := errorMsg.FindStringSubmatch(a.Stderr), errorMsg.FindStringSubmatch(b.Stderr)
	if am == nil || bm == nil || am[1] != bm[1] || !strings.Contains(am[1], want) {
		t.Errorf("errors differ or miss %q:\n%s: %s\nGo init: %s", want, aName, a, b)
	}
	if a.Code != b.Code {
		t.Errorf("exit %d from %s, %d from the Go init", a.Code, aName, b.Code)
	}
}
