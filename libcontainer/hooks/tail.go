package hooks

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// messageMax bounds how much of a hook's output goes into an error message:
// engines show the runtime's last error line to users, so it has to stay
// readable.
const messageMax = 1024

// tail is an io.Writer that keeps only the last max bytes written to it. It
// never fails, so a hook that writes a lot is drained, not blocked.
type tail struct {
	max int
	buf []byte
	cut bool // bytes were dropped from the front
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.cut = t.cut || len(t.buf) > 0 || len(p) > t.max
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
		t.cut = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept output made fit for a one-line error message:
// valid UTF-8, trimmed, line breaks turned into "; ", other control
// characters dropped, built from at most the last messageMax bytes ("…"
// marks a cut front).
func (t *tail) String() string {
	s := strings.ToValidUTF8(string(t.buf), "\uFFFD")
	s = strings.TrimSpace(s)
	cut := t.cut
	if len(s) > messageMax {
		s = s[len(s)-messageMax:]
		// Do not start in the middle of a multi-byte character.
		for s != "" && !utf8.RuneStart(s[0]) {
			s = s[1:]
		}
		cut = true
	}
	var lines []string
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.Map(func(r rune) rune {
			switch {
			case r == '\t':
				return ' '
			case unicode.IsControl(r):
				return -1
			}
			return r
		}, line)
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	out := strings.Join(lines, "; ")
	if cut && out != "" {
		out = "…" + out
	}
	return out
}
