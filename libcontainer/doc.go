// Package libcontainer is the parent side of a container: what nook's own
// commands do on the host. It creates a container (spawning the init through
// nsenter's C stage, mapping its user namespace, placing it in its cgroup,
// sending it its config), starts, signals, pauses, updates, execs into and
// deletes one, and reads its status from the kernel.
//
// The code that runs inside the container's init is package containerinit;
// what the two say to each other is package initproto, the only place their
// wire format is defined. Only the entry points (main and the hidden `nook
// init` command) call into the init side, and the init side never imports
// this package or the state store.
package libcontainer
