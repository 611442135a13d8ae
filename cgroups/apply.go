package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Prepare creates the container's cgroup in every hierarchy, ready for a
// process, without moving one in: create runs it (and Set) while the init
// is still starting, and Apply then only moves the pid. On failure the
// directories it made are removed again.
func (m *fsManager) Prepare() error {
	_, err := m.prepare()
	m.prepared = err == nil
	return err
}

// Apply creates the container's cgroup in every hierarchy (unless Prepare
// did: create's Prepare and Apply are one after the other, and walking the
// hierarchy again would only repeat its reads) and moves pid into it. All
// directories are made (and prepared) before the pid moves anywhere; on
// failure the directories Apply made are removed again.
func (m *fsManager) Apply(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroups: cannot place pid %d in a cgroup", pid)
	}
	var made []string
	if !m.prepared {
		var err error
		if made, err = m.prepare(); err != nil {
			return err
		}
	}
	p := strconv.Itoa(pid)
	for _, d := range m.allDirs() {
		if err := writeFile(d, "cgroup.procs", p); err != nil {
			removeMade(made)
			return fmt.Errorf("cgroups: placing pid %d: %w", pid, err)
		}
	}
	return nil
}

// prepare makes what is missing of the cgroup and returns the directories
// it made, outermost first.
func (m *fsManager) prepare() ([]string, error) {
	var made []string
	fail := func(err error) ([]string, error) {
		removeMade(made)
		return nil, err
	}
	for _, d := range m.v1Dirs() {
		mk, err := mkdirAll(d)
		made = append(made, mk...)
		if err != nil {
			return fail(err)
		}
	}
	if d := m.st.Paths["cpuset"]; d != "" && m.st.Mode != ModeV2 {
		if err := fillCpuset(d); err != nil {
			return fail(err)
		}
	}
	if u := m.unified(); u != "" {
		mk, err := mkdirUnified(u)
		made = append(made, mk...)
		if err != nil {
			return fail(err)
		}
	}
	return made, nil
}

// mkdirAll makes dir and its missing parents; it returns those it made,
// outermost first.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; !exists(d); d = filepath.Dir(d) {
		missing = append(missing, d)
		if d == "/" {
			break
		}
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], 0o755)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return made, fmt.Errorf("cgroups: %w", err)
		}
		if err == nil {
			made = append(made, missing[i])
		}
	}
	return made, nil
}

// mkdirUnified makes a cgroup2 directory the way a v2 host needs: every
// ancestor, from the hierarchy root down, enables in cgroup.subtree_control
// the controllers it has, so that they reach the container's cgroup.
func mkdirUnified(dir string) ([]string, error) {
	// The hierarchy root is the outermost ancestor that has
	// cgroup.controllers.
	var chain []string
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		if !exists(filepath.Join(d, "cgroup.controllers")) && exists(d) {
			break
		}
		chain = append(chain, d)
	}
	var made []string
	for i := len(chain) - 1; i >= 0; i-- {
		d := chain[i]
		mk, err := mkdirAll(d)
		made = append(made, mk...)
		if err != nil {
			return made, err
		}
		enableControllers(d)
	}
	mk, err := mkdirAll(dir)
	return append(made, mk...), err
}

// enableControllers turns on, for the children of d, every controller d
// has. Failures are not errors here: a controller that cannot be enabled
// (d holds processes, a threaded sub-tree, a controller busy elsewhere)
// is simply absent below, and Set reports it if the config needs it.
func enableControllers(d string) {
	have, err := readFile(d, "cgroup.controllers")
	if err != nil || have == "" {
		return
	}
	on, _ := readFile(d, "cgroup.subtree_control")
	enabled := map[string]bool{}
	for _, c := range strings.Fields(on) {
		enabled[c] = true
	}
	var want []string
	for _, c := range strings.Fields(have) {
		if !enabled[c] {
			want = append(want, "+"+c)
		}
	}
	if len(want) == 0 {
		return
	}
	if writeFile(d, "cgroup.subtree_control", strings.Join(want, " ")) == nil {
		return
	}
	for _, c := range want {
		_ = writeFile(d, "cgroup.subtree_control", c)
	}
}

// fillCpuset gives dir and any ancestor with an empty v1 cpuset the CPUs
// and memory nodes of its parent: v1 refuses tasks in a cgroup whose
// cpuset.cpus or cpuset.mems is empty, and a new cgroup starts empty.
func fillCpuset(dir string) error {
	for _, kind := range []string{"cpuset.cpus", "cpuset.mems"} {
		if _, err := fillCpusetFile(dir, kind, 0); err != nil {
			return err
		}
	}
	return nil
}

func fillCpusetFile(dir, file string, depth int) (string, error) {
	v, err := readFile(dir, file)
	if err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	if v != "" {
		return v, nil
	}
	if depth > 64 {
		return "", fmt.Errorf("cgroups: no ancestor of %s has a non-empty %s", dir, file)
	}
	pv, err := fillCpusetFile(filepath.Dir(dir), file, depth+1)
	if err != nil {
		return "", err
	}
	if err := writeFile(dir, file, pv); err != nil {
		return "", fmt.Errorf("cgroups: %w", err)
	}
	return pv, nil
}

// removeMade removes the directories Apply made, innermost first.
func removeMade(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		_ = rmdirRetry(made[i])
	}
}

// rmdirRetry removes an empty cgroup, retrying briefly while it is busy
// (tasks that were just killed leave it asynchronously).
func rmdirRetry(dir string) error {
	delay := time1ms
	var err error
	for i := 0; i < 8; i++ {
		err = unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EBUSY {
			break
		}
		sleep(delay)
		delay *= 2
	}
	return &os.PathError{Op: "rmdir", Path: dir, Err: err}
}
