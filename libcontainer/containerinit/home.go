package containerinit

import (
	"os"

	"github.com/nookrt/nook/libcontainer/kernel"
	"github.com/nookrt/nook/libcontainer/user"
)

// withHome returns env with HOME set from uid's entry in the container's
// /etc/passwd when it needs one (user.WithHome). The caller is inside the
// container's root, still privileged enough to read it.
func withHome(k kernel.Process, env []string, uid uint32) []string {
	return user.WithHome(env, func() string { return homeOf(k, uid) })
}

// homeOf is uid's home directory in the container's /etc/passwd, or "/".
func homeOf(k kernel.Process, uid uint32) string {
	return user.HomeFrom(func() (*os.File, error) { return k.OpenFile("/etc/passwd", os.O_RDONLY, 0) }, uid)
}
