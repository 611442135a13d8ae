package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nookrt/nook/cgroups/devices"
)

// op is one cgroupfs write that Set will make.
type op struct {
	field string // the config field it comes from, for errors
	dir   string
	file  string
	value string
	// alt/altValue are written instead when file does not exist (v2
	// io.bfq.weight, else io.weight).
	alt, altValue string
	// missingOK: a missing file is not an error (the feature is absent
	// and value is what it would hold anyway).
	missingOK bool
	// laterOnEINVAL: on EINVAL, retry once after the other writes (cpu
	// period vs quota, burst vs quota: the kernel checks each write against
	// the values in force, so the right order depends on the old ones).
	laterOnEINVAL bool
}

func (o op) run() error {
	err := writeFile(o.dir, o.file, o.value)
	if errors.Is(err, os.ErrNotExist) {
		switch {
		case o.alt != "":
			err = writeFile(o.dir, o.alt, o.altValue)
		case o.missingOK:
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.field, err)
	}
	return nil
}

// runOps makes the writes in order.
func runOps(ops []op) error {
	var later []op
	for _, o := range ops {
		err := o.run()
		if err != nil && o.laterOnEINVAL && errors.Is(err, unix.EINVAL) {
			later = append(later, o)
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, o := range later {
		if err := o.run(); err != nil {
			return err
		}
	}
	return nil
}

// planner turns linux.resources into ops, refusing anything invalid. It
// reads what it must know about the host (allowed CPUs, files that exist
// only with some kernel options, current values an update is checked
// against) but never writes.
type planner struct {
	m   *fsManager
	ops []op
	// cgroup2 controllers available to the container, read once.
	avail       map[string]bool
	availFrom   string
	availLoaded bool
}

// plan validates r and returns the writes that apply it.
func (m *fsManager) plan(r *specs.LinuxResources) ([]op, error) {
	if r == nil {
		return nil, nil
	}
	// Device rules are checked here too, so that New refuses a bad rule
	// before anything exists (the devices package words its errors).
	if err := devices.Validate(r.Devices); err != nil {
		return nil, err
	}
	p := &planner{m: m}
	steps := []func(*specs.LinuxResources) error{
		p.cpuset, p.memory, p.cpu, p.pids, p.blockIO, p.hugetlb, p.network, p.rdma, p.unified,
	}
	for _, step := range steps {
		if err := step(r); err != nil {
			return nil, err
		}
	}
	return p.ops, nil
}

func (p *planner) add(o op) { p.ops = append(p.ops, o) }

// dest is where the files of a controller go: its v1 directory, or the
// cgroup2 directory when the host is v2 or the controller exists only on
// cgroup2 (v2 is then true). v2name is the controller's cgroup2 name ("" if
// cgroup2 has none).
func (p *planner) dest(field, v1name, v2name string) (dir string, v2 bool, err error) {
	m := p.m
	if m.st.Mode != ModeV2 {
		if d := m.st.Paths[v1name]; d != "" {
			return d, false, nil
		}
	}
	u := m.unified()
	if u != "" && v2name != "" && p.has(v2name) {
		return u, true, nil
	}
	if m.st.Rootless {
		// New kept only the hierarchies the user may write.
		return "", false, fieldErr(field, "the %s controller is not in a cgroup this rootless container may write; %s", v1name, rootlessHint)
	}
	switch {
	case m.st.Mode == ModeV2 && v2name == "":
		return "", false, fieldErr(field, "not supported on cgroup v2")
	case m.st.Mode == ModeV2:
		return "", false, fieldErr(field, "the %s controller is not available: the cgroup2 hierarchy offers only %s", v2name, p.availList())
	case u != "" && v2name != "":
		return "", false, fieldErr(field, "the %s controller is not available: it is not mounted as cgroup v1 and the cgroup2 hierarchy offers only %s", v2name, p.availList())
	default:
		return "", false, fieldErr(field, "the %s cgroup controller is not mounted on this host", v1name)
	}
}

// has tells whether a cgroup2 controller is available to the container:
// listed in cgroup.controllers of its directory, or, before Apply made it,
// of the closest existing ancestor (Apply enables all of those on the way
// down).
func (p *planner) has(ctrl string) bool {
	p.loadAvail()
	return p.avail[ctrl]
}

func (p *planner) loadAvail() {
	if !p.availLoaded {
		p.availLoaded = true
		p.avail = map[string]bool{}
		p.availFrom = nearestExisting(p.m.unified())
		if s, err := readFile(p.availFrom, "cgroup.controllers"); err == nil {
			for _, c := range strings.Fields(s) {
				p.avail[c] = true
			}
		}
	}
}

func (p *planner) availList() string {
	p.loadAvail()
	var l []string
	for c := range p.avail {
		l = append(l, c)
	}
	sort.Strings(l)
	if len(l) == 0 {
		return "no controller (" + filepath.Join(p.availFrom, "cgroup.controllers") + " is empty)"
	}
	return strings.Join(l, " ")
}

// probe tells whether a controller file exists: in dir, or, before Apply
// made dir, in its closest existing ancestor (v1 hierarchies show the same
// files at every level).
func probe(dir, file string) bool {
	return exists(filepath.Join(nearestExisting(dir), file))
}
