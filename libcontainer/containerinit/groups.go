package containerinit

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/libcontainer/kernel"
)

// usableGroups is what the init passes to setgroups(2) for u: none in a
// user namespace that denies it (gids mapped by an unprivileged nook
// itself), where runc skips them too. Explicit additionalGids were refused
// by create (validateRootless); what is dropped here comes from the
// container's /etc/group for process.user.username, and a warning names it.
func (i *initRun) usableGroups(u specs.User) []uint32 {
	if len(u.AdditionalGids) == 0 || !setgroupsDenied(i.k()) {
		return u.AdditionalGids
	}
	var dropped []uint32
	for _, g := range u.AdditionalGids {
		if g != u.GID {
			dropped = append(dropped, g)
		}
	}
	if len(dropped) > 0 {
		i.warn(fmt.Sprintf("process.user: supplementary groups %v not set: setgroups(2) is denied in the container's user namespace (nook mapped its gids without newgidmap)", dropped))
	}
	return nil
}

// setgroupsDenied reads the user namespace's setgroups switch.
func setgroupsDenied(k kernel.Process) bool {
	b, err := k.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}
