package spec

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineCol returns the 1-based line and column of byte offset off in r,
// reading r only up to off. Columns count characters, not bytes (UTF-8
// continuation bytes are skipped), so they match what editors show.
// An offset at or past the end of r names the position just after the
// last byte.
func lineCol(r io.Reader, off int64) (line, col int, err error) {
	if off < 0 {
		off = 0
	}
	br := bufio.NewReader(io.LimitReader(r, off))
	line, col = 1, 1
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return line, col, nil
		}
		if err != nil {
			return 0, 0, err
		}
		switch {
		case b == '\n':
			line++
			col = 1
		case b&0xC0 != 0x80:
			col++
		}
	}
}

// LineCol is the 1-based line and column (in characters) of byte offset
// off in data, for messages about a config outside this package (`nook
// check`).
func LineCol(data []byte, off int64) (line, col int) {
	line, col, _ = lineCol(bytes.NewReader(data), off)
	return line, col
}
