package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	ucli "github.com/urfave/cli/v2"

	"github.com/nookrt/nook/spec"
)

// updateFlags are runc's `update` flags; each sets one field of
// linux.resources.
func updateFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "path to a LinuxResources JSON file, or - for stdin; replaces the resources"},
		&ucli.StringFlag{Name: "blkio-weight", Usage: "block I/O weight (10-1000)"},
		&ucli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
		&ucli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds per period (-1: none)"},
		&ucli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst in microseconds"},
		&ucli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
		&ucli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in microseconds"},
		&ucli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in microseconds"},
		&ucli.StringFlag{Name: "cpu-idle", Usage: "1 to make the cgroup SCHED_IDLE (cgroup v2)"},
		&ucli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs allowed (e.g. 0-3,7)"},
		&ucli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes allowed"},
		&ucli.StringFlag{Name: "memory", Usage: "memory limit in bytes (-1: none)"},
		&ucli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit in bytes"},
		&ucli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit in bytes (-1: none)"},
		&ucli.StringFlag{Name: "kernel-memory", Usage: "kernel memory limit (deprecated; ignored)"},
		&ucli.StringFlag{Name: "kernel-memory-tcp", Usage: "kernel TCP memory limit (deprecated; ignored)"},
		&ucli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes (-1 or 0: none)"},
		&ucli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 schema (not supported)"},
		&ucli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema (not supported)"},
	}
}

func updateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "update",
		Usage:     "change the resource limits of a running container",
		ArgsUsage: "<container-id>",
		Flags:     updateFlags(),
		Action: func(ctx *ucli.Context) error {
			if err := requireArgs(ctx, 1, 1); err != nil {
				return err
			}
			return root(ctx).Update(ctx.Args().First(), func(current *specs.Spec) (*specs.LinuxResources, error) {
				return updatedResources(ctx, current)
			})
		},
	}
}

// updatedResources is --resources' JSON, or the resources in force with the
// flags' changes.
func updatedResources(ctx *ucli.Context, cfg *specs.Spec) (*specs.LinuxResources, error) {
	if path := ctx.String("resources"); path != "" {
		var in io.Reader = os.Stdin
		if path != "-" {
			b, err := spec.ReadRegularFile(path)
			if err != nil {
				return nil, fmt.Errorf("--resources %s: %w", path, err)
			}
			in = bytes.NewReader(b)
		}
		var res specs.LinuxResources
		if err := json.NewDecoder(in).Decode(&res); err != nil {
			return nil, fmt.Errorf("--resources: not a LinuxResources JSON object: %w", err)
		}
		return &res, nil
	}
	res := &specs.LinuxResources{}
	if cfg != nil && cfg.Linux != nil && cfg.Linux.Resources != nil {
		// A deep copy through JSON: the record is saved only on success.
		b, err := json.Marshal(cfg.Linux.Resources)
		if err == nil {
			json.Unmarshal(b, res)
		}
	}
	if err := applyUpdateFlags(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

func applyUpdateFlags(ctx *ucli.Context, res *specs.LinuxResources) error {
	if res.Memory == nil {
		res.Memory = &specs.LinuxMemory{}
	}
	if res.CPU == nil {
		res.CPU = &specs.LinuxCPU{}
	}
	i64 := func(name string, dst **int64) error {
		if !ctx.IsSet(name) {
			return nil
		}
		v, err := strconv.ParseInt(ctx.String(name), 10, 64)
		if err != nil {
			return fmt.Errorf("--%s %q: not a number", name, ctx.String(name))
		}
		*dst = &v
		return nil
	}
	u64 := func(name string, dst **uint64) error {
		if !ctx.IsSet(name) {
			return nil
		}
		v, err := strconv.ParseUint(ctx.String(name), 10, 64)
		if err != nil {
			return fmt.Errorf("--%s %q: not a non-negative number", name, ctx.String(name))
		}
		*dst = &v
		return nil
	}
	steps := []func() error{
		func() error { return i64("memory", &res.Memory.Limit) },
		func() error { return i64("memory-reservation", &res.Memory.Reservation) },
		func() error { return i64("memory-swap", &res.Memory.Swap) },
		func() error { return i64("kernel-memory", &res.Memory.Kernel) },        //nolint:staticcheck // accepted and ignored, as runc
		func() error { return i64("kernel-memory-tcp", &res.Memory.KernelTCP) }, //nolint:staticcheck
		func() error { return u64("cpu-period", &res.CPU.Period) },
		func() error { return i64("cpu-quota", &res.CPU.Quota) },
		func() error { return u64("cpu-burst", &res.CPU.Burst) },
		func() error { return u64("cpu-share", &res.CPU.Shares) },
		func() error { return u64("cpu-rt-period", &res.CPU.RealtimePeriod) },
		func() error { return i64("cpu-rt-runtime", &res.CPU.RealtimeRuntime) },
		func() error { return i64("cpu-idle", &res.CPU.Idle) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if ctx.IsSet("cpuset-cpus") {
		res.CPU.Cpus = ctx.String("cpuset-cpus")
	}
	if ctx.IsSet("cpuset-mems") {
		res.CPU.Mems = ctx.String("cpuset-mems")
	}
	if ctx.IsSet("pids-limit") {
		v, err := strconv.ParseInt(ctx.String("pids-limit"), 10, 64)
		if err != nil {
			return fmt.Errorf("--pids-limit %q: not a number", ctx.String("pids-limit"))
		}
		res.Pids = &specs.LinuxPids{Limit: &v}
	}
	if ctx.IsSet("blkio-weight") {
		v, err := strconv.ParseUint(ctx.String("blkio-weight"), 10, 16)
		if err != nil {
			return fmt.Errorf("--blkio-weight %q: not a number", ctx.String("blkio-weight"))
		}
		w := uint16(v)
		if res.BlockIO == nil {
			res.BlockIO = &specs.LinuxBlockIO{}
		}
		res.BlockIO.Weight = &w
	}
	if ctx.IsSet("l3-cache-schema") || ctx.IsSet("mem-bw-schema") {
		return fmt.Errorf("Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by nook")
	}
	return nil
}
