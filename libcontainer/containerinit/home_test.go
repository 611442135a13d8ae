package containerinit

import (
	"slices"
	"testing"

	"github.com/nookrt/nook/libcontainer/kernel"
)

func TestWithHomeKeepsAGivenHome(t *testing.T) {
	for _, env := range [][]string{
		{"PATH=/bin", "HOME=/srv"},
		{"HOME=", "HOME=/srv"}, // the last one counts, as in runc
	} {
		if got := withHome(kernel.Real{}, env, 0); !slices.Equal(got, env) {
			t.Errorf("withHome(%q) = %q, want it unchanged", env, got)
		}
	}
}

func TestWithHomeFillsAMissingOrEmptyHome(t *testing.T) {
	// The test's own /etc/passwd stands in for the container's; a uid no
	// system has gets "/".
	const noSuchUID = 3999999999
	for _, env := range [][]string{
		{"PATH=/bin"},
		{"PATH=/bin", "HOME="},
		{"HOME=/srv", "PATH=/bin", "HOME="},
		nil,
	} {
		got := withHome(kernel.Real{}, env, noSuchUID)
		n := 0
		for _, kv := range got {
			if len(kv) >= 5 && kv[:5] == "HOME=" {
				n++
			}
		}
		if n != 1 || got[len(got)-1] != "HOME=/" {
			t.Errorf("withHome(%q) = %q, want one HOME=/ at the end", env, got)
		}
	}
	env := []string{"PATH=/bin", "HOME="}
	withHome(kernel.Real{}, env, noSuchUID)
	if env[1] != "HOME=" {
		t.Errorf("withHome changed its argument: %q", env)
	}
}
