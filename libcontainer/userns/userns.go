// Package userns answers one question both nook's commands and a
// container's init ask: is this process in a user namespace other than the
// host's?
package userns

import (
	"os"
	"strings"
)

// RunningInUserNS: this process's user namespace is not the initial one,
// whose uid_map is the identity over all 2^32-1 ids (nook run by rootless
// podman is root in podman's namespace). Capabilities then count only
// inside it: no mknod, no raising hard rlimits.
func RunningInUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}
