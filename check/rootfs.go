package check

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/libcontainer/explain"
	"github.com/nookrt/nook/libcontainer/user"
)

// checkRootfs: what the init would run into in the rootfs, every path
// resolved inside it (explain.Host): the user, the cwd, and executing
// process.args[0].
func (c *checker) checkRootfs() {
	p := c.spec.Process
	if p == nil || c.rootfs == "" || len(p.Args) == 0 {
		return
	}
	cred, ok := c.checkUser(p)
	if !ok {
		return
	}
	r, err := explain.Host(c.rootfs, explain.Options{Mounts: c.explainMounts(), Cwd: p.Cwd, Cred: cred})
	if err != nil {
		return
	}
	defer r.Close()
	if filepath.IsAbs(p.Cwd) { // else spec.Validate said so
		c.checkCwd(r, p.Cwd)
	}
	path, prob := r.LookPath(p.Args[0], p.Env)
	if prob == nil {
		prob = r.Exec(path)
	}
	if prob != nil {
		c.add(Finding{Kind: prob.Kind, Severity: Error, Field: "process.args[0]", Message: prob.Message, Hint: prob.Hint})
	}
}

// explainMounts are the config's mounts as explain sees them: a bind's
// source is looked into, other mounts hide what is under them.
func (c *checker) explainMounts() []explain.Mount {
	var out []explain.Mount
	for i, m := range c.spec.Mounts {
		opts := mountOptions(m)
		em := explain.Mount{Index: i, Destination: m.Destination, NoExec: opts["noexec"], Exec: opts["exec"]}
		if opts["bind"] || opts["rbind"] || m.Type == "bind" {
			em.Source = c.bindSource(m)
		}
		out = append(out, em)
	}
	return out
}

// checkCwd: the init makes a missing process.cwd (as runc does), so that
// is only worth a warning; one that is not a directory fails.
func (c *checker) checkCwd(r *explain.Root, cwd string) {
	dir, err := r.IsDir(cwd)
	switch {
	case errors.Is(err, unix.ENOENT):
		c.add(Finding{Kind: "rootfs.cwd-missing", Severity: Warning, Field: "process.cwd",
			Message: fmt.Sprintf("%s does not exist in the container; it will be created, empty and owned by root", cwd),
			Hint:    "create the directory in the image if the process expects anything in it"})
	case err == nil && !dir:
		c.add(Finding{Kind: "rootfs.cwd-not-directory", Severity: Error, Field: "process.cwd",
			Message: fmt.Sprintf("%s is not a directory in the container", cwd),
			Hint:    "name a directory in process.cwd"})
	}
	// Any other error (under a tmpfs mount, say): nothing to say.
}

// checkUser resolves process.user.username in the rootfs's /etc/passwd as
// the init does, and returns who executes args[0] (nil if unknown); ok is
// false when the rootfs cannot be opened.
func (c *checker) checkUser(p *specs.Process) (cred *explain.Cred, ok bool) {
	u := p.User
	cred = &explain.Cred{UID: u.UID, GID: u.GID, Groups: u.AdditionalGids}
	if u.Username == "" {
		return cred, true
	}
	r, err := explain.Host(c.rootfs, explain.Options{Mounts: c.explainMounts(), Cwd: p.Cwd})
	if err != nil {
		return nil, false
	}
	defer r.Close()
	return c.lookupUser(r, u), true
}

// lookupUser finds u.Username in the rootfs's passwd and group files.
func (c *checker) lookupUser(r *explain.Root, u specs.User) *explain.Cred {
	cred := &explain.Cred{UID: u.UID, GID: u.GID, Groups: u.AdditionalGids}
	passwd, err := r.Open("/etc/passwd")
	if errors.Is(err, explain.ErrUnknown) {
		return nil
	}
	if err != nil {
		c.add(Finding{Kind: "rootfs.user-unknown", Severity: Error, Field: "process.user.username",
			Message: fmt.Sprintf("user %q cannot be looked up: /etc/passwd in the rootfs: %v", u.Username, err),
			Hint:    "add /etc/passwd to the image, or give process.user.uid and gid instead"})
		return nil
	}
	defer passwd.Close()
	uid, gid, _, err := user.LookupUser(passwd, u.Username)
	if err != nil {
		msg := fmt.Sprintf("user %q is not in the rootfs's /etc/passwd", u.Username)
		if !errors.Is(err, user.ErrNotFound) {
			msg = err.Error()
		}
		c.add(Finding{Kind: "rootfs.user-unknown", Severity: Error, Field: "process.user.username", Message: msg,
			Hint: "add the user to the image's /etc/passwd, or give process.user.uid and gid instead"})
		return nil
	}
	cred.UID, cred.GID = uid, gid
	if group, err := r.Open("/etc/group"); err == nil {
		groups, _ := user.LookupGroups(group, u.Username, gid)
		group.Close()
		for _, g := range groups {
			if !slices.Contains(cred.Groups, g) {
				cred.Groups = append(cred.Groups, g)
			}
		}
	}
	c.checkMapped(uid, gid)
	return cred
}

// checkMapped: a user found by name must be mapped in a user namespace
// the container creates (checkUserns checked numeric ids).
func (c *checker) checkMapped(uid, gid uint32) {
	l := c.spec.Linux
	if l == nil || len(l.UIDMappings) == 0 || len(l.GIDMappings) == 0 {
		return
	}
	if !mapped(l.UIDMappings, uid) || !mapped(l.GIDMappings, gid) {
		c.add(Finding{Kind: "config.user-not-mapped", Severity: Error, Field: "process.user.username",
			Message: fmt.Sprintf("user %q is %d:%d in the rootfs, which linux.uidMappings/gidMappings do not map", c.spec.Process.User.Username, uid, gid),
			Hint:    "map those ids, or run as a mapped user"})
	}
}
