package cgroups

import (
	"fmt"
	"strings"
	"time"
)

// freezeTimeout bounds how long Freeze waits for every task to stop (a
// task in uninterruptible sleep delays it).
const freezeTimeout = 5 * time.Second

// freezer returns the directory whose freezer the manager uses and whether
// it is the v1 controller (FreezerDir).
func (m *fsManager) freezer() (string, bool, error) { return FreezerDir(m.st) }

// FreezerDir returns the directory whose freezer a container with cgroup
// st uses and whether it is the v1 controller; without a v1 freezer the
// cgroup2 core freezer (cgroup.freeze, Linux 5.2) serves, in hybrid mode
// too. Frozen reads freezer.state there (v1) or cgroup.events (v2).
func FreezerDir(st State) (dir string, v1 bool, err error) {
	if d := st.Paths["freezer"]; d != "" && st.Mode != ModeV2 {
		return d, true, nil
	}
	if u := st.Paths[""]; u != "" {
		return u, false, nil
	}
	return "", false, fmt.Errorf("cgroups: no freezer: the freezer controller is not mounted")
}

// Freeze stops every process of the container and returns once all are
// stopped; on failure the cgroup is thawed again.
func (m *fsManager) Freeze() error {
	dir, v1, err := m.freezer()
	if err != nil {
		return err
	}
	if v1 {
		err = freezeV1(dir)
	} else {
		err = setFreezeV2(dir, true)
	}
	if err != nil {
		_ = m.Thaw()
		return fmt.Errorf("cgroups: freeze: %w", err)
	}
	return nil
}

// Thaw resumes the container.
func (m *fsManager) Thaw() error {
	dir, v1, err := m.freezer()
	if err != nil {
		return err
	}
	if v1 {
		err = waitV1State(dir, "THAWED")
	} else {
		err = setFreezeV2(dir, false)
	}
	if err != nil {
		return fmt.Errorf("cgroups: thaw: %w", err)
	}
	return nil
}

// Frozen reports whether the container is frozen (by nook or because an
// ancestor is). A freeze still in progress is not frozen.
func (m *fsManager) Frozen() (bool, error) {
	dir, v1, err := m.freezer()
	if err != nil {
		return false, err
	}
	if v1 {
		s, err := readFile(dir, "freezer.state")
		if err != nil {
			return false, fmt.Errorf("cgroups: %w", err)
		}
		return s == "FROZEN", nil
	}
	ev, err := readKeyValues(dir, "cgroup.events")
	if err != nil {
		return false, fmt.Errorf("cgroups: %w", err)
	}
	return ev["frozen"] == 1, nil
}

// freezeV1 writes FROZEN until the state reads FROZEN. A freeze can stall
// in FREEZING when a task is in a state the freezer cannot catch; thawing
// briefly and asking again gets past that, as runc does.
func freezeV1(dir string) error {
	deadline := time.Now().Add(freezeTimeout)
	for {
		if err := waitV1StateUntil(dir, "FROZEN", time.Now().Add(50*time.Millisecond)); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		if err := writeFile(dir, "freezer.state", "THAWED"); err != nil {
			return err
		}
	}
}

func waitV1State(dir, want string) error {
	return waitV1StateUntil(dir, want, time.Now().Add(freezeTimeout))
}

// waitV1StateUntil writes want to freezer.state and polls until it reads
// back, with a backoff from 100µs to 10ms.
func waitV1StateUntil(dir, want string, deadline time.Time) error {
	if err := writeFile(dir, "freezer.state", want); err != nil {
		return err
	}
	delay := 100 * time.Microsecond
	for {
		s, err := readFile(dir, "freezer.state")
		if err != nil {
			return err
		}
		if s == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/freezer.state is %s, not %s, after waiting", dir, strings.ToUpper(s), want)
		}
		time.Sleep(delay)
		if delay < 10*time.Millisecond {
			delay *= 2
		}
	}
}

// setFreezeV2 writes cgroup.freeze and waits until cgroup.events reports
// the cgroup frozen (or thawed).
func setFreezeV2(dir string, freeze bool) error {
	v, want := "0", uint64(0)
	if freeze {
		v, want = "1", 1
	}
	if err := writeFile(dir, "cgroup.freeze", v); err != nil {
		return err
	}
	deadline := time.Now().Add(freezeTimeout)
	delay := 100 * time.Microsecond
	for {
		ev, err := readKeyValues(dir, "cgroup.events")
		if err != nil {
			return err
		}
		if ev["frozen"] == want {
			return nil
		}
		if time.Now().After(deadline) {
			// Thawing cannot win over a frozen ancestor.
			return fmt.Errorf("%s/cgroup.events does not report frozen %d after %v", dir, want, freezeTimeout)
		}
		time.Sleep(delay)
		if delay < 10*time.Millisecond {
			delay *= 2
		}
	}
}
