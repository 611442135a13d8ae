package stateout

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"
)

// Marshal writes what json.MarshalIndent writes, for every shape an Output
// takes and strings encoding/json escapes (HTML characters, U+2028, control
// characters, invalid UTF-8, quotes and backslashes).
func TestMarshalIsMarshalIndent(t *testing.T) {
	code, zero, yes, no := 137, 0, true, false
	at := time.Unix(1796647359, 815336151).UTC()
	odd := []string{"", "plain", "a<b>&c", "line\u2028sep\u2029", "ctl\x00\x01\x1f\x7f", "bad\xff\xfeutf8", `q"uo\te`, "tab\tnl\n", "ü日本"}
	outputs := []*Output{
		{OCIVersion: "1.0.2", ID: "c", Status: "created", Pid: 42, Created: at, Owner: "root"},
		{ID: "none", Created: time.Unix(0, 0).UTC()},
		{ID: "ann", Annotations: map[string]string{"z": "1", "a": "2", "m<": "&"}, Created: at},
		{ID: "empty-ann", Annotations: map[string]string{}, Created: at},
		{ID: "exit", Status: "stopped", Created: at, Exit: &Exit{Exit: &ExitStatus{Code: &code}, OOMKilled: &no, ExitedAt: at}},
		{ID: "code0", Created: at, Exit: &Exit{Exit: &ExitStatus{Code: &zero}, ExitedAt: at}},
		{ID: "sig", Created: at, Exit: &Exit{Exit: &ExitStatus{Signal: "SIGKILL", CoreDumped: true}, OOMKilled: &yes, ExitedAt: at}},
		{ID: "empty-exit", Created: at, Exit: &Exit{Exit: &ExitStatus{}, ExitedAt: at}},
		{ID: "no-status", Created: at, Exit: &Exit{ExitedAt: at.Add(time.Hour)}},
	}
	rng := rand.New(rand.NewSource(1))
	for i := range 200 {
		pick := func() string {
			if i%3 == 0 {
				b := make([]byte, rng.Intn(12))
				rng.Read(b)
				return string(b)
			}
			return odd[rng.Intn(len(odd))]
		}
		outputs = append(outputs, &Output{
			OCIVersion: pick(), ID: pick(), Pid: rng.Intn(1 << 22), Status: pick(), Bundle: pick(), Rootfs: pick(),
			Created: time.Unix(rng.Int63n(1<<33), rng.Int63n(1e9)).UTC(), Owner: pick(),
			Annotations: map[string]string{pick(): pick(), pick(): pick()},
		})
	}
	for _, o := range outputs {
		want, werr := json.MarshalIndent(o, "", "  ")
		got, gerr := Marshal(o)
		if string(got) != string(want) || (werr == nil) != (gerr == nil) {
			t.Fatalf("%+v:\nMarshal (%v)\n%s\nMarshalIndent (%v)\n%s", o, gerr, got, werr, want)
		}
	}
	// A time encoding/json refuses is refused here too.
	if _, err := Marshal(&Output{Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a year past 9999: no error")
	}
}
