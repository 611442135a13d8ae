package sysctl

import (
	"strings"
	"testing"
)

func TestParseKeyBothSpellings(t *testing.T) {
	tests := []struct {
		name, dotted, path string
	}{
		{"net.ipv4.ip_forward", "net.ipv4.ip_forward", "net/ipv4/ip_forward"},
		{"net/ipv4/ip_forward", "net.ipv4.ip_forward", "net/ipv4/ip_forward"},
		// A VLAN interface name contains a dot; each spelling escapes it with the other separator.
		{"net.ipv4.conf.eno2/100.rp_filter", "net.ipv4.conf.eno2/100.rp_filter", "net/ipv4/conf/eno2.100/rp_filter"},
		{"net/ipv4/conf/eno2.100/rp_filter", "net.ipv4.conf.eno2/100.rp_filter", "net/ipv4/conf/eno2.100/rp_filter"},
		{"kernel.shmmax", "kernel.shmmax", "kernel/shmmax"},
		{"vm", "vm", "vm"},
	}
	for _, tt := range tests {
		k, err := parseKey(tt.name)
		if err != nil {
			t.Errorf("parseKey(%q): %v", tt.name, err)
			continue
		}
		if k.dotted != tt.dotted || k.path != tt.path {
			t.Errorf("parseKey(%q) = {%q, %q}, want {%q, %q}", tt.name, k.dotted, k.path, tt.dotted, tt.path)
		}
	}
}

func TestParseKeyRefusesTraversalAndJunk(t *testing.T) {
	tests := []struct{ name, want string }{
		{"", "empty sysctl name"},
		{"..", "empty level"},                     // dotted: "" "" "" levels
		{"net..ipv4", "empty level"},              // net//ipv4
		{".net.ipv4", "empty level"},              // leading separator
		{"net.ipv4.", "empty level"},              // trailing separator
		{"/proc/sys/kernel", "empty level"},       // absolute slash spelling
		{"net/../../etc/passwd", `".." level`},    // slash spelling with traversal
		{"net/./ipv4", `"." level`},               // slash spelling with "."
		{"net.//.ipv4", `".." level`},             // dotted; the "//" escape becomes ".." below /proc/sys
		{"../../etc", "empty level"},              // dotted spelling of a traversal
		{"net.ipv4.ip forward", "whitespace"},     // space
		{"net.ipv4.ip_forward\n", "whitespace"},   // newline
		{"net.ipv4\x00.ip_forward", "whitespace"}, // NUL
	}
	for _, tt := range tests {
		_, err := parseKey(tt.name)
		if err == nil {
			t.Errorf("parseKey(%q) accepted a bad name", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseKey(%q) = %q, want it to mention %q", tt.name, err, tt.want)
		}
	}
}
