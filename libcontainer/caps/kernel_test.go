package caps

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// statusCaps reads the Cap* lines of a /proc/<...>/status file as Sets, keyed
// independently of this package's prctl and capget code paths.
func statusCaps(t *testing.T, path string) map[string]Set {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return parseStatusCaps(t, bufio.NewScanner(f))
}

func parseStatusCaps(t *testing.T, sc *bufio.Scanner) map[string]Set {
	t.Helper()
	out := map[string]Set{}
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(key, "Cap") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		out[key] = Set(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLastCap(t *testing.T) {
	last, err := LastCap()
	if err != nil {
		t.Fatal(err)
	}
	probed, err := probeLastCap()
	if err != nil {
		t.Fatal(err)
	}
	if last != probed {
		t.Errorf("cap_last_cap says %d, PR_CAPBSET_READ probing says %d", last, probed)
	}
	if last < 40 {
		t.Logf("kernel's last capability is %d; table goes to 40", last)
	}
}

func TestCurrentBoundingMatchesProc(t *testing.T) {
	got, err := CurrentBounding()
	if err != nil {
		t.Fatal(err)
	}
	want := statusCaps(t, "/proc/thread-self/status")["CapBnd"]
	if got != want {
		t.Errorf("CurrentBounding() = %#x, /proc says %#x", uint64(got), uint64(want))
	}
}

// TestDropUnavailable asks for every capability and checks that exactly the
// ones missing from the real bounding set of this process are dropped and
// reported. On machines where CAP_SYS_RESOURCE is not in the bounding set,
// that warning must be among them.
func TestDropUnavailable(t *testing.T) {
	bnd := statusCaps(t, "/proc/thread-self/status")["CapBnd"]
	var all Set
	for n := range Names() {
		all = all.With(n)
	}
	req := Sets{Bounding: all, Effective: all, Permitted: all, Inheritable: all, Ambient: all}
	got, warnings := req.DropUnavailable()

	kept := all & bnd
	if want := (Sets{Bounding: kept, Effective: kept, Permitted: kept, Inheritable: kept, Ambient: kept}); got != want {
		t.Errorf("sets = %+v, want %+v", got, want)
	}
	var want []string
	for _, c := range (all &^ bnd).Caps() {
		want = append(want, fmt.Sprintf("capability %s is not in the runtime's bounding set and cannot be granted; ignoring it", Name(c)))
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, want)
	}
	if !bnd.Has(24) {
		const w = "capability CAP_SYS_RESOURCE is not in the runtime's bounding set and cannot be granted; ignoring it"
		found := false
		for _, s := range warnings {
			found = found || s == w
		}
		if !found {
			t.Errorf("CAP_SYS_RESOURCE is missing from the bounding set but not reported; warnings: %q", warnings)
		}
		t.Logf("bounding set lacks CAP_SYS_RESOURCE; reported: %q", warnings)
	}
}
