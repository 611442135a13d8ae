// Package user resolves user and group names against passwd(5) and
// group(5) databases, as found in a container's rootfs.
//
// The files belong to the container image and are untrusted: the caller
// opens them inside the rootfs (never through a path a symlink could
// redirect) and hands over a reader; this package only parses, skipping
// anything malformed and bounding memory per line.
package user

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// maxLine bounds the memory one line may take. Real lines are short, but
// group lines with many members can pass bufio.Scanner's 64 KiB default, and
// an image could hold a single line of gigabytes. Longer lines are skipped.
const maxLine = 1 << 20

// eachLine calls fn for every line of r that holds data (not blank, not a
// comment), without its line ending, until fn returns false.
func eachLine(r io.Reader, fn func(line string) bool) error {
	br := bufio.NewReader(r)
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLine {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // the same line goes on
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !tooLong {
			line := strings.TrimRight(string(buf), "\r\n")
			if isData(line) && !fn(line) {
				return nil
			}
		}
		if err != nil { // io.EOF
			return nil
		}
		buf, tooLong = buf[:0], false
	}
}

// isData rejects blank lines, comments, and NIS compat entries ("+name",
// "-name", "+"), which refer to a directory service the runtime does not
// consult.
func isData(line string) bool {
	t := strings.TrimSpace(line)
	return t != "" && t[0] != '#' && t[0] != '+' && t[0] != '-'
}
