package systemd

import (
	"errors"
	"fmt"
	"strings"
)

const (
	sliceSuffix = ".slice"
	scopeSuffix = ".scope"
	// rootSlice is systemd's name for the top of its tree; runc spells it
	// "-" in the slice part of linux.cgroupsPath.
	rootSlice = "-.slice"
	// maxUnitName is systemd's UNIT_NAME_MAX less the terminating NUL.
	maxUnitName = 255
	// defaultPrefix names the scopes nook creates when linux.cgroupsPath is
	// empty ("system.slice:nook:<id>").
	defaultPrefix = "nook"
)

// Unit is the transient systemd unit a container lives in.
type Unit struct {
	// Name is the unit name: "<prefix>-<name>.scope", or "<name>" when the
	// name itself ends in ".slice".
	Name string
	// Parent is the slice that contains the unit ("system.slice",
	// "-.slice" for the root slice).
	Parent string
	// Path is the unit's cgroup relative to the root of systemd's tree,
	// e.g. "/system.slice/nook-abc.scope" or "/a.slice/a-b.slice".
	Path string
}

// IsSlice reports whether the unit is a slice rather than a scope.
func (u Unit) IsSlice() bool { return strings.HasSuffix(u.Name, sliceSuffix) }

// ParseCgroupsPath turns linux.cgroupsPath in runc's "slice:prefix:name"
// form into the unit nook asks systemd for. An empty cgroupsPath stands for
// "<default slice>:nook:<id>"; an empty slice part means the default slice,
// which is system.slice for the system manager and user.slice for a user
// manager (rootless), as in runc. A slice part of "-" is the root slice.
func ParseCgroupsPath(cgroupsPath, id string, userManager bool) (Unit, error) {
	defaultSlice := "system.slice"
	if userManager {
		defaultSlice = "user.slice"
	}
	if cgroupsPath == "" {
		// The id may hold '+', which unit names cannot: escape it the
		// way systemd-escape would rather than fail on a valid id.
		if id == "" {
			return Unit{}, errors.New("linux.cgroupsPath: empty, and no container id to derive a unit name from")
		}
		u, err := scopeUnit(defaultSlice, defaultPrefix, escapeUnitChars(id))
		if err != nil {
			return Unit{}, fmt.Errorf("linux.cgroupsPath: default %q: %w", defaultSlice+":"+defaultPrefix+":"+id, err)
		}
		return u, nil
	}

	parts := strings.Split(cgroupsPath, ":")
	if len(parts) != 3 {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: the systemd cgroup driver expects \"slice:prefix:name\" (three parts separated by ':'), got %d part(s)", cgroupsPath, len(parts))
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "-" {
		slice = rootSlice
	}

	var (
		u   Unit
		err error
	)
	if strings.HasSuffix(name, sliceSuffix) {
		// The prefix is ignored for slices, as runc documents.
		u, err = sliceUnit(slice, name)
	} else {
		if slice == "" {
			slice = defaultSlice
		}
		u, err = scopeUnit(slice, prefix, name)
	}
	if err != nil {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
	}
	return u, nil
}

// scopeUnit names the scope "<prefix>-<name>.scope" inside slice. An empty
// prefix gives "-<name>.scope", exactly as runc does, so engines that look
// the unit up by runc's rule find it.
func scopeUnit(slice, prefix, name string) (Unit, error) {
	if name == "" {
		return Unit{}, errors.New("the name part is empty")
	}
	unit := prefix + "-" + name + scopeSuffix
	if err := checkUnitName(unit); err != nil {
		return Unit{}, err
	}
	parentPath, err := ExpandSlice(slice)
	if err != nil {
		return Unit{}, err
	}
	return Unit{Name: unit, Parent: slice, Path: joinCgroup(parentPath, unit)}, nil
}

// sliceUnit makes the container's unit a slice. systemd derives a slice's
// place from its name alone (a-b.slice always lives in a.slice), so a slice
// part that names a different parent would be silently ignored by systemd;
// it is refused instead. An empty slice part means the implied parent.
func sliceUnit(slice, name string) (Unit, error) {
	path, err := ExpandSlice(name)
	if err != nil {
		return Unit{}, err
	}
	if path == "/" {
		return Unit{}, errors.New("the name part cannot be the root slice")
	}
	implied := impliedParent(name)
	if slice != "" && slice != implied {
		if _, err := ExpandSlice(slice); err != nil {
			return Unit{}, err
		}
		return Unit{}, fmt.Errorf("slice %q is not the parent of %q: systemd places %q in %q, as its name says", slice, name, name, implied)
	}
	return Unit{Name: name, Parent: implied, Path: path}, nil
}

// impliedParent is the slice systemd puts a slice into: "a-b-c.slice" →
// "a-b.slice", "a.slice" → "-.slice". name must have passed ExpandSlice.
func impliedParent(name string) string {
	base := strings.TrimSuffix(name, sliceSuffix)
	i := strings.LastIndexByte(base, '-')
	if i < 0 {
		return rootSlice
	}
	return base[:i] + sliceSuffix
}

// ExpandSlice returns the cgroup path systemd gives a slice: every
// dash-separated prefix of the name is a slice of its own, so
// "a-b-c.slice" is "/a.slice/a-b.slice/a-b-c.slice". "-.slice" is the root
// ("/"). Names that systemd would refuse (no ".slice" suffix, a '/', an
// empty component as in "a--b.slice", "-a.slice" or "a-.slice", characters
// outside systemd's set) are refused.
func ExpandSlice(slice string) (string, error) {
	if slice == rootSlice {
		return "/", nil
	}
	base, ok := strings.CutSuffix(slice, sliceSuffix)
	if !ok || base == "" {
		return "", fmt.Errorf("slice %q: a slice name must end in %q, e.g. system.slice", slice, sliceSuffix)
	}
	if err := checkUnitName(slice); err != nil {
		return "", fmt.Errorf("slice %q: %w", slice, err)
	}
	var b strings.Builder
	end := 0
	for end <= len(base) {
		next := strings.IndexByte(base[end:], '-')
		if next < 0 {
			next = len(base)
		} else {
			next += end
		}
		if next == end {
			return "", fmt.Errorf("slice %q: empty component (a leading, trailing or doubled '-')", slice)
		}
		b.WriteByte('/')
		b.WriteString(base[:next])
		b.WriteString(sliceSuffix)
		end = next + 1
	}
	return b.String(), nil
}

// checkUnitName refuses names systemd would refuse: too long, or with a
// character outside [A-Za-z0-9:_.\-\\]. '@' (templates) is refused too, as a
// container unit cannot be a template instance.
func checkUnitName(name string) error {
	if len(name) > maxUnitName {
		return fmt.Errorf("unit name %q is %d characters long; systemd allows at most %d", name, len(name), maxUnitName)
	}
	for i := 0; i < len(name); i++ {
		if !validUnitChar(name[i]) {
			return fmt.Errorf("unit name %q: character %q is not allowed in systemd unit names", name, name[i])
		}
	}
	return nil
}

func validUnitChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c == ':' || c == '-' || c == '_' || c == '.' || c == '\\'
}

// escapeUnitChars replaces each byte a unit name cannot hold with systemd's
// "\xNN" escape (what systemd-escape does), so "a+b" becomes `a\x2bb`.
func escapeUnitChars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if validUnitChar(c) && c != '\\' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	return b.String()
}

func joinCgroup(parent, unit string) string {
	if parent == "/" {
		return "/" + unit
	}
	return parent + "/" + unit
}
