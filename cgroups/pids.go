package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Pids lists every process in the container's cgroup and its sub-cgroups.
// v1 reads the freezer hierarchy (what pause acts on), else pids, else any;
// v2 and hybrid without a v1 freezer read the cgroup2 directory.
func (m *fsManager) Pids() ([]int, error) {
	dir := m.unified()
	if m.st.Mode != ModeV2 {
		for _, c := range []string{"freezer", "pids"} {
			if d := m.st.Paths[c]; d != "" {
				dir = d
				break
			}
		}
		if dir == "" {
			if ds := m.v1Dirs(); len(ds) > 0 {
				dir = ds[0]
			}
		}
	}
	if dir == "" {
		return nil, errors.New("cgroups: no cgroup directory to list processes from")
	}
	var pids []int
	if err := collectPids(dir, &pids); err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	return pids, nil
}

func collectPids(dir string, pids *[]int) error {
	f, err := os.Open(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !exists(dir) {
			return nil // removed meanwhile
		}
		return err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if pid, err := strconv.Atoi(sc.Text()); err == nil {
			*pids = append(*pids, pid)
		}
	}
	err = sc.Err()
	f.Close()
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := collectPids(filepath.Join(dir, e.Name()), pids); err != nil {
				return err
			}
		}
	}
	return nil
}
