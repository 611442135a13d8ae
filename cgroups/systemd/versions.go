package systemd

import (
	"strconv"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

// minSystemdVersion is the first systemd release that understands a unit
// property nook sets (from systemd's NEWS); 0 means "every release nook can
// meet". An older systemd refuses the whole StartTransientUnit call over one
// unknown property, so such properties are left out and the cgroupfs
// manager, which nook runs after systemd in every case, applies the value.
func minSystemdVersion(property string) int {
	switch property {
	case "Delegate":
		return 218
	case "TasksMax", "TasksAccounting":
		return 227
	case "MemoryMax", "MemoryLow", "MemoryHigh", "IOWeight", "IOAccounting":
		return 230
	case "CPUWeight", "MemorySwapMax":
		return 232
	case "MemoryMin":
		return 240
	case "CPUQuotaPeriodUSec":
		return 242
	case "AllowedCPUs", "AllowedMemoryNodes":
		return 244
	}
	return 0
}

// keepSupported drops the properties systemd version cannot take and
// returns the names it dropped. version <= 0 (unknown) keeps everything:
// failing loudly beats silently skipping limits.
func keepSupported(props []sddbus.Property, version int) (kept []sddbus.Property, dropped []string) {
	if version <= 0 {
		return props, nil
	}
	kept = make([]sddbus.Property, 0, len(props))
	for _, p := range props {
		if version < minSystemdVersion(p.Name) {
			dropped = append(dropped, p.Name)
			continue
		}
		kept = append(kept, p)
	}
	return kept, dropped
}

// parseSystemdVersion reads the leading number of the manager's Version
// property, which comes in GVariant text form: `"252.38-1~deb12u1"`,
// `"v245.4-1.fc32"`, `"245"`. It returns 0 when there is no number.
func parseSystemdVersion(s string) int {
	s = strings.TrimLeft(strings.TrimSpace(s), `"'v`)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0
	}
	return n
}
