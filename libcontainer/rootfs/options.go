package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nookrt/nook/libcontainer/kernel"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountOptions is a parsed `mounts[].options` list.
type mountOptions struct {
	flags       uintptr // MS_* flags for mount(2)
	clear       uintptr // flags explicitly turned off ("rw", "suid", …)
	propagation []uintptr
	data        []string // filesystem-specific options, passed as data
	bind        bool
	recursive   bool // rbind
	// recAttr holds the recursive attributes ("rro", "rnosuid", …) applied
	// with mount_setattr(AT_RECURSIVE) to the whole mounted tree.
	recAttr unix.MountAttr
	// tmpcopyup copies the destination's existing contents into a tmpfs.
	tmpcopyup bool
	// idmap asks for an idmapped mount ("idmap", or "ridmap" for the tree).
	idmap, idmapRecursive bool
	// idmapFd is the user namespace to idmap with (0: none); set by
	// mountEntry from Config.IdmapFds, not by parsing.
	idmapFd int
	// userns: the bind is for a container in a user namespace, so the
	// source mount's flags a user namespace locks are kept (setBindAttr)
	// even where the clone is made outside of it. Set by the caller.
	userns bool
}

// recursiveAttrOptions are runc's "r"-prefixed options: mount attributes for
// every mount of a tree, which only mount_setattr(AT_RECURSIVE) can express.
var recursiveAttrOptions = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro":            {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":            {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {false, unix.MOUNT_ATTR_NODEV},
	"rdev":           {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow":   {false, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime":      {false, unix.MOUNT_ATTR_RELATIME},
	"rnorelatime":    {true, unix.MOUNT_ATTR_RELATIME},
	"rnoatime":       {false, unix.MOUNT_ATTR_NOATIME},
	"ratime":         {true, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime":   {false, unix.MOUNT_ATTR_STRICTATIME},
	"rnostrictatime": {true, unix.MOUNT_ATTR_STRICTATIME},
}

func isRecursiveAttr(o string) bool {
	_, ok := recursiveAttrOptions[o]
	return ok
}

// setRecursive records one recursive attribute option. The atime modes are
// one field in the kernel: setting one replaces the others.
func (m *mountOptions) setRecursive(o string) {
	r := recursiveAttrOptions[o]
	a := &m.recAttr
	const atimeModes = unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_STRICTATIME | unix.MOUNT_ATTR_RELATIME
	switch {
	case r.attr&atimeModes != 0 && !r.clear:
		a.Attr_set = a.Attr_set&^atimeModes | r.attr
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	case r.attr&atimeModes != 0:
		// Turning an atime mode off means the kernel default, relatime.
		a.Attr_set = a.Attr_set&^atimeModes | unix.MOUNT_ATTR_RELATIME
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	case r.clear:
		a.Attr_set &^= r.attr
		a.Attr_clr |= r.attr
	default:
		a.Attr_set |= r.attr
		a.Attr_clr &^= r.attr
	}
}

// flagOptions maps option names to the MS_* flag they set (clear=false) or
// turn off (clear=true).
var flagOptions = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"iversion":      {false, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"loud":          {true, unix.MS_SILENT},
	"mand":          {false, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"silent":        {false, unix.MS_SILENT},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseOptions splits mount options into flags, propagation and data. Options
// nook does not know are passed to the filesystem as data, where the kernel
// judges them (as runc does).
func parseOptions(opts []string) mountOptions {
	var m mountOptions
	for _, o := range opts {
		switch {
		case o == "bind":
			m.bind = true
		case o == "rbind":
			m.bind, m.recursive = true, true
		case propagationOptions[o] != 0:
			m.propagation = append(m.propagation, propagationOptions[o])
		case o == "tmpcopyup":
			m.tmpcopyup = true
		case o == "idmap":
			m.idmap = true
		case o == "ridmap":
			m.idmap, m.idmapRecursive = true, true
		case isRecursiveAttr(o):
			m.setRecursive(o)
		default:
			if f, ok := flagOptions[o]; ok {
				if f.clear {
					m.flags &^= f.flag
					m.clear |= f.flag
				} else {
					m.flags |= f.flag
					m.clear &^= f.flag
				}
				continue
			}
			m.data = append(m.data, o)
		}
	}
	return m
}

// The per-mount flags a bind of a mount inherited from another user
// namespace cannot change: the kernel locks (MNT_LOCK_*) those the source
// has when it copies mounts into a less privileged user namespace, and
// always locks the atime mode.
const (
	atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NODIRATIME
	lockFlags  = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | atimeFlags
)

// attrFlags pairs the per-mount MS_* flags with their mount_setattr bits
// (the atime mode, a field rather than bits, is handled apart).
var attrFlags = []struct {
	ms   uintptr
	attr uint64
}{
	{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
	{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
	{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
	{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
	{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
}

// mountAttr converts the flags to the mount_setattr attributes of a bind
// mount, with runc's rules (an MS_BIND|MS_REMOUNT with the config's flags):
// without any flag option the bind keeps the source mount's flags; with
// any (set or cleared), the mount gets exactly the flags asked for, so ro,
// nosuid, nodev, noexec and nosymfollow not asked for are cleared; the
// atime mode is kept unless an atime option (noatime, nodiratime,
// relatime, strictatime) is given, which sets it (strictatime over
// noatime over the default relatime, as the kernel ranks them). MS_* names
// mount_setattr cannot express are refused.
func (m mountOptions) mountAttr() (unix.MountAttr, error) {
	var a unix.MountAttr
	unsupported := m.flags &^ (unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NODIRATIME | unix.MS_NOSYMFOLLOW | unix.MS_NOATIME | unix.MS_STRICTATIME |
		unix.MS_RELATIME | unix.MS_SILENT)
	if unsupported != 0 {
		return a, fmt.Errorf("option flags %#x do not apply to a bind mount", unsupported)
	}
	if m.flags == 0 && m.clear == 0 {
		return a, nil
	}
	for _, f := range attrFlags {
		switch {
		case m.flags&f.ms != 0:
			a.Attr_set |= f.attr
		case f.ms != unix.MS_NODIRATIME:
			a.Attr_clr |= f.attr
		}
	}
	if m.flags&atimeFlags != 0 {
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		if m.flags&unix.MS_NODIRATIME == 0 {
			a.Attr_clr |= unix.MOUNT_ATTR_NODIRATIME
		}
		switch {
		case m.flags&unix.MS_STRICTATIME != 0:
			a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
		case m.flags&unix.MS_NOATIME != 0:
			a.Attr_set |= unix.MOUNT_ATTR_NOATIME
		default:
			a.Attr_set |= unix.MOUNT_ATTR_RELATIME
		}
	}
	return a, nil
}

// lockedMountAttr is mountAttr for a source whose flags (src, MS_*) are
// locked by a user namespace, as runc retries a refused bind remount: the
// source's ro, nosuid, nodev, noexec are kept rather than cleared; an
// option that explicitly clears one of them, or an atime option other than
// the source's atime mode, cannot be honoured and is an error naming it.
func (m mountOptions) lockedMountAttr(src uintptr) (unix.MountAttr, error) {
	a, err := m.mountAttr()
	if err != nil {
		return a, err
	}
	locked := src & lockFlags
	if c := locked & m.clear; c != 0 {
		return a, fmt.Errorf("cannot clear %s: set on the source mount and locked in the container's user namespace", flagNames(c))
	}
	if req := m.flags & atimeFlags; req != 0 && req != src&atimeFlags {
		return a, fmt.Errorf("cannot change the atime flags to %s: the source mount's atime flags (%s) are locked in the container's user namespace",
			flagNames(req), flagNames(src&atimeFlags))
	}
	for _, f := range attrFlags {
		if locked&f.ms != 0 && f.ms != unix.MS_NODIRATIME {
			a.Attr_set |= f.attr
			a.Attr_clr &^= f.attr
		}
	}
	return a, nil
}

// changesLocked says whether a, applied to a mount with flags src, would
// change a flag a user namespace locks: the kernel would refuse it there.
func changesLocked(a unix.MountAttr, src uintptr) bool {
	for _, f := range attrFlags {
		if src&lockFlags&f.ms != 0 && a.Attr_clr&f.attr != 0 && a.Attr_set&f.attr == 0 {
			return true
		}
	}
	if a.Attr_clr&unix.MOUNT_ATTR__ATIME == 0 {
		return false
	}
	return attrAtime(a) != src&atimeFlags
}

// attrAtime is the atime flags (MS_*) a sets, for a that sets the mode.
func attrAtime(a unix.MountAttr) uintptr {
	var f uintptr
	switch a.Attr_set & unix.MOUNT_ATTR__ATIME {
	case unix.MOUNT_ATTR_NOATIME:
		f = unix.MS_NOATIME
	case unix.MOUNT_ATTR_STRICTATIME:
		f = unix.MS_STRICTATIME
	default:
		f = unix.MS_RELATIME
	}
	if a.Attr_set&unix.MOUNT_ATTR_NODIRATIME != 0 {
		f |= unix.MS_NODIRATIME
	}
	return f
}

// setBindAttr sets opts' flags on tree, a detached clone of a bind mount's
// source, as runc's bind remount leaves them (mountAttr; the "r" options
// and the idmapping are not its job). ro/nosuid/… apply to the top mount
// only, as with mount(2). The source's flags that a user namespace locks
// are kept (lockedMountAttr): when the kernel refuses to clear them (the
// clone was made inside such a namespace), and when opts.userns says the
// mount is for a container in a user namespace although it was cloned
// outside of it, where the kernel would have locked them.
func setBindAttr(k kernel.Kernel, tree int, opts mountOptions) error {
	a, err := opts.mountAttr()
	if err != nil || a.Attr_set == 0 && a.Attr_clr == 0 {
		return err
	}
	src, err := mountFlags(k, tree)
	if err != nil {
		return err
	}
	if opts.userns && changesLocked(a, src) {
		if a, err = opts.lockedMountAttr(src); err != nil {
			return err
		}
	}
	err = k.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &a)
	if !errors.Is(err, unix.EPERM) || !changesLocked(a, src) {
		return err
	}
	if a, err = opts.lockedMountAttr(src); err != nil {
		return err
	}
	if err := k.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &a); err != nil {
		return fmt.Errorf("with the source's locked flags %s kept: %w", flagNames(src&lockFlags), err)
	}
	return nil
}

// mountFlags is the per-mount flags (MS_*) of the mount fd is on, from
// statfs(2) as runc reads them. No atime flag means strictatime.
func mountFlags(k kernel.Kernel, fd int) (uintptr, error) {
	var st unix.Statfs_t
	if err := k.Fstatfs(fd, &st); err != nil {
		return 0, fmt.Errorf("statfs bind source: %w", err)
	}
	var f uintptr
	for _, p := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if int64(st.Flags)&p.st != 0 {
			f |= p.ms
		}
	}
	if f&(unix.MS_NOATIME|unix.MS_RELATIME) == 0 {
		f |= unix.MS_STRICTATIME
	}
	return f, nil
}

// flagNames spells MS_* flags as mount options, for messages.
func flagNames(f uintptr) string {
	var names []string
	for _, p := range []struct {
		ms   uintptr
		name string
	}{
		{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"},
		{unix.MS_NOEXEC, "noexec"}, {unix.MS_NOATIME, "noatime"}, {unix.MS_RELATIME, "relatime"},
		{unix.MS_STRICTATIME, "strictatime"}, {unix.MS_NODIRATIME, "nodiratime"},
	} {
		if f&p.ms != 0 {
			names = append(names, p.name)
		}
	}
	return strings.Join(names, ",")
}

func (m mountOptions) dataString() string { return strings.Join(m.data, ",") }

// CheckMount refuses, before anything is created, options that cannot mean
// anything for this mount: data options on a bind mount (bind mounts take
// none, so an unknown word there is a typo), options that need another
// mount type, a mount over the root itself, and mounts on /proc
// (checkProcDestination; hostPID: the container has no pid namespace).
func CheckMount(i int, m specs.Mount, hostPID bool) error {
	opts := parseOptions(m.Options)
	bind := opts.bind || m.Type == "bind"
	field := fmt.Sprintf("mounts[%d].options", i)
	if m.Destination != "" && filepath.Clean("/"+m.Destination) == "/" {
		return fmt.Errorf("mounts[%d].destination %q: a mount over the container's root directory is not supported (root.path is the root)", i, m.Destination)
	}
	if bind {
		// The kernel ignores filesystem data on a bind, and configs carry
		// "mode=755"-style data there (runc accepts it): only a bare word
		// nook does not know is refused, since it can only be a typo.
		for _, d := range opts.data {
			if !strings.Contains(d, "=") {
				return fmt.Errorf("%s: unknown option %q for a bind mount of %s", field, d, m.Destination)
			}
		}
	}
	if err := checkProcDestination(m, filepath.Clean("/"+m.Destination), hostPID); err != nil {
		return fmt.Errorf("mounts[%d]: %w", i, err)
	}
	if opts.tmpcopyup && m.Type != "tmpfs" {
		return fmt.Errorf("%s: tmpcopyup needs a tmpfs mount, not %q", field, m.Type)
	}
	if IsIdmapped(m) {
		if !bind {
			return fmt.Errorf("%s: idmapped mounts (idmap, ridmap, uidMappings) are only supported for bind mounts", field)
		}
		if (len(m.UIDMappings) > 0) != (len(m.GIDMappings) > 0) {
			return fmt.Errorf("mounts[%d]: uidMappings and gidMappings must be given together", i)
		}
	}
	if bind {
		if _, err := opts.mountAttr(); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	}
	return nil
}

// IsIdmapped: the mount asks for an idmapped mount (the idmap/ridmap
// options, or mappings of its own, which imply idmap).
func IsIdmapped(m specs.Mount) bool {
	opts := parseOptions(m.Options)
	return opts.idmap || len(m.UIDMappings)+len(m.GIDMappings) > 0
}
