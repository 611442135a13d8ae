// Package stateout is a container's state as `nook state` prints it and
// `nook list --format json` lists it: the OCI state plus runc's extra
// fields that engines read, and nook's own record of how a stopped
// container ended. It is a leaf so that what renders a state and what
// renders its summary for the C commands (libcontainer/summary.go,
// fastcmd/) agree byte for byte: both marshal this.
package stateout

import (
	"encoding/json"
	"sort"
	"strconv"
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

// Marshal is o as `state` prints it (without the final newline): exactly
// what json.MarshalIndent(o, "", "  ") writes (TestMarshalIsMarshalIndent),
// assembled field by field with encoding/json quoting each string. create
// renders one for the container's summary, and a reflection encoder for
// Output costs a fresh process ~0.3–0.5 ms to build; quoting a string, after
// the record's own encoding, costs microseconds.
func Marshal(o *Output) ([]byte, error) {
	w := writer{b: []byte("{"), first: true}
	w.str(1, "ociVersion", o.OCIVersion)
	w.str(1, "id", o.ID)
	w.raw(1, "pid", strconv.AppendInt(nil, int64(o.Pid), 10))
	w.str(1, "status", o.Status)
	w.str(1, "bundle", o.Bundle)
	w.str(1, "rootfs", o.Rootfs)
	w.time(1, "created", o.Created)
	if len(o.Annotations) > 0 {
		keys := make([]string, 0, len(o.Annotations))
		for k := range o.Annotations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.open(1, "annotations")
		for _, k := range keys {
			w.str(2, k, o.Annotations[k])
		}
		w.close(1)
	}
	w.str(1, "owner", o.Owner)
	if x := o.Exit; x != nil {
		if s := x.Exit; s != nil {
			w.open(1, "exit")
			if s.Code != nil {
				w.raw(2, "code", strconv.AppendInt(nil, int64(*s.Code), 10))
			}
			if s.Signal != "" {
				w.str(2, "signal", s.Signal)
			}
			if s.CoreDumped {
				w.raw(2, "coreDumped", []byte("true"))
			}
			w.close(1)
		}
		if x.OOMKilled != nil {
			w.raw(1, "oomKilled", strconv.AppendBool(nil, *x.OOMKilled))
		}
		w.time(1, "exitedAt", x.ExitedAt)
	}
	w.close(0)
	return w.b, w.err
}

// writer appends the members of indented JSON objects.
type writer struct {
	b     []byte
	first bool // the next member is its object's first
	err   error
}

// member starts member key at depth (its object's depth + 1).
func (w *writer) member(depth int, key string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = append(w.b, '\n')
	for range depth {
		w.b = append(w.b, "  "...)
	}
	w.quote(key)
	w.b = append(w.b, ": "...)
}

func (w *writer) quote(s string) {
	q, err := json.Marshal(s)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.b = append(w.b, q...)
}

func (w *writer) str(depth int, key, value string) {
	w.member(depth, key)
	w.quote(value)
}

func (w *writer) raw(depth int, key string, value []byte) {
	w.member(depth, key)
	w.b = append(w.b, value...)
}

func (w *writer) time(depth int, key string, t time.Time) {
	v, err := t.MarshalJSON()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.raw(depth, key, v)
}

// open starts an object as member key; close ends the object at depth
// (an empty one as "{}", as MarshalIndent writes it).
func (w *writer) open(depth int, key string) {
	w.member(depth, key)
	w.b = append(w.b, '{')
	w.first = true
}

func (w *writer) close(depth int) {
	if w.first {
		w.b = append(w.b, '}')
		w.first = false
		return
	}
	w.b = append(w.b, '\n')
	for range depth {
		w.b = append(w.b, "  "...)
	}
	w.b = append(w.b, '}')
}
