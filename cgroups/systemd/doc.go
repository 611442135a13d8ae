// Package systemd is nook's --systemd-cgroup driver: each container's
// cgroup is a transient systemd unit (a scope, or a slice when
// linux.cgroupsPath names one) started over D-Bus, as runc does.
//
// systemd sets the limits it has unit properties for (properties.go,
// deviceallow.go); the cgroupfs manager of package cgroups, loaded on the
// unit's own directories, applies everything (including what systemd
// cannot express) and serves freeze, stats, pids and OOM events. Unit
// naming follows runc's "slice:prefix:name" rules (unitname.go).
//
// New reaches systemd before anything is created and fails with one clear
// line when it cannot; Load reconnects only when an operation needs
// systemd, so pause, ps and events cost no D-Bus round trip.
package systemd
