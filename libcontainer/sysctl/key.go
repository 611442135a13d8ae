package sysctl

import (
	"fmt"
	"strings"
)

// key is one sysctl name in both of its spellings.
type key struct {
	// dotted is the canonical sysctl(8) spelling, "net.ipv4.conf.eth0/100.rp_filter":
	// dots separate levels and a dot inside a level (a VLAN interface name) is written '/'.
	dotted string
	// path is the same name below /proc/sys, "net/ipv4/conf/eth0.100/rp_filter".
	path string
}

// parseKey accepts a sysctl name written either way sysctl.d(5) allows: with '.' between
// levels, or — when the first separator is '/' — with '/' between levels (runc accepts the
// same, so configs written for it keep working). It refuses anything that is not a plain
// downward path below /proc/sys: empty levels, ".", "..", NUL, whitespace or control
// characters, none of which a real sysctl name (nor an interface name inside one) contains.
func parseKey(name string) (key, error) {
	if name == "" {
		return key{}, fmt.Errorf("empty sysctl name")
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f {
			return key{}, fmt.Errorf("sysctl name %q contains whitespace or a control character", name)
		}
	}
	k := key{dotted: name, path: swapSeparators(name)}
	if first := strings.IndexAny(name, "./"); first >= 0 && name[first] == '/' {
		k = key{dotted: swapSeparators(name), path: name}
	}
	for _, part := range strings.Split(k.path, "/") {
		switch part {
		case "":
			return key{}, fmt.Errorf("sysctl name %q has an empty level", name)
		case ".", "..":
			return key{}, fmt.Errorf("sysctl name %q has a %q level", name, part)
		}
	}
	return k, nil
}

// swapSeparators turns '.' into '/' and '/' into '.', which converts between the two
// spellings in either direction.
func swapSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, s)
}
