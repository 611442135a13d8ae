// Package rlimits turns the process.rlimits of an OCI config into resource
// limits and sets them on the container init before it execs the user
// process.
package rlimits

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// resources lists every Linux resource limit of getrlimit(2). The numbers
// come from x/sys/unix because a few differ between architectures (mips,
// sparc and alpha order RLIMIT_NOFILE, RLIMIT_AS and others differently).
var resources = [...]struct {
	name     string
	resource int
}{
	{"RLIMIT_AS", unix.RLIMIT_AS},
	{"RLIMIT_CORE", unix.RLIMIT_CORE},
	{"RLIMIT_CPU", unix.RLIMIT_CPU},
	{"RLIMIT_DATA", unix.RLIMIT_DATA},
	{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", unix.RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", unix.RLIMIT_NICE},
	{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE},
	{"RLIMIT_NPROC", unix.RLIMIT_NPROC},
	{"RLIMIT_RSS", unix.RLIMIT_RSS},
	{"RLIMIT_RTPRIO", unix.RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", unix.RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", unix.RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", unix.RLIMIT_STACK},
}

// Parse returns the resource number of the limit called name
// ("RLIMIT_NOFILE"), matched exactly as getrlimit(2) spells it.
func Parse(name string) (int, error) {
	for _, r := range resources {
		if r.name == name {
			return r.resource, nil
		}
	}
	return 0, fmt.Errorf("unknown rlimit %q", name)
}
