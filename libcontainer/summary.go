package libcontainer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/hooks"
	"github.com/nookrt/nook/libcontainer/state"
	"github.com/nookrt/nook/libcontainer/stateout"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SummaryFile is what the C commands (fastcmd/fastcmd.c) read instead of
// state.json: `state`, `start`, `kill`, `delete` and `list` without
// starting the Go runtime. create writes it once, beside the record that
// says created, and nothing rewrites it: every field in it is fixed for the
// container's life (what changes, the status, the pid once stopped and how
// it ended, the C side derives from the kernel and exit.json exactly as
// Status and readExit do). A container without one (restored, or one the
// summary cannot describe) is served by the Go commands.
//
// The format is lines the C side parses strictly; anything else there makes
// it leave the command to Go:
//
//	nook-summary 1
//	pid <init pid>
//	start <init start time, field 22 of /proc/<pid>/stat>
//	start-plain <1: start need only open the barrier (a process, no poststart or startContainer hooks)>
//	kill-init <1: SIGKILL goes to the init alone (the container's own pid namespace)>
//	freezer none | freezer v1 <dir> | freezer v2 <dir>
//	delete-plain <1: delete of the stopped container is rmdir of its cgroup directories and of its state directory>
//	cgroup-dirs <n>
//	<n lines: the cgroup directories, in the order Destroy removes them>
//	head <n>
//	<n bytes: `state`'s output up to the pid's value>
//	tail <n>
//	<n bytes: from the line after the status to the owner's value, inclusive>
//	row <n>
//	<n bytes: `list`'s cells after pid and status: bundle, created, owner, tab-separated; n 0: none>
//
// `state` prints head, the pid, `,\n  "status": "<status>",\n  `, tail,
// the exit fields of a stopped container, and "\n}\n".
const SummaryFile = "summary"

// summaryMarker is what splits the rendered state into head and tail: the
// pid and status lines of a state rendered with pid 0 and "created". A
// newline inside a JSON string is escaped, so the first match is these
// lines.
const summaryMarker = "\n  \"pid\": 0,\n  \"status\": \"created\",\n  "

// renderSummary is r's summary, or false when it cannot have one: a record
// that is not created with a verifiable init, a long id (its directory is
// a digest, which the C side does not compute) or a freezer directory the
// line format cannot carry.
func renderSummary(r *state.Record) ([]byte, bool) {
	if r.Status != state.Created || r.Pid <= 0 || r.InitStartTime == 0 || len(r.ID) > state.MaxDirName {
		return nil, false
	}
	st := stateOf(r)
	st.Pid = 0
	out, err := stateout.Marshal(st.Output(false))
	if err != nil {
		return nil, false
	}
	i := bytes.Index(out, []byte(summaryMarker))
	if i < 0 || !bytes.HasSuffix(out, []byte("\n}")) {
		return nil, false
	}
	head := out[:i+len("\n  \"pid\": ")]
	tail := out[i+len(summaryMarker) : len(out)-len("\n}")]

	freezer := "none"
	if r.Cgroup != nil {
		dir, v1, err := cgroups.FreezerDir(*r.Cgroup)
		if err == nil {
			if strings.ContainsAny(dir, "\n\x00") || !filepath.IsAbs(dir) {
				return nil, false
			}
			version := "v2"
			if v1 {
				version = "v1"
			}
			freezer = version + " " + dir
		}
	}
	plainStart, killInit, plainDelete := false, false, false
	if r.Config != nil {
		v, err := r.Config.View()
		if err != nil {
			return nil, false
		}
		// startContainer hooks would delay the execve the C start waits
		// for (fastcmd.c, start_container) by as long as they run.
		plainStart = v.HasProcess && len(hooks.Of(v.Hooks, hooks.Poststart)) == 0 &&
			len(hooks.Of(v.Hooks, hooks.StartContainer)) == 0
		killInit = !ownsNoPidNS(r)
		// Delete's other steps: unmounting what a container without a
		// mount namespace left in the host's (unmountUnder), poststop hooks.
		plainDelete = v.HasNamespace(specs.MountNamespace) && len(hooks.Of(v.Hooks, hooks.Poststop)) == 0
	}
	var cgroupDirs []string
	if m, err := CgroupManager(r); err != nil {
		plainDelete = false
	} else if m != nil {
		dirs, ok := cgroups.DestroyDirs(m)
		plainDelete = plainDelete && ok
		for _, d := range dirs {
			if strings.ContainsAny(d, "\n\x00") || !filepath.IsAbs(d) {
				plainDelete = false
			}
		}
		if plainDelete {
			cgroupDirs = dirs
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "nook-summary 1\npid %d\nstart %d\nstart-plain %d\nkill-init %d\nfreezer %s\n",
		r.Pid, r.InitStartTime, boolDigit(plainStart), boolDigit(killInit), freezer)
	fmt.Fprintf(&b, "delete-plain %d\ncgroup-dirs %d\n", boolDigit(plainDelete), len(cgroupDirs))
	for _, d := range cgroupDirs {
		b.WriteString(d + "\n")
	}
	fmt.Fprintf(&b, "head %d\n%s\ntail %d\n%s\n", len(head), head, len(tail), tail)
	row := listRow(r)
	fmt.Fprintf(&b, "row %d\n%s\n", len(row), row)
	return b.Bytes(), true
}

// listRow is the container's cells of `list`'s table after the pid and the
// status, tab-separated (bundle, created, owner), or "" when one of them is
// not printable ASCII: the C list pads cells by their byte count, which is
// tabwriter's width only for those.
func listRow(r *state.Record) string {
	row := r.Bundle + "\t" + r.Created.Format(time.RFC3339Nano) + "\t" + r.Owner
	for _, cell := range []string{r.Bundle, r.Owner} {
		for i := 0; i < len(cell); i++ {
			if cell[i] < 0x20 || cell[i] > 0x7e {
				return ""
			}
		}
	}
	return row
}

func boolDigit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// prepareSummary writes r's summary beside the record, to be committed
// after it: a summary must never be in place while the record still says
// creating. nil when r can have none.
func prepareSummary(h *state.Handle, r *state.Record) (*state.PendingFile, error) {
	b, ok := renderSummary(r)
	if !ok {
		return nil, nil
	}
	return state.PrepareFile(filepath.Join(h.Dir, SummaryFile), b, 0o600)
}
