package rlimits

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckRaise(t *testing.T) {
	var cur unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &cur); err != nil {
		t.Fatal(err)
	}
	if cur.Max == unix.RLIM_INFINITY {
		t.Skip("RLIMIT_NOFILE hard limit is infinite: nothing can be above it")
	}
	above := []Rlimit{{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: cur.Max + 1, Hard: cur.Max + 1}}
	err := CheckRaise(above, false)
	if err == nil || !strings.Contains(err.Error(), "raising a hard limit needs CAP_SYS_RESOURCE") {
		t.Fatalf("raise without privilege: got %v", err)
	}
	if err := CheckRaise(above, true); err != nil {
		t.Fatalf("raise with privilege: %v", err)
	}
	within := []Rlimit{{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: cur.Max, Hard: cur.Max}}
	if err := CheckRaise(within, false); err != nil {
		t.Fatalf("limit equal to the current hard limit: %v", err)
	}
}
