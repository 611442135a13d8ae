package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// commandNames are the single commands timed after the lifecycles, in
// report order. run: `run --bundle B ID` of true in the foreground, to its
// exit; exec, state and kill-0: `exec ID true`, `state ID` and `kill ID 0`
// on one running container per runtime; kill: `kill ID KILL` of a freshly
// started container.
var commandNames = []string{"run", "exec", "state", "kill-0", "kill"}

// cmdStats is what one runtime did on one single command.
type cmdStats struct {
	runs     []time.Duration
	failures int
	firstErr string
	skipped  string // set when the warm-up failed: no samples then
}

func (rt *runtime) cmd(name string) *cmdStats {
	c := rt.cmds[name]
	if c == nil {
		c = &cmdStats{}
		rt.cmds[name] = c
	}
	return c
}

// timed runs one runtime command (output to the log) and returns how long
// it took from exec to exit, as the lifecycle's steps are timed.
func (rt *runtime) timed(args ...string) (time.Duration, error) {
	t := time.Now()
	_, err := rt.exec(nil, args...)
	return time.Since(t), err
}

// startSleeper creates and starts a container whose init sleeps.
func (rt *runtime) startSleeper(id string) error {
	rt.live[id] = true
	if _, err := rt.exec(nil, "create", "--bundle", rt.sleepBundle, id); err != nil {
		return err
	}
	_, err := rt.exec(nil, "start", id)
	return err
}

// timeRun times `run` of the bundle's true in the foreground: the runtime
// creates, starts, waits for and deletes the container. Whatever it left
// is force-deleted afterwards, untimed.
func (rt *runtime) timeRun(id string) (time.Duration, error) {
	rt.live[id] = true
	d, err := rt.timed("run", "--bundle", rt.bundle, id)
	if gerr := rt.ensureGone(id); err == nil {
		err = gerr
	}
	return d, err
}

// timeKill starts a sleeping container and times `kill ID KILL`; then,
// untimed, it waits until the container is stopped (so a kill that does
// not kill is an error) and deletes it.
func (rt *runtime) timeKill(o *options, id string) (time.Duration, error) {
	if err := rt.startSleeper(id); err != nil {
		_ = rt.ensureGone(id) // cleanup reports it if it stays
		return 0, err
	}
	d, err := rt.timed("kill", id, "KILL")
	if err == nil {
		_, err = rt.waitStopped(o, id)
	}
	if gerr := rt.ensureGone(id); err == nil {
		err = gerr
	}
	return d, err
}

// commandsPhase times each single command o.commandsN times per runtime
// after one uncounted warm-up, which decides whether the runtime can do
// that command at all. Like the lifecycles, runtimes alternate within
// each iteration and each command.
func commandsPhase(ctx context.Context, o *options, rts []*runtime) {
	sleeper := map[*runtime]string{}
	for _, rt := range rts {
		if rt.skipped != "" || ctx.Err() != nil {
			continue
		}
		id := rt.id("sleeper")
		if err := rt.startSleeper(id); err != nil {
			for _, name := range []string{"exec", "state", "kill-0"} {
				rt.cmd(name).skipped = "its running container did not start:\n" + indent(err.Error())
			}
			continue
		}
		sleeper[rt] = id
	}
	steps := []struct {
		name string
		f    func(rt *runtime, tag string) (time.Duration, error)
	}{
		{"run", func(rt *runtime, tag string) (time.Duration, error) { return rt.timeRun(rt.id("run" + tag)) }},
		{"exec", func(rt *runtime, _ string) (time.Duration, error) { return rt.timed("exec", sleeper[rt], "true") }},
		{"state", func(rt *runtime, _ string) (time.Duration, error) { return rt.timed("state", sleeper[rt]) }},
		{"kill-0", func(rt *runtime, _ string) (time.Duration, error) { return rt.timed("kill", sleeper[rt], "0") }},
		{"kill", func(rt *runtime, tag string) (time.Duration, error) { return rt.timeKill(o, rt.id("kill"+tag)) }},
	}
	// i == -1 is the warm-up.
	for i := -1; i < o.commandsN && ctx.Err() == nil; i++ {
		tag := fmt.Sprint(i)
		if i < 0 {
			tag = "w"
		}
		for _, st := range steps {
			for _, rt := range rts {
				c := rt.cmd(st.name)
				if rt.skipped != "" || c.skipped != "" || ctx.Err() != nil {
					continue
				}
				d, err := st.f(rt, tag)
				switch {
				case err != nil && i < 0:
					c.skipped = "warm-up failed:\n" + indent(err.Error())
				case err != nil:
					c.failures++
					if c.firstErr == "" {
						c.firstErr = err.Error()
						fmt.Fprintf(os.Stderr, "bench: %s %s %d failed: %v\n", rt.name, st.name, i, err)
					}
				case i >= 0:
					c.runs = append(c.runs, d)
				}
			}
		}
	}
	for rt, id := range sleeper {
		if err := rt.ensureGone(id); err != nil {
			fmt.Fprintf(os.Stderr, "bench: could not delete %s container %s: %v\n", rt.name, id, err)
		}
	}
}

func durDist(runs []time.Duration) *dist {
	v := make([]float64, len(runs))
	for i, d := range runs {
		v[i] = ms(d)
	}
	return floatDist(v)
}

func floatDist(v []float64) *dist {
	if len(v) == 0 {
		return nil
	}
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	return &dist{Median: percentile(v, 0.5), P10: percentile(v, 0.1), P90: percentile(v, 0.9)}
}

type commandResult struct {
	OK         int    `json:"ok"`
	Failed     int    `json:"failed"`
	Skipped    string `json:"skipped,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	Ms         *dist  `json:"ms,omitempty"`
}

type commandsRuntime struct {
	Name     string                    `json:"name"`
	Commands map[string]*commandResult `json:"commands"`
}

type commandsRatio struct {
	Runtime  string             `json:"runtime"`
	Baseline string             `json:"baseline"`
	Medians  map[string]float64 `json:"medians"`
}

type commandsResult struct {
	N        int               `json:"n"`
	Runtimes []commandsRuntime `json:"runtimes"`
	Ratios   []commandsRatio   `json:"ratios"`
}

// commandsReport prints the single-command medians and their ratios
// against the baseline (and nook/crun, the speed nook aims at), and
// stores them in res for -json.
func commandsReport(o *options, rts []*runtime, res *results) {
	cr := &commandsResult{N: o.commandsN, Ratios: []commandsRatio{}}
	byName := map[string]map[string]*commandResult{}
	for _, rt := range rts {
		if rt.skipped != "" {
			continue
		}
		r := commandsRuntime{Name: rt.name, Commands: map[string]*commandResult{}}
		for _, name := range commandNames {
			c := rt.cmd(name)
			r.Commands[name] = &commandResult{OK: len(c.runs), Failed: c.failures, Skipped: c.skipped,
				FirstError: c.firstErr, Ms: durDist(c.runs)}
		}
		cr.Runtimes = append(cr.Runtimes, r)
		byName[rt.name] = r.Commands
	}
	res.Commands = cr

	fmt.Printf("\nsingle commands (median ms of %d per runtime after 1 warm-up, interleaved):\n", o.commandsN)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runtime\t"+strings.Join(commandNames, " ms\t")+" ms\t")
	var notes []string
	for _, r := range cr.Runtimes {
		cells := []string{r.Name}
		for _, name := range commandNames {
			c := r.Commands[name]
			switch {
			case c.Skipped != "":
				cells = append(cells, "-")
				notes = append(notes, fmt.Sprintf("skip %s %s: %s", r.Name, name, c.Skipped))
			case c.OK == 0:
				cells = append(cells, "-")
			default:
				cells = append(cells, fmt.Sprintf("%.2f", c.Ms.Median))
			}
			if c.Failed > 0 {
				notes = append(notes, fmt.Sprintf("%s %s: %d of %d failed, first: %s", r.Name, name, c.Failed, o.commandsN, c.FirstError))
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Println("(run: `run --bundle B ID` of true in the foreground, to its exit; exec, state, kill-0: `exec ID true`, `state ID`,\n" +
		" `kill ID 0` on one running container; kill: `kill ID KILL` of a freshly started container)")
	for _, n := range notes {
		fmt.Println(n)
	}
	ratioLine := func(rtName, baseName string) *commandsRatio {
		r, base := byName[rtName], byName[baseName]
		if r == nil || base == nil {
			return nil
		}
		q := &commandsRatio{Runtime: rtName, Baseline: baseName, Medians: map[string]float64{}}
		var cells []string
		for _, name := range commandNames {
			if r[name].Ms == nil || base[name].Ms == nil {
				cells = append(cells, "-")
				continue
			}
			v := div(r[name].Ms.Median, base[name].Ms.Median)
			q.Medians[name] = v
			cells = append(cells, fmt.Sprintf("%.2f", v))
		}
		fmt.Printf("ratio %s/%s commands (%s): %s\n", rtName, baseName, strings.Join(commandNames, " "), strings.Join(cells, " "))
		return q
	}
	var names []string
	for _, r := range cr.Runtimes {
		names = append(names, r.Name)
	}
	cr.Ratios = append(cr.Ratios, eachRatio(names, o.baseline, ratioLine)...)
}
