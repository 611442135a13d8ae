package user

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

const groupFixture = `# /etc/group of a test image
root:x:0:
wheel:x:10:root, alice ,bob
+nisgroup::77:alice
-other::78:alice

malformed
audio:x:notanumber:alice
nogid:x::alice
:x:79:alice
users:x:100:bob,alice
alicesfriends:x:1000:alicex,xalice
dup:x:10:alice
nomembers:x:101
crlf:x:102:alice` + "\r" + `
video:x:44:carol,alice`

func TestLookupGroups(t *testing.T) {
	for _, tc := range []struct {
		user string
		gid  uint32
		want []uint32
	}{
		// Primary gid first; 10 appears once although two lines carry it.
		{"alice", 1000, []uint32{1000, 10, 100, 102, 44}},
		// The primary gid is not repeated when a group also lists the user.
		{"alice", 100, []uint32{100, 10, 102, 44}},
		{"bob", 100, []uint32{100, 10}},
		{"root", 0, []uint32{0, 10}},
		{"carol", 5, []uint32{5, 44}},
		{"nobody", 65534, []uint32{65534}},
		{"", 7, []uint32{7}},
		{"alic", 1, []uint32{1}}, // member names match exactly
	} {
		got, err := LookupGroups(strings.NewReader(groupFixture), tc.user, tc.gid)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("LookupGroups(%q, %d) = %v, %v; want %v", tc.user, tc.gid, got, err, tc.want)
		}
	}
}

func TestLookupGroupsLongLine(t *testing.T) {
	// Big groups legitimately exceed bufio.Scanner's 64 KiB default.
	var members []string
	for i := 0; i < 20000; i++ {
		members = append(members, "member"+strings.Repeat("x", i%7))
	}
	members = append(members, "alice")
	in := "big:x:500:" + strings.Join(members, ",") + "\nsmall:x:501:alice\n"
	if len(in) < 100<<10 {
		t.Fatalf("fixture line only %d bytes", len(in))
	}
	got, err := LookupGroups(strings.NewReader(in), "alice", 1)
	if want := []uint32{1, 500, 501}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("LookupGroups = %v, %v; want %v", got, err, want)
	}
}

func TestLookupGroupsReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := LookupGroups(iotest.ErrReader(boom), "alice", 1)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `look up groups of "alice": read group`) {
		t.Errorf("error = %v", err)
	}
}
