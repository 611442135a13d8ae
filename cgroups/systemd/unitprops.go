package systemd

import (
	"fmt"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

// unitProperties are the properties of the transient unit itself, sent once
// with StartTransientUnit:
//   - Description, so `systemctl status` says whose unit it is;
//   - Slice= for a scope, Wants= for a slice (whose parent systemd takes
//     from its name), as runc does;
//   - PIDs=[pid] for a scope (a slice holds no processes itself: the
//     cgroupfs manager moves pid into a slice unit's cgroup);
//   - Delegate=yes for a scope, so systemd leaves the cgroup's inside to
//     the container and nook;
//   - accounting on for every controller, so systemd creates the cgroup in
//     each v1 hierarchy it manages and never turns a controller off;
//   - DefaultDependencies=no, so the unit is not ordered against shutdown
//     targets and not stopped before the engine that owns it.
func unitProperties(u Unit, id string, pid int, unified bool) ([]sddbus.Property, error) {
	props := []sddbus.Property{sddbus.PropDescription("nook container " + id)}
	if u.IsSlice() {
		props = append(props, sddbus.PropWants(u.Parent))
	} else {
		if pid <= 0 {
			return nil, fmt.Errorf("systemd scope %s: pid %d cannot be placed in it", u.Name, pid)
		}
		props = append(props,
			sddbus.PropSlice(u.Parent),
			newProp("PIDs", []uint32{uint32(pid)}),
			newProp("Delegate", true),
		)
	}
	io := "BlockIOAccounting"
	if unified {
		io = "IOAccounting"
	}
	props = append(props,
		newProp("MemoryAccounting", true),
		newProp("CPUAccounting", true),
		newProp(io, true),
		newProp("TasksAccounting", true),
		newProp("DefaultDependencies", false),
	)
	return props, nil
}
