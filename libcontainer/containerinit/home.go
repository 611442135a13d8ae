package containerinit

import (
	"os"
	"slices"
	"strings"

	"github.com/nookrt/nook/libcontainer/kernel"
	"github.com/nookrt/nook/libcontainer/user"
)

// withHome returns env with HOME set, as runc does, when env has none or
// its last HOME is empty: Docker, containerd and CRI never pass one, and
// shells and many programs expect it. The value is the home directory of
// uid's entry in the container's /etc/passwd (the caller is inside the
// container's root, still privileged enough to read it), or "/" when
// there is no entry or no readable passwd. env itself is not changed.
func withHome(k kernel.Process, env []string, uid uint32) []string {
	last := -1
	for i, kv := range env {
		if strings.HasPrefix(kv, "HOME=") {
			last = i
		}
	}
	if last >= 0 && env[last] != "HOME=" {
		return env
	}
	// Earlier HOMEs go too: the last one counts, and getenv(3) would
	// find the first.
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "HOME=") })
	return append(out, "HOME="+homeOf(k, uid))
}

// homeOf is uid's home directory in the container's /etc/passwd, or "/".
func homeOf(k kernel.Process, uid uint32) string {
	f, err := k.OpenFile("/etc/passwd", os.O_RDONLY, 0)
	if err != nil {
		return "/"
	}
	defer f.Close()
	home, err := user.HomeByUID(f, uid)
	if err != nil || home == "" {
		return "/"
	}
	return home
}
