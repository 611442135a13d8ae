package user

import (
	"fmt"
	"io"
	"strings"
)

// maxGroups is NGROUPS_MAX on Linux; setgroups(2) refuses longer lists.
const maxGroups = 65536

// LookupGroups returns the groups of username for setgroups(2): gid first,
// then, in file order and without duplicates, every group in the group(5)
// database whose member list names the user. Including gid follows
// getgrouplist(3) and initgroups(3), so the primary group stays in effect
// whatever the supplementary list does.
func LookupGroups(group io.Reader, username string, gid uint32) ([]uint32, error) {
	groups := []uint32{gid}
	if username == "" {
		return groups, nil
	}
	seen := map[uint32]bool{gid: true}
	err := eachLine(group, func(line string) bool {
		id, members, ok := parseGroupLine(line)
		if !ok || seen[id] || !hasMember(members, username) {
			return true
		}
		seen[id] = true
		groups = append(groups, id)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("look up groups of %q: read group: %w", username, err)
	}
	if len(groups) > maxGroups {
		return nil, fmt.Errorf("look up groups of %q: member of %d groups, the kernel allows %d", username, len(groups), maxGroups)
	}
	return groups, nil
}

// parseGroupLine reads "name:password:gid:member,member". The member list
// may be missing; a line with an empty name or a bad gid is skipped.
func parseGroupLine(line string) (gid uint32, members string, ok bool) {
	f := strings.SplitN(line, ":", 4)
	if len(f) < 3 || f[0] == "" {
		return 0, "", false
	}
	gid, ok = parseID(f[2])
	if !ok {
		return 0, "", false
	}
	if len(f) == 4 {
		members = f[3]
	}
	return gid, members, true
}

// hasMember reports whether the comma-separated list names user; blanks
// around names are tolerated, as hand-edited files have them.
func hasMember(list, user string) bool {
	for m := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(m) == user {
			return true
		}
	}
	return false
}
