package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nookrt/nook/libcontainer/rawfile"
	"golang.org/x/sys/unix"
)

// writeFile writes value to dir/file with one write(2): cgroupfs takes
// each write as one command, so the value must not be split.
func writeFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: fmt.Sprintf("write %q to", value), Path: p, Err: err}
	}
	return nil
}

// readFile reads dir/file, trimmed of surrounding white space. rawfile,
// not os.ReadFile: cgroupfs files are pollable, so Go's poller would add
// four fcntl calls and an epoll_ctl to add and one to remove each file
// (create reads a few of them on its critical path).
func readFile(dir, file string) (string, error) {
	b, err := rawfile.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(b)), nil
}

// readUint reads a file holding one number; "max" reads as MaxUint64.
func readUint(dir, file string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	return parseUint(s, filepath.Join(dir, file))
}

func parseUint(s, where string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// v1 reports some unlimited values as -1 or as a negative number.
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("cgroups: %s: %q is not a number", where, s)
	}
	return v, nil
}

// readKeyValues reads a "key value" per line file (memory.stat, cpu.stat,
// memory.events) into a map; lines that do not parse are skipped.
func readKeyValues(dir, file string) (map[string]uint64, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			m[k] = n
		}
	}
	return m, sc.Err()
}

// exists reports whether p exists (any error but "not found" counts as
// existing, so that a later open reports the real problem).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

// nearestExisting returns dir or its closest existing ancestor.
func nearestExisting(dir string) string {
	for {
		if exists(dir) || dir == "/" || dir == "." {
			return dir
		}
		dir = filepath.Dir(dir)
	}
}

func itoa(v int64) string  { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

// maxOr renders a v2 limit: -1 is "max".
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return itoa(v)
}

func fieldErr(field string, format string, a ...any) error {
	return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...))
}
