package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pids plans linux.resources.pids: -1 is "max", 0 is a real limit (the
// runtime-spec says so), anything below -1 is refused.
func (p *planner) pids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	const f = "linux.resources.pids.limit"
	limit := *r.Pids.Limit
	if limit < -1 {
		return fieldErr(f, "%d is not a valid limit (use -1 for unlimited)", limit)
	}
	dir, _, err := p.dest("linux.resources.pids", "pids", "pids")
	if err != nil {
		return err
	}
	p.add(op{field: f, dir: dir, file: "pids.max", value: maxOr(limit)})
	return nil
}

// hugePageSizes lists the host's huge page sizes in cgroup file naming
// ("2MB", "1GB", "64KB").
func hugePageSizes() ([]string, error) {
	ents, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil, err
	}
	var sizes []string
	for _, e := range ents {
		kb, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(kb, "kB"), 10, 64)
		if err != nil {
			continue
		}
		sizes = append(sizes, pageSizeName(n))
	}
	return sizes, nil
}

// pageSizeName names a page size of kb kilobytes as the hugetlb controller
// names its files.
func pageSizeName(kb uint64) string {
	switch {
	case kb >= 1<<20 && kb%(1<<20) == 0:
		return fmt.Sprintf("%dGB", kb>>20)
	case kb >= 1<<10 && kb%(1<<10) == 0:
		return fmt.Sprintf("%dMB", kb>>10)
	}
	return fmt.Sprintf("%dKB", kb)
}

// hugetlb plans linux.resources.hugepageLimits: the fault limit and, where
// the kernel has them, the reservation limit ("default to reservation
// limits if supported").
func (p *planner) hugetlb(r *specs.LinuxResources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	sizes, err := hugePageSizes()
	if err != nil {
		return fieldErr("linux.resources.hugepageLimits", "this host has no huge pages: %v", err)
	}
	for i, h := range r.HugepageLimits {
		ok := false
		for _, s := range sizes {
			ok = ok || s == h.Pagesize
		}
		if !ok {
			return fieldErr(fmt.Sprintf("linux.resources.hugepageLimits[%d].pageSize", i), "%q is not a huge page size of this host (it has %s)", h.Pagesize, strings.Join(sizes, ", "))
		}
	}
	dir, v2, err := p.dest("linux.resources.hugepageLimits", "hugetlb", "hugetlb")
	if err != nil {
		return err
	}
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("linux.resources.hugepageLimits[%d].limit", i)
		limitFile, rsvdFile := "hugetlb."+h.Pagesize+".limit_in_bytes", "hugetlb."+h.Pagesize+".rsvd.limit_in_bytes"
		if v2 {
			limitFile, rsvdFile = "hugetlb."+h.Pagesize+".max", "hugetlb."+h.Pagesize+".rsvd.max"
		}
		p.add(op{field: field, dir: dir, file: limitFile, value: utoa(h.Limit)})
		p.add(op{field: field, dir: dir, file: rsvdFile, value: utoa(h.Limit), missingOK: true})
	}
	return nil
}

func badName(s string) bool {
	return s == "" || strings.ContainsAny(s, " \t\n\r\x00/")
}

// network plans linux.resources.network on the v1 net_cls and net_prio
// controllers. A v1 or hybrid host without the controller a value needs
// refuses it, as runc's cgroupfs driver does (silently dropping a traffic
// class would leave the container's packets unclassified). cgroup2 has
// neither controller (it leaves packet classification to eBPF), and there
// runc ignores the field: so does nook.
func (p *planner) network(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	const f = "linux.resources.network."
	for i, pr := range n.Priorities {
		if badName(pr.Name) {
			return fieldErr(fmt.Sprintf("%spriorities[%d].name", f, i), "%q is not an interface name", pr.Name)
		}
	}
	if p.m.st.Mode == ModeV2 {
		return nil
	}
	if n.ClassID != nil {
		d := p.m.st.Paths["net_cls"]
		// Class 0 is "no class", what a new cgroup has unless its parent
		// has one: without the controller there is nothing to reset, and
		// runc takes 0 as unset.
		if d == "" && *n.ClassID != 0 {
			return fieldErr(f+"classID", "the net_cls cgroup controller is not mounted on this host")
		}
		if d != "" {
			p.add(op{field: f + "classID", dir: d, file: "net_cls.classid", value: utoa(uint64(*n.ClassID))})
		}
	}
	if len(n.Priorities) == 0 {
		return nil
	}
	d := p.m.st.Paths["net_prio"]
	if d == "" {
		return fieldErr(f+"priorities", "the net_prio cgroup controller is not mounted on this host")
	}
	for i, pr := range n.Priorities {
		p.add(op{field: fmt.Sprintf("%spriorities[%d]", f, i), dir: d, file: "net_prio.ifpriomap", value: fmt.Sprintf("%s %d", pr.Name, pr.Priority)})
	}
	return nil
}

// rdma plans linux.resources.rdma: one "dev hca_handle=N hca_object=M"
// line per device in rdma.max (the same on v1 and v2).
func (p *planner) rdma(r *specs.LinuxResources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	devs := make([]string, 0, len(r.Rdma))
	for d := range r.Rdma {
		if badName(d) {
			return fieldErr("linux.resources.rdma", "%q is not an RDMA device name", d)
		}
		devs = append(devs, d)
	}
	sort.Strings(devs)
	dir, _, err := p.dest("linux.resources.rdma", "rdma", "rdma")
	if err != nil {
		return err
	}
	for _, d := range devs {
		l := r.Rdma[d]
		line := d
		if l.HcaHandles != nil {
			line += fmt.Sprintf(" hca_handle=%d", *l.HcaHandles)
		}
		if l.HcaObjects != nil {
			line += fmt.Sprintf(" hca_object=%d", *l.HcaObjects)
		}
		if line != d {
			p.add(op{field: fmt.Sprintf("linux.resources.rdma[%q]", d), dir: dir, file: "rdma.max", value: line})
		}
	}
	return nil
}

// unified plans linux.resources.unified: raw cgroup2 files of the
// container's cgroup2 directory. A key must be a "controller.parameter"
// file name of an available controller; files that move, kill or freeze
// processes are not resources and are refused. On a hybrid host only the
// controllers cgroup2 runs (hugetlb, say) can be set this way.
func (p *planner) unified(r *specs.LinuxResources) error {
	if len(r.Unified) == 0 {
		return nil
	}
	const f = "linux.resources.unified"
	dir := p.m.unified()
	if p.m.st.Mode == ModeV1 || dir == "" {
		return fieldErr(f, "cgroup v2 keys cannot be set on a cgroup v1 host")
	}
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dirExists := exists(dir)
	for _, k := range keys {
		field := fmt.Sprintf("%s[%q]", f, k)
		ctrl, param, ok := strings.Cut(k, ".")
		if !ok || ctrl == "" || param == "" || strings.ContainsAny(k, "/\x00") || strings.HasPrefix(param, ".") {
			return fieldErr(field, "not a cgroup2 file name of the form CONTROLLER.PARAMETER")
		}
		switch k {
		case "cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.freeze":
			return fieldErr(field, "not a resource: it moves, kills or freezes processes")
		}
		if ctrl != "cgroup" && !p.has(ctrl) {
			why := ""
			if p.m.st.Paths[ctrl] != "" || (ctrl == "io" && p.m.st.Paths["blkio"] != "") {
				why = "; on this hybrid host it runs as cgroup v1"
			}
			return fieldErr(field, "the %s controller is not available in the cgroup2 hierarchy (it offers %s%s)", ctrl, p.availList(), why)
		}
		if dirExists {
			st, err := os.Lstat(filepath.Join(dir, k))
			if err != nil || !st.Mode().IsRegular() {
				return fieldErr(field, "%s is not a file of the container's cgroup", filepath.Join(dir, k))
			}
		}
		// Multi-line values (io.max for several devices) are one write
		// per line: cgroupfs takes one command per write.
		for _, line := range strings.Split(r.Unified[k], "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			p.add(op{field: field, dir: dir, file: k, value: line})
		}
	}
	return nil
}
