package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkLinux validates linux.namespaces and the fields that only make sense
// with a particular namespace present.
func checkLinux(s *specs.Spec) error {
	var l specs.Linux
	if s.Linux != nil {
		l = *s.Linux
	}
	have, err := checkNamespaces(l.Namespaces)
	if err != nil {
		return err
	}
	// Writing uid_map/gid_map is only possible for a user namespace nook
	// creates or joins; without one the mappings would be silently ignored.
	if len(l.UIDMappings) > 0 && !have[specs.UserNamespace] {
		return errors.New("linux.uidMappings: requires a user namespace in linux.namespaces")
	}
	if len(l.GIDMappings) > 0 && !have[specs.UserNamespace] {
		return errors.New("linux.gidMappings: requires a user namespace in linux.namespaces")
	}
	if err := checkIDMappings("linux.uidMappings", l.UIDMappings); err != nil {
		return err
	}
	if err := checkIDMappings("linux.gidMappings", l.GIDMappings); err != nil {
		return err
	}
	if err := checkTimeOffsets(&l); err != nil {
		return err
	}
	if err := checkDevices(l.Devices); err != nil {
		return err
	}
	// Setting these without a UTS namespace would rename the host.
	if s.Hostname != "" && !have[specs.UTSNamespace] {
		return errors.New("hostname: unable to set hostname without a private UTS namespace")
	}
	if s.Domainname != "" && !have[specs.UTSNamespace] {
		return errors.New("domainname: unable to set domainname without a private UTS namespace")
	}
	return nil
}

// checkNamespaces returns the set of namespace types listed (created or
// joined by path).
func checkNamespaces(nss []specs.LinuxNamespace) (map[specs.LinuxNamespaceType]bool, error) {
	have := make(map[specs.LinuxNamespaceType]bool, len(nss))
	for i, ns := range nss {
		if ns.Type == "" {
			return nil, fmt.Errorf("linux.namespaces[%d].type: required", i)
		}
		if !contains(namespaceTypes, string(ns.Type)) {
			return nil, fmt.Errorf("linux.namespaces[%d].type %q: unknown namespace type (want one of %s)",
				i, ns.Type, strings.Join(namespaceTypes, ", "))
		}
		if have[ns.Type] {
			return nil, fmt.Errorf("linux.namespaces[%d].type %q: duplicate namespace", i, ns.Type)
		}
		have[ns.Type] = true
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return nil, fmt.Errorf("linux.namespaces[%d].path %q: must be an absolute path", i, ns.Path)
		}
	}
	return have, nil
}
