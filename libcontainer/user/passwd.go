package user

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ErrNotFound is wrapped by lookups that find no matching entry.
var ErrNotFound = errors.New("no matching entry")

// LookupUser finds name in a passwd(5) database and returns the user's uid,
// primary gid and home directory.
//
// As in glibc, the first matching line wins. A name that is a decimal number
// matches a user of that name first and otherwise the first user with that
// uid. When nothing matches, the error wraps ErrNotFound; a caller that
// accepts raw numeric ids (as runc does) can then use the number itself.
func LookupUser(passwd io.Reader, name string) (uid, gid uint32, home string, err error) {
	if name == "" {
		return 0, 0, "", errors.New("look up user: empty name")
	}
	wantID, numeric := parseID(name)
	var byID *passwdEntry
	var byName *passwdEntry
	err = eachLine(passwd, func(line string) bool {
		e, ok := parsePasswdLine(line)
		if !ok {
			return true
		}
		if e.name == name {
			byName = &e
			return false
		}
		if numeric && byID == nil && e.uid == wantID {
			byID = &e
		}
		return true
	})
	if err != nil {
		return 0, 0, "", fmt.Errorf("look up user %q: read passwd: %w", name, err)
	}
	e := byName
	if e == nil {
		e = byID
	}
	if e == nil {
		return 0, 0, "", fmt.Errorf("look up user %q in passwd: %w", name, ErrNotFound)
	}
	return e.uid, e.gid, e.home, nil
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

// parsePasswdLine reads "name:password:uid:gid:gecos:home:shell". The shell
// may be missing; a line without a home field, with an empty name, or with
// ids that are not 32-bit decimal numbers is malformed and skipped.
func parsePasswdLine(line string) (passwdEntry, bool) {
	f := strings.SplitN(line, ":", 7)
	if len(f) < 6 || f[0] == "" {
		return passwdEntry{}, false
	}
	uid, ok := parseID(f[2])
	if !ok {
		return passwdEntry{}, false
	}
	gid, ok := parseID(f[3])
	if !ok {
		return passwdEntry{}, false
	}
	return passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]}, true
}

// parseID accepts a plain decimal id that fits in 32 bits. (uint32)(-1) is
// refused: the kernel uses it to mean "no change" in set*id calls.
func parseID(s string) (uint32, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// HomeByUID returns the home directory of the first passwd(5) entry with
// uid, as getpwuid(3) would. No entry is an error wrapping ErrNotFound.
func HomeByUID(passwd io.Reader, uid uint32) (string, error) {
	home, found := "", false
	err := eachLine(passwd, func(line string) bool {
		e, ok := parsePasswdLine(line)
		if ok && e.uid == uid {
			home, found = e.home, true
		}
		return !found
	})
	if err != nil {
		return "", fmt.Errorf("look up uid %d: read passwd: %w", uid, err)
	}
	if !found {
		return "", fmt.Errorf("look up uid %d in passwd: %w", uid, ErrNotFound)
	}
	return home, nil
}

// HomeFrom is uid's home directory in the passwd file open opens, or "/"
// when there is no such file, no entry for uid or no home in it.
func HomeFrom(open func() (*os.File, error), uid uint32) string {
	f, err := open()
	if err != nil {
		return "/"
	}
	defer f.Close()
	home, err := HomeByUID(f, uid)
	if err != nil || home == "" {
		return "/"
	}
	return home
}

// WithHome returns env with HOME set, as runc does, when env has none or
// its last HOME is empty: Docker, containerd and CRI never pass one, and
// shells and many programs expect it. The value is home(), called only
// then: the home directory of the process's user in the container's
// /etc/passwd, or "/" when there is no entry or no readable passwd. env
// itself is not changed.
func WithHome(env []string, home func() string) []string {
	last := -1
	for i, kv := range env {
		if strings.HasPrefix(kv, "HOME=") {
			last = i
		}
	}
	if last >= 0 && env[last] != "HOME=" {
		return env
	}
	// Earlier HOMEs go too: the last one counts, and getenv(3) would
	// find the first.
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "HOME=") })
	return append(out, "HOME="+home())
}
