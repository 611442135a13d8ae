package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Block I/O weights are 10..1000 (0 or absent: not set).
const (
	minBlkioWeight = 10
	maxBlkioWeight = 1000
)

// blkioToIOWeight maps a blkio weight (10..1000) onto cgroup2 io.weight
// (1..10000) linearly, as runc and crun do.
func blkioToIOWeight(w uint16) uint64 {
	return 1 + (uint64(w)-10)*9999/990
}

func checkWeight(field string, w *uint16) error {
	if w != nil && *w != 0 && (*w < minBlkioWeight || *w > maxBlkioWeight) {
		return fieldErr(field, "%d is out of range (%d-%d)", *w, minBlkioWeight, maxBlkioWeight)
	}
	return nil
}

func set16(w *uint16) bool { return w != nil && *w != 0 }

func devNum(field string, d specs.LinuxBlockIODevice) (string, error) {
	if d.Major < 0 || d.Minor < 0 {
		return "", fieldErr(field, "device %d:%d is not valid", d.Major, d.Minor)
	}
	return fmt.Sprintf("%d:%d", d.Major, d.Minor), nil
}

type throttle struct {
	name   string // OCI field
	list   []specs.LinuxThrottleDevice
	v1file string
	v2key  string
}

// blockIO plans linux.resources.blockIO. leafWeight exists only for v1's
// CFQ and is ignored on cgroup2.
func (p *planner) blockIO(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	const f = "linux.resources.blockIO."
	if err := checkWeight(f+"weight", b.Weight); err != nil {
		return err
	}
	if err := checkWeight(f+"leafWeight", b.LeafWeight); err != nil {
		return err
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("%sweightDevice[%d]", f, i)
		if _, err := devNum(field, wd.LinuxBlockIODevice); err != nil {
			return err
		}
		if err := checkWeight(field+".weight", wd.Weight); err != nil {
			return err
		}
		if err := checkWeight(field+".leafWeight", wd.LeafWeight); err != nil {
			return err
		}
	}
	throttles := []throttle{
		{"throttleReadBpsDevice", b.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device", "rbps"},
		{"throttleWriteBpsDevice", b.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device", "wbps"},
		{"throttleReadIOPSDevice", b.ThrottleReadIOPSDevice, "blkio.throttle.read_iops_device", "riops"},
		{"throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice, "blkio.throttle.write_iops_device", "wiops"},
	}
	n := 0
	for _, t := range throttles {
		for i, d := range t.list {
			if _, err := devNum(fmt.Sprintf("%s%s[%d]", f, t.name, i), d.LinuxBlockIODevice); err != nil {
				return err
			}
		}
		n += len(t.list)
	}
	if !set16(b.Weight) && !set16(b.LeafWeight) && len(b.WeightDevice) == 0 && n == 0 {
		return nil
	}
	dir, v2, err := p.dest("linux.resources.blockIO", "blkio", "io")
	if err != nil {
		return err
	}
	if v2 {
		return p.blockIOV2(b, dir, throttles)
	}

	// CFQ offered blkio.weight; since 5.0 only BFQ's blkio.bfq.weight can
	// exist, and only when BFQ is built.
	weightFile, devFile := "blkio.weight", "blkio.weight_device"
	if !probe(dir, weightFile) && probe(dir, "blkio.bfq.weight") {
		weightFile, devFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	needWeight := set16(b.Weight)
	for _, wd := range b.WeightDevice {
		needWeight = needWeight || set16(wd.Weight)
	}
	if needWeight && !probe(dir, weightFile) {
		return fieldErr(f+"weight", "this kernel has no proportional-weight I/O scheduler for cgroup v1 (no blkio.weight nor blkio.bfq.weight)")
	}
	needLeaf := set16(b.LeafWeight)
	for _, wd := range b.WeightDevice {
		needLeaf = needLeaf || set16(wd.LeafWeight)
	}
	if needLeaf && !probe(dir, "blkio.leaf_weight") {
		return fieldErr(f+"leafWeight", "this kernel has no CFQ scheduler (no blkio.leaf_weight)")
	}
	if set16(b.Weight) {
		p.add(op{field: f + "weight", dir: dir, file: weightFile, value: utoa(uint64(*b.Weight))})
	}
	if set16(b.LeafWeight) {
		p.add(op{field: f + "leafWeight", dir: dir, file: "blkio.leaf_weight", value: utoa(uint64(*b.LeafWeight))})
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("%sweightDevice[%d]", f, i)
		dev, _ := devNum(field, wd.LinuxBlockIODevice)
		if set16(wd.Weight) {
			p.add(op{field: field + ".weight", dir: dir, file: devFile, value: fmt.Sprintf("%s %d", dev, *wd.Weight)})
		}
		if set16(wd.LeafWeight) {
			p.add(op{field: field + ".leafWeight", dir: dir, file: "blkio.leaf_weight_device", value: fmt.Sprintf("%s %d", dev, *wd.LeafWeight)})
		}
	}
	for _, t := range throttles {
		for i, d := range t.list {
			dev, _ := devNum("", d.LinuxBlockIODevice)
			p.add(op{field: fmt.Sprintf("%s%s[%d]", f, t.name, i), dir: dir, file: t.v1file, value: fmt.Sprintf("%s %d", dev, d.Rate)})
		}
	}
	return nil
}

// blockIOV2 maps blockIO onto cgroup2: weights go to io.bfq.weight (same
// scale) when BFQ is in use, else to io.weight (converted); throttles go to
// io.max, where a rate of 0 means "max".
func (p *planner) blockIOV2(b *specs.LinuxBlockIO, dir string, throttles []throttle) error {
	const f = "linux.resources.blockIO."
	if set16(b.Weight) {
		p.add(op{field: f + "weight", dir: dir, file: "io.bfq.weight", value: utoa(uint64(*b.Weight)),
			alt: "io.weight", altValue: utoa(blkioToIOWeight(*b.Weight))})
	}
	for i, wd := range b.WeightDevice {
		if !set16(wd.Weight) {
			continue
		}
		field := fmt.Sprintf("%sweightDevice[%d]", f, i)
		dev, _ := devNum(field, wd.LinuxBlockIODevice)
		p.add(op{field: field + ".weight", dir: dir, file: "io.bfq.weight", value: fmt.Sprintf("%s %d", dev, *wd.Weight),
			alt: "io.weight", altValue: fmt.Sprintf("%s %d", dev, blkioToIOWeight(*wd.Weight))})
	}
	for _, t := range throttles {
		for i, d := range t.list {
			dev, _ := devNum("", d.LinuxBlockIODevice)
			rate := "max"
			if d.Rate != 0 {
				rate = utoa(d.Rate)
			}
			p.add(op{field: fmt.Sprintf("%s%s[%d]", f, t.name, i), dir: dir, file: "io.max", value: fmt.Sprintf("%s %s=%s", dev, t.v2key, rate)})
		}
	}
	return nil
}
