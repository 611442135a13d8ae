// Package hooks runs the OCI lifecycle hooks (runtime-spec v1.3 config.md
// "POSIX-platform Hooks", runtime.md "Lifecycle"): each hook is executed with
// exactly its args and env, the container state as JSON on stdin, and its
// optional timeout enforced by killing its whole process group.
//
// The package only runs hooks and validates their configuration; *where* a
// kind runs (which process, which namespaces) is the caller's job, and the
// constants below say what the spec requires of each.
package hooks

import specs "github.com/opencontainers/runtime-spec/specs-go"

// The six hook kinds, in lifecycle order. "Runtime namespace" means the
// namespaces nook itself was started in; "container namespace" means the
// container's (its mount namespace at least).
const (
	// Prestart (deprecated by the spec, still run) is part of create: after
	// the container's namespaces and mounts exist, before pivot_root, and
	// before the createRuntime hooks. Path resolves in, and the hook runs in,
	// the runtime namespace. A failure fails create.
	Prestart = "prestart"

	// CreateRuntime is part of create, at the same moment as prestart and
	// right after it: after the namespaces and mounts are set up, before
	// pivot_root. Path resolves in, and the hook runs in, the runtime
	// namespace; in nook the parent (nook create) runs them while the init
	// waits. A failure fails create.
	CreateRuntime = "createRuntime"

	// CreateContainer is part of create, after the createRuntime hooks and
	// still before pivot_root. Path resolves in the runtime namespace, but the
	// hook runs in the container namespace: nook's init runs them from inside
	// the container's namespaces while the host filesystem is still reachable
	// (before pivot_root), which is how one path can satisfy both. A failure
	// fails create.
	CreateContainer = "createContainer"

	// StartContainer is part of start, just before the user process is
	// executed. Path resolves in, and the hook runs in, the container
	// namespace: nook's init runs them after pivot_root, so the path names a
	// file in the container's rootfs and cannot be checked at create. A
	// failure fails start.
	StartContainer = "startContainer"

	// Poststart is part of start, after the user process has been executed
	// and before start returns. Path resolves in, and the hook runs in, the
	// runtime namespace (nook start). A failure fails start.
	Poststart = "poststart"

	// Poststop is part of delete, after the container is destroyed and before
	// delete returns. Path resolves in, and the hook runs in, the runtime
	// namespace. A failure is only a warning: every poststop hook still runs
	// (see RunAll).
	Poststop = "poststop"
)

// Kinds returns the hook kinds in lifecycle order (a new slice each call).
func Kinds() []string {
	return []string{Prestart, CreateRuntime, CreateContainer, StartContainer, Poststart, Poststop}
}

// ResolvesInContainer reports whether a kind's path names a file in the
// container's rootfs rather than on the host; only startContainer does.
func ResolvesInContainer(kind string) bool {
	return kind == StartContainer
}

// Of returns the hooks of one kind, or nil for a nil *specs.Hooks or an
// unknown kind.
func Of(h *specs.Hooks, kind string) []specs.Hook {
	if h == nil {
		return nil
	}
	switch kind {
	case Prestart:
		return h.Prestart //nolint:staticcheck // deprecated by the spec, still run
	case CreateRuntime:
		return h.CreateRuntime
	case CreateContainer:
		return h.CreateContainer
	case StartContainer:
		return h.StartContainer
	case Poststart:
		return h.Poststart
	case Poststop:
		return h.Poststop
	}
	return nil
}
