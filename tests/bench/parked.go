package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// parkStats is what one runtime's parked containers (created, never
// started) cost: their processes' memory and list's time.
type parkStats struct {
	ids     []string
	failed  string // why the runtime has no (or no more) measurements
	mem     []memSample
	listK   []time.Duration // list of the root holding the parked containers
	list0   []time.Duration // list of a root that holds none
	listErr string
}

// memSample is the memory of one parked container, in KiB.
type memSample struct {
	rss, anon, pss int64 // the init: VmRSS, RssAnon, Pss
	others         int   // processes the runtime leaves besides the init
	othersPss      int64
	stateDir       int64 // allocated size of <root>/<id>
}

func (m memSample) host() int64 { return m.pss + m.othersPss }

// parkedPhase creates o.parked containers per runtime (interleaved) and,
// with all of them parked, reads each one's memory and times `list` of
// that root against `list` of an empty one, o.listRuns times per runtime
// after a warm-up. It deletes the parked containers before it returns.
func parkedPhase(ctx context.Context, o *options, rts []*runtime) {
	for k := 0; k < o.parked && ctx.Err() == nil; k++ {
		for _, rt := range rts {
			if rt.skipped != "" || rt.park.failed != "" || ctx.Err() != nil {
				continue
			}
			id := rt.id(fmt.Sprintf("park%d", k))
			rt.live[id] = true
			if _, err := rt.exec(nil, "create", "--bundle", rt.bundle, id); err != nil {
				rt.park.failed = "create failed:\n" + indent(err.Error())
				_ = rt.ensureGone(id) // cleanup reports it if it stays
				continue
			}
			rt.park.ids = append(rt.park.ids, id)
		}
	}
	// Read after every runtime has all of its containers parked: PSS
	// splits a shared page among all the processes that map it.
	for _, rt := range rts {
		if rt.skipped != "" || rt.park.failed != "" {
			continue
		}
		for _, id := range rt.park.ids {
			if ctx.Err() != nil {
				break
			}
			m, err := rt.parkedMemory(id)
			if err != nil {
				rt.park.failed = "reading memory:\n" + indent(err.Error())
				break
			}
			rt.park.mem = append(rt.park.mem, m)
		}
	}
	if o.listRuns > 0 {
		timeLists(ctx, o, rts)
	}
	for _, rt := range rts {
		for _, id := range rt.park.ids {
			if err := rt.ensureGone(id); err != nil {
				fmt.Fprintf(os.Stderr, "bench: could not delete %s container %s: %v\n", rt.name, id, err)
			}
		}
	}
}

// timeLists times `list` (the table) with the parked containers and with
// none, alternating runtimes. The warm-up (m == -1) also checks that list
// shows exactly the parked containers, so the difference is theirs.
func timeLists(ctx context.Context, o *options, rts []*runtime) {
	for m := -1; m < o.listRuns && ctx.Err() == nil; m++ {
		for _, rt := range rts {
			p := &rt.park
			if rt.skipped != "" || p.failed != "" || p.listErr != "" || ctx.Err() != nil {
				continue
			}
			t := time.Now()
			_, err := rt.execIn(rt.emptyRoot, nil, "list")
			d0 := time.Since(t)
			if err == nil {
				t = time.Now()
				_, err = rt.exec(nil, "list")
			}
			dK := time.Since(t)
			if err == nil && m < 0 {
				err = rt.checkList(len(p.ids))
			}
			if err != nil {
				p.listErr = err.Error()
				continue
			}
			if m >= 0 {
				p.list0, p.listK = append(p.list0, d0), append(p.listK, dK)
			}
		}
	}
}

func (rt *runtime) checkList(want int) error {
	var out bytes.Buffer
	if _, err := rt.exec(&out, "list", "-q"); err != nil {
		return err
	}
	if got := len(strings.Fields(out.String())); got != want {
		return fmt.Errorf("%s list -q shows %d containers, want the %d parked ones", rt.name, got, want)
	}
	return nil
}

// parkedMemory reads the memory of a parked container's init (pid from
// `state`) and of any process the runtime keeps for it besides: nook's
// exit keeper, whose pid is exitKeeper in <root>/<id>/state.json (runc
// and crun keep none; their state files have no such field).
func (rt *runtime) parkedMemory(id string) (memSample, error) {
	var m memSample
	var out bytes.Buffer
	st, err := rt.state(&out, id)
	if err != nil {
		return m, err
	}
	if st.Status != specs.StateCreated || st.Pid <= 0 {
		return m, fmt.Errorf("%s %s: status %q pid %d, want a created container with its init", rt.name, id, st.Status, st.Pid)
	}
	status, err := procKiB(fmt.Sprintf("/proc/%d/status", st.Pid), "VmRSS", "RssAnon")
	if err != nil {
		return m, err
	}
	m.rss, m.anon = status["VmRSS"], status["RssAnon"]
	if m.pss, err = pssKiB(st.Pid); err != nil {
		return m, err
	}
	keeper, err := exitKeeper(filepath.Join(rt.root, id, "state.json"))
	if err != nil {
		return m, err
	}
	if keeper > 0 {
		m.others = 1
		// create's keeper runs its program once create has exited
		// (nsenter/keeperlaunch.c); until then it holds create's memory.
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", keeper)); err != nil || string(comm) == "nook-keeper\n" {
				break
			}
		}
		if m.othersPss, err = pssKiB(keeper); err != nil {
			return m, fmt.Errorf("exit keeper of %s: %w", id, err)
		}
	}
	m.stateDir, err = allocatedKiB(filepath.Join(rt.root, id))
	return m, err
}

// exitKeeper returns the exitKeeper pid a state.json names, 0 if the file
// does not exist (crun keeps a "status" file instead) or has no such field.
func exitKeeper(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var st struct {
		ExitKeeper int `json:"exitKeeper"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return st.ExitKeeper, nil
}

// pssKiB is the proportional set size of a process: each page it maps
// counted divided by the number of processes mapping it, so summing it
// over processes gives what they cost the host together.
func pssKiB(pid int) (int64, error) {
	v, err := procKiB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss")
	return v["Pss"], err
}

// procKiB reads "Name:   123 kB" lines of a /proc file; every name asked
// for must be there.
func procKiB(path string, names ...string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	got := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !want[name] {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return nil, fmt.Errorf("%s: unexpected line %q", path, line)
		}
		if got[name], err = strconv.ParseInt(f[0], 10, 64); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, line, err)
		}
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			return nil, fmt.Errorf("%s has no %s line", path, n)
		}
	}
	return got, nil
}

// allocatedKiB is what du says of a directory tree: allocated blocks.
func allocatedKiB(dir string) (int64, error) {
	var sum int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			sum += st.Blocks * 512
		}
		return nil
	})
	return sum / 1024, err
}

// fsKind names the file system type of path for the report's note.
func fsKind(path string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "an unknown file system"
	}
	if st.Type == unix.TMPFS_MAGIC {
		return "tmpfs (memory)"
	}
	return "a disk file system"
}

type parkedRuntime struct {
	Name          string   `json:"name"`
	Parked        int      `json:"parked"`
	Error         string   `json:"error,omitempty"`
	InitRSSMiB    *dist    `json:"init_rss_mib,omitempty"`
	InitAnonMiB   *dist    `json:"init_rss_anon_mib,omitempty"`
	InitPSSMiB    *dist    `json:"init_pss_mib,omitempty"`
	OtherProcs    float64  `json:"other_processes_median"`
	OtherPSSMiB   *dist    `json:"other_pss_mib,omitempty"`
	HostMiB       *dist    `json:"host_mib_per_container,omitempty"`
	StateDirKiB   *dist    `json:"state_dir_kib,omitempty"`
	ListError     string   `json:"list_error,omitempty"`
	ListParkedMs  *dist    `json:"list_parked_ms,omitempty"`
	ListEmptyMs   *dist    `json:"list_empty_ms,omitempty"`
	ListPerContMs *float64 `json:"list_per_container_ms,omitempty"`
}

type parkedRatio struct {
	Runtime          string  `json:"runtime"`
	Baseline         string  `json:"baseline"`
	InitRSS          float64 `json:"init_rss"`
	HostMemory       float64 `json:"host_memory"`
	ListPerContainer float64 `json:"list_per_container"`
}

type parkedResult struct {
	K        int             `json:"k"`
	ListRuns int             `json:"list_runs"`
	Runtimes []parkedRuntime `json:"runtimes"`
	Ratios   []parkedRatio   `json:"ratios"`
}

func memDist(mem []memSample, get func(memSample) float64) *dist {
	v := make([]float64, len(mem))
	for i, m := range mem {
		v[i] = get(m)
	}
	return floatDist(v)
}

func parkedOf(rt *runtime) parkedRuntime {
	p := &rt.park
	r := parkedRuntime{Name: rt.name, Parked: len(p.ids), Error: p.failed, ListError: p.listErr}
	if len(p.mem) > 0 {
		mib := func(kib int64) float64 { return float64(kib) / 1024 }
		r.InitRSSMiB = memDist(p.mem, func(m memSample) float64 { return mib(m.rss) })
		r.InitAnonMiB = memDist(p.mem, func(m memSample) float64 { return mib(m.anon) })
		r.InitPSSMiB = memDist(p.mem, func(m memSample) float64 { return mib(m.pss) })
		r.OtherProcs = memDist(p.mem, func(m memSample) float64 { return float64(m.others) }).Median
		r.OtherPSSMiB = memDist(p.mem, func(m memSample) float64 { return mib(m.othersPss) })
		r.HostMiB = memDist(p.mem, func(m memSample) float64 { return mib(m.host()) })
		r.StateDirKiB = memDist(p.mem, func(m memSample) float64 { return float64(m.stateDir) })
	}
	if len(p.listK) > 0 && len(p.ids) > 0 {
		r.ListParkedMs, r.ListEmptyMs = durDist(p.listK), durDist(p.list0)
		// Each run's pair is timed back to back, so its difference is
		// steadier than the difference of the two medians.
		diffs := make([]float64, len(p.listK))
		for i := range p.listK {
			diffs[i] = ms(p.listK[i]-p.list0[i]) / float64(len(p.ids))
		}
		r.ListPerContMs = &floatDist(diffs).Median
	}
	return r
}

// parkedReport prints the parked containers' memory and list cost with
// ratios against the baseline (and nook/crun), and stores them in res.
func parkedReport(o *options, rts []*runtime, res *results) {
	pr := &parkedResult{K: o.parked, ListRuns: o.listRuns, Ratios: []parkedRatio{}}
	for _, rt := range rts {
		if rt.skipped == "" {
			pr.Runtimes = append(pr.Runtimes, parkedOf(rt))
		}
	}
	res.Parked = pr

	fmt.Printf("\nparked containers (%d created, never started, per runtime; medians over them; list: %d runs, interleaved):\n",
		o.parked, o.listRuns)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runtime\tparked\tinit RSS MiB\tinit anon MiB\tinit PSS MiB\tother procs\tothers' PSS MiB\thost MiB/container\tstate dir KiB\tlist ms\tlist empty ms\tlist ms/container\t")
	f := func(d *dist, format string) string {
		if d == nil {
			return "-"
		}
		return fmt.Sprintf(format, d.Median)
	}
	var notes []string
	byName := map[string]*parkedRuntime{}
	for i, r := range pr.Runtimes {
		byName[r.Name] = &pr.Runtimes[i]
		perCont := "-"
		if r.ListPerContMs != nil {
			perCont = fmt.Sprintf("%.3f", *r.ListPerContMs)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Parked,
			f(r.InitRSSMiB, "%.2f"), f(r.InitAnonMiB, "%.2f"), f(r.InitPSSMiB, "%.2f"), r.OtherProcs,
			f(r.OtherPSSMiB, "%.2f"), f(r.HostMiB, "%.2f"), f(r.StateDirKiB, "%.0f"),
			f(r.ListParkedMs, "%.2f"), f(r.ListEmptyMs, "%.2f"), perCont)
		if r.Error != "" {
			notes = append(notes, fmt.Sprintf("%s parked: %s", r.Name, r.Error))
		}
		if r.ListError != "" {
			notes = append(notes, fmt.Sprintf("%s list: %s", r.Name, r.ListError))
		}
	}
	tw.Flush()
	where := "an unknown file system"
	if len(rts) > 0 {
		where = fsKind(rts[0].root)
	}
	fmt.Printf("(init: the container's init waiting to be started, pid from `state`: VmRSS and RssAnon of /proc/<pid>/status, Pss of\n"+
		" /proc/<pid>/smaps_rollup. other procs: what the runtime keeps per container besides (nook: the exit keeper, pid\n"+
		" exitKeeper in <root>/<id>/state.json; runc and crun keep none). host MiB/container = init PSS + others' PSS: PSS\n"+
		" divides a shared page among the processes mapping it, so it falls as -parked grows. Not counted: kernel memory\n"+
		" (namespaces, page tables, cgroups) and the state dir, which is on %s here (allocated size shown).\n"+
		" list ms/container = median over the runs of (list with the parked containers - list of an empty root just before) / parked)\n", where)
	for _, n := range notes {
		fmt.Println(n)
	}
	ratioLine := func(name, baseName string) *parkedRatio {
		r, base := byName[name], byName[baseName]
		if r == nil || base == nil || r.HostMiB == nil || base.HostMiB == nil {
			return nil
		}
		q := &parkedRatio{Runtime: name, Baseline: baseName,
			InitRSS:    div(r.InitRSSMiB.Median, base.InitRSSMiB.Median),
			HostMemory: div(r.HostMiB.Median, base.HostMiB.Median)}
		list := "-"
		if r.ListPerContMs != nil && base.ListPerContMs != nil {
			q.ListPerContainer = div(*r.ListPerContMs, *base.ListPerContMs)
			list = fmt.Sprintf("%.2f", q.ListPerContainer)
		}
		fmt.Printf("ratio %s/%s parked (init RSS, host memory per container, list per container): %.2f %.2f %s\n",
			name, baseName, q.InitRSS, q.HostMemory, list)
		return q
	}
	var names []string
	for _, r := range pr.Runtimes {
		names = append(names, r.Name)
	}
	pr.Ratios = append(pr.Ratios, eachRatio(names, o.baseline, ratioLine)...)
}
