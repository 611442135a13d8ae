package systemd

import (
	"bytes"
	"strings"
	"testing"
)

func TestCPUSetMask(t *testing.T) {
	tests := []struct {
		list string
		want []byte
	}{
		{"0", []byte{0x01}},
		{"7", []byte{0x80}},
		{"8", []byte{0x00, 0x01}},
		{"0-3", []byte{0x0f}},
		{"0-3,7", []byte{0x8f}},
		{"1,3,5-6", []byte{0x6a}},
		{"0-2,9", []byte{0x07, 0x02}},
		{"0-15", []byte{0xff, 0xff}},
		{" 2 , 4-5 ", []byte{0x34}},
		{"3,3,1-3", []byte{0x0e}}, // repeats and overlaps are fine
		{"63", []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
		{"65535", append(make([]byte, 8191), 0x80)}, // the largest index
	}
	for _, tt := range tests {
		got, err := cpuSetMask(tt.list)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("cpuSetMask(%q) = %x, %v; want %x", tt.list, got, err, tt.want)
		}
	}
}

func TestCPUSetMaskRefuses(t *testing.T) {
	tests := map[string]string{
		"":             "empty element",
		"1,":           "empty element",
		",1":           "empty element",
		"a":            "not a CPU",
		"-1":           "not a CPU",
		"1-":           "not a CPU",
		"3-1":          "ends before it starts",
		"1-2-3":        "not a CPU",
		"0-4000000000": "larger than 65535",
		"65536":        "larger than 65535",
	}
	for list, want := range tests {
		got, err := cpuSetMask(list)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("cpuSetMask(%q) = %x, %v; want an error saying %q", list, got, err, want)
		}
	}
}
