// Package stateout is a container's state as `nook state` prints it and
// `nook list --format json` lists it: the OCI state plus runc's extra
// fields that engines read, and nook's own record of how a stopped
// container ended. It is a leaf so that what renders a state and what
// renders its summary for the C commands (libcontainer/summary.go,
// fastcmd/) agree byte for byte: both marshal this.
package stateout

import (
	"encoding/json"
	"time"
)

// Output is one container's state.
type Output struct {
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
	*Exit
}

// Exit is nook's addition to the state of a stopped container (runc has
// none): how its init ended, as its exit keeper recorded it.
type Exit struct {
	Exit      *ExitStatus `json:"exit,omitempty"`
	OOMKilled *bool       `json:"oomKilled,omitempty"`
	ExitedAt  time.Time   `json:"exitedAt"`
}

// ExitStatus is the init's exit code, or the signal that killed it.
type ExitStatus struct {
	Code       *int   `json:"code,omitempty"`
	Signal     string `json:"signal,omitempty"`
	CoreDumped bool   `json:"coreDumped,omitempty"`
}

// Marshal is o as `state` prints it (without the final newline).
func Marshal(o *Output) ([]byte, error) { return json.MarshalIndent(o, "", "  ") }
