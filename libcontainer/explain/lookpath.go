package explain

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// usualDirs are where programs usually are, for "it is there, but not
// along PATH".
var usualDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// LookPath finds name the way nook's init does (and execvp): a name with a
// slash is taken as it is; otherwise the first regular file with an
// execute bit in a directory of env's PATH. The problem says why nothing
// was found.
func (r *Root) LookPath(name string, env []string) (string, *Problem) {
	if strings.Contains(name, "/") {
		return r.abs(name), nil
	}
	pathEnv, hasPath := PathOf(env)
	var refused *Problem // the first candidate that exists but cannot run
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := r.abs(filepath.Join(dir, name))
		prob, exists := r.candidate(p)
		if exists && prob == nil {
			return p, nil
		}
		if exists && refused == nil {
			refused = prob
		}
	}
	return "", r.notInPath(name, pathEnv, hasPath, refused)
}

// PathOf is env's PATH (its last one, as the init's lookup takes it); set
// is false when env has none.
func PathOf(env []string) (path string, set bool) {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path, set = v, true
		}
	}
	return path, set
}

// candidate checks p as nook's init does before it takes it: it exists, is
// not a directory, and has an execute bit.
func (r *Root) candidate(p string) (prob *Problem, exists bool) {
	f, err := r.open(p, unix.O_PATH)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, false
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return &Problem{Kind: IsDirectory, Path: p, Message: fmt.Sprintf("%s is a directory", p)}, true
	case st.Mode&0o111 == 0:
		return &Problem{Kind: NotExecutable, Path: p,
			Message: fmt.Sprintf("%s has no execute permission (mode %04o)", p, st.Mode&0o7777),
			Hint:    "make it executable in the image (chmod +x)"}, true
	}
	return nil, true
}

// notInPath words why name was not found along PATH.
func (r *Root) notInPath(name, pathEnv string, hasPath bool, refused *Problem) *Problem {
	prob := &Problem{Kind: NotFound, Path: name,
		Message: fmt.Sprintf("%q was not found along PATH (%s) in the container", name, pathEnv),
		Hint:    "add it to the image, or give its full path in process.args[0]"}
	if refused != nil {
		refused.Message = fmt.Sprintf("%q is along PATH, but %s", name, refused.Message)
		if refused.Hint == "" {
			refused.Hint = "name the program, not the directory, in process.args[0]"
		}
		return refused
	}
	for _, dir := range usualDirs {
		p := filepath.Join(dir, name)
		if bad, exists := r.candidate(p); exists && bad == nil {
			prob.detail = true
			if !hasPath {
				prob.Message = fmt.Sprintf("process.env sets no PATH, so %q is not searched for (it is at %s)", name, p)
				prob.Hint = fmt.Sprintf("add PATH=%s to process.env, or give the full path in process.args[0]", strings.Join(usualDirs, ":"))
				return prob
			}
			prob.Message = fmt.Sprintf("%q is at %s, which is not along PATH (%s)", name, p, pathEnv)
			prob.Hint = fmt.Sprintf("add %s to PATH in process.env, or give the full path in process.args[0]", dir)
			return prob
		}
	}
	if !hasPath {
		prob.detail = true
		prob.Message = fmt.Sprintf("process.env sets no PATH, so %q is not searched for", name)
		prob.Hint = "add a PATH to process.env, or give the full path in process.args[0]"
	}
	return prob
}
