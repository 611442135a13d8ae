package rootfs

import (
	"fmt"
	"path/filepath"
	"strings"

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

// mountAttr converts the flags to mount_setattr attributes for fd-based bind
// mounts. MS_* names that mount_setattr cannot express are refused.
func (m mountOptions) mountAttr() (unix.MountAttr, error) {
	var a unix.MountAttr
	pairs := []struct {
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
	for _, p := range pairs {
		if m.flags&p.ms != 0 {
			a.Attr_set |= p.attr
		}
		if m.clear&p.ms != 0 {
			a.Attr_clr |= p.attr
		}
	}
	switch {
	case m.flags&unix.MS_NOATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_NOATIME
	case m.flags&unix.MS_STRICTATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
	case m.flags&unix.MS_RELATIME != 0:
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
		a.Attr_set |= unix.MOUNT_ATTR_RELATIME
	}
	unsupported := m.flags &^ (unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NODIRATIME | unix.MS_NOSYMFOLLOW | unix.MS_NOATIME | unix.MS_STRICTATIME |
		unix.MS_RELATIME | unix.MS_SILENT)
	if unsupported != 0 {
		return a, fmt.Errorf("option flags %#x do not apply to a bind mount", unsupported)
	}
	return a, nil
}

func (m mountOptions) dataString() string { return strings.Join(m.data, ",") }

// CheckMount refuses, before anything is created, options that cannot mean
// anything for this mount: data options on a bind mount (bind mounts take
// none, so an unknown word there is a typo), and options that need another
// mount type.
func CheckMount(i int, m specs.Mount) error {
	opts := parseOptions(m.Options)
	bind := opts.bind || m.Type == "bind"
	field := fmt.Sprintf("mounts[%d].options", i)
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
	if err := checkProcDestination(m, filepath.Clean(m.Destination)); err != nil {
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
