package cli

import (
	"encoding/json"
	"errors"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/state"
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
			out, err := readState(store(ctx), ctx.Args().First())
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			printJSONTo(os.Stdout, b)
			return nil
		},
	}
}

// readState reads one container's state. It does not wait behind a create in
// progress: that one is reported as "creating". Other commands hold the lock
// only briefly, so behind them it waits.
func readState(s state.Store, id string) (*stateOutput, error) {
	h, err := s.TryLockShared(id)
	if errors.Is(err, state.ErrBusy) {
		// Only a record that says "creating" is reported without the lock;
		// anything else (another command at work, a record not yet written or
		// being removed) is read once that command is done.
		if r, perr := s.Peek(id); perr == nil && r.Status == state.Creating {
			return toOutput(r), nil
		}
		h, err = s.Lock(id, false)
	}
	if err != nil {
		return nil, err
	}
	defer h.Close()
	r, err := h.Load()
	if err != nil {
		return nil, err
	}
	libcontainer.Refresh(h, r)
	return toOutput(r), nil
}

func toOutput(r *state.Record) *stateOutput {
	return &stateOutput{
		OCIVersion:  r.Version,
		ID:          r.ID,
		Pid:         r.Pid,
		Status:      string(r.Status),
		Bundle:      r.Bundle,
		Rootfs:      r.Rootfs,
		Created:     r.Created,
		Annotations: r.Annotations,
		Owner:       r.Owner,
	}
}
