package user

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const passwdFixture = `# /etc/passwd of a test image
root:x:0:0:root:/root:/bin/sh

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
+nisuser::::::
-baduser::::::
broken line without colons
short:x:5:5
badid:x:notanumber:5::/nope:/bin/sh
negid:x:-1:5::/nope:/bin/sh
toobig:x:4294967296:5::/nope:/bin/sh
minusone:x:4294967295:5::/nope:/bin/sh
:x:6:6::/noname:/bin/sh
   # indented comment
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
noshell:x:1001:1002::/home/noshell
crlf:x:1003:1003::/home/crlf:/bin/sh` + "\r" + `
colons:x:1004:1004:gecos:/home/colons:/bin/sh:extra:fields
1000:x:2000:2000:numeric name:/home/numeric:/bin/sh
alice:x:1000:100:Alice:/home/alice:/bin/bash
alice:x:9999:9999:second alice:/wrong:/bin/sh
last:x:1005:1005::/home/last:/bin/sh`

func TestLookupUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		uid, gid uint32
		home     string
	}{
		{"root", 0, 0, "/root"},
		{"daemon", 1, 1, "/usr/sbin"},
		{"nobody", 65534, 65534, "/nonexistent"},
		{"noshell", 1001, 1002, "/home/noshell"},
		{"crlf", 1003, 1003, "/home/crlf"},
		{"colons", 1004, 1004, "/home/colons"},
		{"alice", 1000, 100, "/home/alice"}, // first match wins
		{"last", 1005, 1005, "/home/last"},  // no trailing newline
		{"0", 0, 0, "/root"},                // numeric: by uid
		{"65534", 65534, 65534, "/nonexistent"},
		{"1000", 2000, 2000, "/home/numeric"}, // a user named "1000" beats uid 1000
	} {
		uid, gid, home, err := LookupUser(strings.NewReader(passwdFixture), tc.name)
		if err != nil || uid != tc.uid || gid != tc.gid || home != tc.home {
			t.Errorf("LookupUser(%q) = %d, %d, %q, %v; want %d, %d, %q",
				tc.name, uid, gid, home, err, tc.uid, tc.gid, tc.home)
		}
	}
}

func TestLookupUserNotFound(t *testing.T) {
	for _, name := range []string{
		"nosuch", "short", "badid", "negid", "toobig", "minusone", "nisuser", "+nisuser",
		"baduser", "4294967295", "12345", "-1", "+0", "Root",
	} {
		_, _, _, err := LookupUser(strings.NewReader(passwdFixture), name)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupUser(%q) error = %v, want ErrNotFound", name, err)
		}
	}
	_, _, _, err := LookupUser(strings.NewReader(passwdFixture), "nosuch")
	if want := `look up user "nosuch" in passwd: no matching entry`; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	if _, _, _, err := LookupUser(strings.NewReader(passwdFixture), ""); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("empty name: error = %v", err)
	}
	if _, _, _, err := LookupUser(strings.NewReader(""), "root"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty file: error = %v", err)
	}
}

func TestLookupUserLongLines(t *testing.T) {
	// A line just under the limit is still read; one over it is skipped
	// without ending the scan or failing the lookup of later users.
	longOK := "longok:x:3000:3000:" + strings.Repeat("g", maxLine-100) + ":/home/longok:/bin/sh\n"
	tooLong := "huge:x:3001:3001:" + strings.Repeat("g", 3*maxLine) + ":/home/huge:/bin/sh\n"
	in := longOK + tooLong + "after:x:3002:3002::/home/after:/bin/sh\n"
	// HalfReader feeds the parser chunks that end mid-line.
	readers := map[string]func() io.Reader{
		"whole": func() io.Reader { return strings.NewReader(in) },
		"half":  func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
	}
	for rname, r := range readers {
		for _, name := range []string{"longok", "after"} {
			if _, _, home, err := LookupUser(r(), name); err != nil || home != "/home/"+name {
				t.Errorf("%s reader, %s: home %q, err %v", rname, name, home, err)
			}
		}
		if _, _, _, err := LookupUser(r(), "huge"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s reader: overlong line was not skipped: %v", rname, err)
		}
	}
}

func TestLookupUserReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, _, err := LookupUser(iotest.ErrReader(boom), "root")
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read passwd") {
		t.Errorf("error = %v", err)
	}
	// A match before the failure point is still found.
	r := iotest.DataErrReader(strings.NewReader("root:x:0:0::/root:/bin/sh\n"))
	if uid, _, _, err := LookupUser(r, "root"); err != nil || uid != 0 {
		t.Errorf("LookupUser = %d, %v", uid, err)
	}
}

func TestHomeByUID(t *testing.T) {
	for _, tc := range []struct {
		uid  uint32
		home string
	}{
		{0, "/root"},
		{1000, "/home/alice"}, // the first entry with the uid, not by name
		{2000, "/home/numeric"},
		{1005, "/home/last"}, // no trailing newline
		{1003, "/home/crlf"},
	} {
		home, err := HomeByUID(strings.NewReader(passwdFixture), tc.uid)
		if err != nil || home != tc.home {
			t.Errorf("HomeByUID(%d) = %q, %v; want %q", tc.uid, home, err, tc.home)
		}
	}
	if _, err := HomeByUID(strings.NewReader(passwdFixture), 4242); !errors.Is(err, ErrNotFound) {
		t.Errorf("HomeByUID of a uid without entry: %v, want ErrNotFound", err)
	}
	if _, err := HomeByUID(iotest.ErrReader(io.ErrUnexpectedEOF), 0); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("HomeByUID on a failing reader: %v", err)
	}
}
