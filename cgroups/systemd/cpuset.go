package systemd

import (
	"fmt"
	"strconv"
	"strings"
)

// maxCPUSetIndex bounds the CPU / memory node numbers accepted, so that a
// config saying "0-4000000000" costs an error, not half a gigabyte of mask.
// The kernel's NR_CPUS tops out at 8192 today; this leaves room.
const maxCPUSetIndex = 1<<16 - 1

// cpuSetMask encodes a cpuset list ("0-3,7") as the byte array systemd's
// AllowedCPUs= and AllowedMemoryNodes= take over D-Bus: little-endian bytes,
// bit i%8 of byte i/8 set when CPU (node) i is in the set.
func cpuSetMask(list string) ([]byte, error) {
	var mask []byte
	set := func(i int) {
		for len(mask) <= i/8 {
			mask = append(mask, 0)
		}
		mask[i/8] |= 1 << (i % 8)
	}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%q: empty element", list)
		}
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := cpuSetIndex(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", list, err)
		}
		last := first
		if isRange {
			if last, err = cpuSetIndex(hi); err != nil {
				return nil, fmt.Errorf("%q: %w", list, err)
			}
			if last < first {
				return nil, fmt.Errorf("%q: range %q ends before it starts", list, item)
			}
		}
		for i := first; i <= last; i++ {
			set(i)
		}
	}
	return mask, nil
}

func cpuSetIndex(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a CPU or node number", s)
	}
	if n > maxCPUSetIndex {
		return 0, fmt.Errorf("%d is larger than %d", n, maxCPUSetIndex)
	}
	return int(n), nil
}
