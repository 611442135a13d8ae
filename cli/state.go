package cli

import (
	"encoding/json"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
)

// stateOutput is what `state` prints and `list --format json` lists: the OCI
// state plus runc's extra fields that engines read.
type stateOutput struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
	// How a stopped container ended, when that is known (`state` only).
	*exitFields
}

// exitFields are nook's own additions to the state of a stopped container
// (runc has none): how its init ended, as its exit keeper recorded it.
type exitFields struct {
	Exit      *exitStatus `json:"exit,omitempty"`
	OOMKilled *bool       `json:"oomKilled,omitempty"`
	ExitedAt  time.Time   `json:"exitedAt"`
}

// exitStatus is the init's exit code, or the signal that killed it.
type exitStatus struct {
	Code       *int   `json:"code,omitempty"`
	Signal     string `json:"signal,omitempty"`
	CoreDumped bool   `json:"coreDumped,omitempty"`
}

// toExitFields is nil for nil (nothing known).
func toExitFields(x *libcontainer.ExitInfo) *exitFields {
	if x == nil {
		return nil
	}
	f := &exitFields{OOMKilled: x.OOMKilled, ExitedAt: x.ExitedAt}
	if x.Code != nil || x.Signal != "" {
		f.Exit = &exitStatus{Code: x.Code, Signal: x.Signal, CoreDumped: x.CoreDumped}
	}
	return f
}

func stateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "state",
		Usage:     "print the state of a container as JSON",
		ArgsUsage: "<container-id>",
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			st, err := root(ctx).State(ctx.Args().First())
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(toOutput(st, true), "", "  ")
			if err != nil {
				return err
			}
			printJSONTo(os.Stdout, b)
			return nil
		},
	}
}

// toOutput is st as `state` prints it; withExit adds how a stopped
// container ended (`list` leaves it out, as runc's list has nothing like it).
func toOutput(st *libcontainer.State, withExit bool) *stateOutput {
	out := &stateOutput{
		OCIVersion:  st.Version,
		ID:          st.ID,
		Pid:         st.Pid,
		Status:      string(st.Status),
		Bundle:      st.Bundle,
		Rootfs:      st.Rootfs,
		Created:     st.Created,
		Annotations: st.Annotations,
		Owner:       st.Owner,
	}
	if withExit {
		out.exitFields = toExitFields(st.Exit)
	}
	return out
}
