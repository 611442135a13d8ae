//go:build !goexperiment.jsonv2

package state

import (
	"bytes"
	"encoding/json"
)

// peekDecoder decodes records by reflection where encoding/json/jsontext
// is missing (a build without GOEXPERIMENT=jsonv2).
type peekDecoder struct{}

// decode fills r from the record in in and returns its cgroup as JSON.
func (peekDecoder) decode(in *bytes.Buffer, r *Record) ([]byte, error) {
	peek := peekedRecord{Record: r}
	if err := json.Unmarshal(in.Bytes(), &peek); err != nil {
		return nil, err
	}
	return peek.Cgroup, nil
}

// peekedRecord decodes a Record as Peek returns it: encoding/json fills
// the field at the shallower depth, so "config" and "namespaces" land in
// skipped, which keeps nothing, and "cgroup" is kept as it is.
type peekedRecord struct {
	*Record
	Config     skipped         `json:"config,omitempty"`
	Namespaces skipped         `json:"namespaces,omitempty"`
	Cgroup     json.RawMessage `json:"cgroup,omitempty"`
}

type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }
