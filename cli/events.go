package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer"
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
			out := jsonEvents{id: id, enc: json.NewEncoder(os.Stdout)}
			if ctx.Bool("stats") {
				st, err := root(ctx).Stats(id)
				if err != nil {
					return err
				}
				return out.Stats(st)
			}
			// Stats every interval and OOM kills until the container
			// stops, then how it ended (what `state` shows of it).
			return root(ctx).Watch(ctx.Context, id, ctx.Duration("interval"), out)
		},
	}
}

// jsonEvents writes what Root.Watch sees as `nook events` lines.
type jsonEvents struct {
	id  string
	enc *json.Encoder
}

func (j jsonEvents) Stats(s *cgroups.Stats) error {
	return j.enc.Encode(event{Type: "stats", ID: j.id, Data: s})
}

func (j jsonEvents) OOM() error { return j.enc.Encode(event{Type: "oom", ID: j.id}) }

// Exit prints the exit event (its data left out when nothing is known of
// the exit).
func (j jsonEvents) Exit(x *libcontainer.ExitInfo) error {
	ev := event{Type: "exit", ID: j.id}
	if x != nil {
		ev.Data = x.Output()
	}
	return j.enc.Encode(ev)
}
