package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/libcontainer"
	"github.com/nookrt/nook/libcontainer/state"
)

// event is one line of `nook events`, in runc's shape: containerd and
// podman decode {"type","id","data"}.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

func eventsCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "events",
		Usage:     "print container statistics and OOM events as JSON lines",
		ArgsUsage: "<container-id>",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "stats", Usage: "print one stats event and exit"},
			&ucli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events"},
		},
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			if ctx.Duration("interval") <= 0 {
				return fmt.Errorf("--interval must be positive")
			}
			id := ctx.Args().First()
			st := store(ctx)
			enc := json.NewEncoder(os.Stdout)
			if ctx.Bool("stats") {
				return sampleStats(st, id, enc)
			}
			return streamEvents(ctx.Context, st, id, ctx.Duration("interval"), enc)
		},
	}
}

// sampleStats prints one stats event; each sample takes the lock briefly.
func sampleStats(st state.Store, id string, enc *json.Encoder) error {
	h, err := st.Lock(id, false)
	if err != nil {
		return err
	}
	defer h.Close()
	r, err := h.Load()
	if err != nil {
		return err
	}
	s, err := libcontainer.Stats(h, r)
	if err != nil {
		return err
	}
	return enc.Encode(event{Type: "stats", ID: id, Data: s})
}

// streamEvents prints a stats event every interval and an "oom" event for
// each OOM kill, until the container stops.
func streamEvents(parent context.Context, st state.Store, id string, interval time.Duration, enc *json.Encoder) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	h, err := st.Lock(id, false)
	if err != nil {
		return err
	}
	r, err := h.Load()
	if err != nil {
		h.Close()
		return err
	}
	ooms, err := libcontainer.OOMEvents(ctx, h, r)
	h.Close()
	if err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := sampleStats(st, id, enc); err != nil {
			if errors.Is(err, libcontainer.ErrNotRunning) {
				return nil // the container stopped: the stream ends
			}
			return err
		}
		select {
		case _, ok := <-ooms:
			if !ok {
				ooms = nil
				continue
			}
			if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
				return err
			}
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
}
