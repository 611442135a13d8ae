// Command summary keeps the score of `make test`: each test step pipes its
// output through it, and it records how many tests passed, failed and were
// skipped; at the end it prints one line per tier (unit, integration,
// conformance).
//
//	go test -json ... | summary gotest -dir D -tier unit -part go
//	tests/engines/run.sh | summary script -dir D -tier integration -part e2e -prefix engines:
//	summary print -dir D
//
// gotest reads `go test -json` and prints what `go test` without -json
// prints: the ok/FAIL line of each package, build errors, and the whole
// output of every failed test (skipped and passed tests stay quiet). It
// counts top-level tests (a subtest is part of its test); a package that
// fails without a failed test (build error, panic, time-out, TestMain's
// leftover check) counts as one failure.
//
// script copies a test script's output and reads its counts from the last
// line starting with prefix: "N passed, N failed[, N skipped]" (the words
// may read "assertions passed" and so on).
//
// Both read the step's exit status from D/<tier>.<part>.rc, which the shell
// writes before the pipe closes, record D/<tier>.<part>.json, print the
// step's own line and exit 1 if the step failed. print sums the records of
// each tier; a tier without any is "not run".
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// tiers are the tiers print reports, in order.
var tiers = []string{"unit", "integration", "conformance"}

// record is one step's result (a go test run or a script).
type record struct {
	Tier    string `json:"tier"`
	Part    string `json:"part"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	// Exit is the step's exit status (-1: unknown).
	Exit int `json:"exit"`
}

// ok: the step exited 0. A script may exit 0 with failed assertions it
// knows about (tests/validation's known failures), so the status decides.
func (r record) ok() bool { return r.Exit == 0 }

func (r record) counts() string {
	return fmt.Sprintf("passed %d, failed %d, skipped %d", r.Passed, r.Failed, r.Skipped)
}

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: summary gotest|script|print -dir DIR [-tier T -part P] [-prefix P]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "", "directory of the records")
	tier := fs.String("tier", "", "tier of this step: "+strings.Join(tiers, ", "))
	part := fs.String("part", "", "name of this step within its tier")
	prefix := fs.String("prefix", "", "script: the start of the line holding the counts")
	fs.Parse(os.Args[2:])
	if *dir == "" {
		fatalf("-dir is required")
	}
	switch os.Args[1] {
	case "gotest", "script":
		if *tier == "" || *part == "" {
			fatalf("%s: -tier and -part are required", os.Args[1])
		}
		r := record{Tier: *tier, Part: *part}
		if os.Args[1] == "gotest" {
			readGoTest(os.Stdin, os.Stdout, &r)
		} else {
			if *prefix == "" {
				fatalf("script: -prefix is required")
			}
			readScript(os.Stdin, os.Stdout, *prefix, &r)
		}
		os.Exit(finish(*dir, r))
	case "print":
		if !printTiers(os.Stdout, *dir) {
			os.Exit(1)
		}
	default:
		fatalf("unknown mode %q: want gotest, script or print", os.Args[1])
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "summary: "+format+"\n", a...)
	os.Exit(2)
}

// finish reads the step's exit status, writes its record, prints its line
// and returns this command's exit status.
func finish(dir string, r record) int {
	rcFile := filepath.Join(dir, r.Tier+"."+r.Part+".rc")
	r.Exit = -1
	if b, err := os.ReadFile(rcFile); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			r.Exit = n
		}
	}
	os.Remove(rcFile)
	// A step that failed without a failure counted (a crashed script, go
	// test's own error) still shows as one.
	if !r.ok() && r.Failed == 0 {
		r.Failed = 1
	}
	b, err := json.Marshal(r)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, r.Tier+"."+r.Part+".json"), b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "summary: record %s %s: %v\n", r.Tier, r.Part, err)
		return 1
	}
	fmt.Printf("%s (%s): %s\n", r.Tier, r.Part, r.counts())
	if !r.ok() {
		return 1
	}
	return 0
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// readGoTest prints a `go test -json` stream as go test prints without
// -json and counts its top-level tests into r.
func readGoTest(in io.Reader, out io.Writer, r *record) {
	// Output of the tests still running, by package and top-level test,
	// subtests' included, in the order it came.
	running := map[string]map[string][]string{}
	// Failed top-level tests per package, to tell a package failing on
	// its own.
	failedIn := map[string]int{}
	// The package's own lines, printed when it is done, after any test
	// that never ended, as go test orders them.
	pkgOut := map[string][]string{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Action == "" {
			fmt.Fprintln(out, sc.Text()) // not an event: go's own message
			continue
		}
		top, _, sub := strings.Cut(ev.Test, "/")
		switch {
		case ev.Action == "build-output":
			io.WriteString(out, ev.Output)
		case ev.Test == "" && ev.Action == "output":
			// The package's own lines: "ok  pkg 0.1s", "FAIL pkg",
			// what TestMain prints. go test hides the bare PASS.
			if ev.Output != "PASS\n" && !strings.HasPrefix(ev.Output, "=== ") {
				pkgOut[ev.Package] = append(pkgOut[ev.Package], ev.Output)
			}
		case ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip"):
			// The package is done: a test that never ended (a panic or
			// time-out ended the binary) failed.
			for name, lines := range running[ev.Package] {
				r.Failed++
				failedIn[ev.Package]++
				printTest(out, lines, name+": did not finish")
			}
			delete(running, ev.Package)
			for _, l := range pkgOut[ev.Package] {
				io.WriteString(out, l)
			}
			delete(pkgOut, ev.Package)
			if ev.Action == "fail" && failedIn[ev.Package] == 0 {
				r.Failed++
			}
		case ev.Test == "":
		case ev.Action == "output":
			if running[ev.Package] == nil {
				running[ev.Package] = map[string][]string{}
			}
			running[ev.Package][top] = append(running[ev.Package][top], ev.Output)
		case sub || (ev.Action != "pass" && ev.Action != "fail" && ev.Action != "skip"):
			// A subtest's end, or run/pause/cont: nothing to count.
		default:
			lines := running[ev.Package][top]
			delete(running[ev.Package], top)
			switch ev.Action {
			case "pass":
				r.Passed++
			case "skip":
				r.Skipped++
			case "fail":
				r.Failed++
				failedIn[ev.Package]++
				printTest(out, lines, "")
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "summary: reading go test's output: %v\n", err)
		r.Failed++
	}
}

// printTest prints a failed test's output without test2json's === lines.
func printTest(out io.Writer, lines []string, note string) {
	if note != "" {
		fmt.Fprintf(out, "--- FAIL: %s\n", note)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "=== ") {
			io.WriteString(out, l)
		}
	}
}

// countsLine matches "3 passed, 1 failed, 2 skipped", the words optionally
// qualified ("12 assertions passed, 0 assertions failed").
var countsLine = regexp.MustCompile(`(\d+) (?:\w+ )?passed, (\d+) (?:\w+ )?failed(?:, (\d+) (?:\w+ )?skipped)?`)

// readScript copies a script's output and takes r's counts from the last
// line that starts with prefix and holds counts.
func readScript(in io.Reader, out io.Writer, prefix string, r *record) {
	found := false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		l := sc.Text()
		fmt.Fprintln(out, l)
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		if m := countsLine.FindStringSubmatch(l); m != nil {
			r.Passed, _ = strconv.Atoi(m[1])
			r.Failed, _ = strconv.Atoi(m[2])
			r.Skipped, _ = strconv.Atoi(m[3]) // "" (no skipped count) is 0
			found = true
		}
	}
	if !found {
		fmt.Fprintf(out, "summary: no line starting with %q gave the counts\n", prefix)
	}
}

// printTiers prints one line per tier, summing its steps' records, and
// says whether every step passed.
func printTiers(out io.Writer, dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	byTier := map[string][]record{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		var r record
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			fmt.Fprintf(out, "summary: %s: %v\n", f, err)
			return false
		}
		byTier[r.Tier] = append(byTier[r.Tier], r)
	}
	allOK := true
	for _, t := range tiers {
		recs := byTier[t]
		if len(recs) == 0 {
			fmt.Fprintf(out, "%-12s not run\n", t+":")
			continue
		}
		sum := record{Tier: t}
		var parts, failedParts []string
		for _, r := range recs {
			sum.Passed += r.Passed
			sum.Failed += r.Failed
			sum.Skipped += r.Skipped
			parts = append(parts, r.Part)
			if !r.ok() {
				failedParts = append(failedParts, r.Part)
			}
		}
		verdict := "ok"
		if sum.Failed > 0 {
			// Every step exited 0: a script's failures it knows about.
			verdict = "ok (the failures are known: every step exited 0)"
		}
		if len(failedParts) > 0 {
			verdict = "FAIL (" + strings.Join(failedParts, ", ") + ")"
			allOK = false
		}
		fmt.Fprintf(out, "%-12s %s  [%s] %s\n", t+":", sum.counts(), strings.Join(parts, " "), verdict)
	}
	return allOK
}
