package libcontainer

import (
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nookrt/nook/cgroups"
	"github.com/nookrt/nook/libcontainer/state"
)

// What a container brought back from a checkpoint (package checkpoint)
// needs of create's machinery: its init is not spawned by nook but by CRIU,
// so only the parts around the spawn are shared.

// PrepareSpec checks a bundle's config as create does before anything
// exists: mount destinations normalised (warnings to warn), then validate.
func PrepareSpec(s *specs.Spec, rootfs string, warn func(string)) error {
	normalizeMounts(CreateOptions{Spec: s, Rootfs: rootfs, Warn: warn})
	return validate(s)
}

// NewCgroupManager is the manager create would build for id and s (with
// --systemd-cgroup: systemd). Nothing is written yet.
func NewCgroupManager(id string, s *specs.Spec, systemd bool) (cgroups.Manager, error) {
	return newCgroupManager(CreateOptions{ID: id, Spec: s, SystemdCgroup: systemd})
}

// NewRecord is the record create saves first: status creating (delete
// --force removes all of it), no pid yet, the cgroup to be made.
func NewRecord(id, bundle, rootfs string, s *specs.Spec, cg cgroups.Manager) *state.Record {
	cgState := cg.State()
	return &state.Record{
		State: specs.State{
			Version:     specs.Version,
			ID:          id,
			Status:      state.Creating,
			Bundle:      bundle,
			Annotations: s.Annotations,
		},
		Rootfs:  rootfs,
		Created: time.Now().UTC(),
		Owner:   ownerName(),
		Config:  state.NewConfig(s),
		Cgroup:  &cgState,
	}
}

// Adopt makes pid the running init of rec: its pid, start time (the
// identity later commands verify) and the namespace paths exec joins. A
// time namespace pid has that s does not ask for (CRIU restores into one
// of its own, so that the container's clocks go on where they stopped) is
// recorded too, so exec joins it.
func Adopt(rec *state.Record, pid int, s *specs.Spec) error {
	st, err := readProcStat(pid)
	if err != nil {
		return fmt.Errorf("read start time of restored init %d: %w", pid, err)
	}
	rec.Pid = pid
	rec.InitStartTime = st.StartTime
	rec.Namespaces = namespacePaths(pid, s.Linux)
	timeNS := fmt.Sprintf("/proc/%d/ns/time", pid)
	if _, ok := rec.Namespaces[string(specs.TimeNamespace)]; !ok {
		if _, err := os.Stat(timeNS); err == nil && !sameFile(timeNS, "/proc/self/ns/time") {
			rec.Namespaces[string(specs.TimeNamespace)] = timeNS
		}
	}
	rec.Status = state.Running
	return nil
}
