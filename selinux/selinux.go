// Package selinux applies process.selinuxLabel and linux.mountLabel through
// github.com/opencontainers/selinux. Every entry point is a no-op when SELinux is disabled on
// the host, and none of them asks the kernel whether it is enabled unless a label is set, so
// the common unlabeled container pays nothing for this package.
package selinux

import (
	"fmt"
	"strconv"

	goselinux "github.com/opencontainers/selinux/go-selinux"
)

// kernel is the part of SELinux this package drives; hostKernel is the real one and the
// tests substitute a recording fake, so the enabled paths are covered on hosts without SELinux.
type kernel interface {
	enabled() bool
	setExecLabel(label string) error
	setKeyLabel(label string) error
}

type hostKernel struct{}

func (hostKernel) enabled() bool                   { return goselinux.GetEnabled() }
func (hostKernel) setExecLabel(label string) error { return goselinux.SetExecLabel(label) }
func (hostKernel) setKeyLabel(label string) error  { return goselinux.SetKeyLabel(label) }

// Enabled reports whether SELinux is enabled on this host. go-selinux computes it once per
// process (it looks for a mounted selinuxfs).
func Enabled() bool {
	return hostKernel{}.enabled()
}

// ValidateProcessLabel is runc's create-time rule: a process.selinuxLabel on a host without
// SELinux is a configuration error rather than something to drop silently. A caller that
// prefers runc's init-time leniency can skip it and rely on SetExecLabel's no-op.
func ValidateProcessLabel(label string) error {
	return validateProcessLabel(hostKernel{}, label)
}

func validateProcessLabel(k kernel, label string) error {
	if label != "" && !k.enabled() {
		return fmt.Errorf("process.selinuxLabel %q is set, but SELinux is disabled or not supported on this host", label)
	}
	return nil
}

// SetExecLabel makes label (process.selinuxLabel) the SELinux context of the next execve on
// the calling thread, which must stay locked until then. An empty label does nothing; when
// SELinux is disabled the label is skipped with a debug line (debugf may be nil).
func SetExecLabel(label string, debugf func(format string, args ...any)) error {
	return setExecLabel(hostKernel{}, label, debugf)
}

func setExecLabel(k kernel, label string, debugf func(string, ...any)) error {
	if label == "" {
		return nil
	}
	if !k.enabled() {
		if debugf != nil {
			debugf("SELinux is disabled on this host; not applying process.selinuxLabel %q", label)
		}
		return nil
	}
	if err := k.setExecLabel(label); err != nil {
		return fmt.Errorf("process.selinuxLabel %q: set exec label: %w", label, err)
	}
	return nil
}

// SetKeyLabel sets the label given to kernel keyrings the process creates next (the session
// keyring the init joins), and "" resets it. Only the thread-group leader may call it. It is
// a no-op when SELinux is disabled; callers should skip both calls when
// process.selinuxLabel is empty.
func SetKeyLabel(label string) error {
	return setKeyLabel(hostKernel{}, label)
}

func setKeyLabel(k kernel, label string) error {
	if !k.enabled() {
		return nil
	}
	if err := k.setKeyLabel(label); err != nil {
		if label == "" {
			return fmt.Errorf("reset keyring label: %w", err)
		}
		return fmt.Errorf("process.selinuxLabel %q: set keyring label: %w", label, err)
	}
	return nil
}

// FormatMountLabel returns mount data with linux.mountLabel appended as a context= option
// when SELinux is enabled and mountLabel is set; otherwise data unchanged. The label is
// quoted because MLS labels contain commas ("s0:c1,c2"), which would split the option list.
func FormatMountLabel(data, mountLabel string) string {
	return formatMountLabel(hostKernel{}, data, mountLabel)
}

func formatMountLabel(k kernel, data, mountLabel string) string {
	if mountLabel == "" || !k.enabled() {
		return data
	}
	opt := "context=" + strconv.Quote(mountLabel)
	if data == "" {
		return opt
	}
	return data + "," + opt
}
