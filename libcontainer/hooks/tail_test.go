package hooks

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTailKeepsTheLastBytes(t *testing.T) {
	tl := tail{max: 8}
	for _, s := range []string{"abc", "defg", "hijk"} {
		if n, err := tl.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if string(tl.buf) != "defghijk" || !tl.cut {
		t.Errorf("kept %q (cut=%v), want the last 8 bytes", tl.buf, tl.cut)
	}
	if tl.String() != "…defghijk" {
		t.Errorf("String() = %q", tl.String())
	}

	big := tail{max: 4}
	big.Write([]byte("0123456789"))
	if string(big.buf) != "6789" || !big.cut {
		t.Errorf("one oversized write kept %q, cut=%v", big.buf, big.cut)
	}

	exact := tail{max: 4}
	exact.Write([]byte("abcd"))
	if exact.String() != "abcd" {
		t.Errorf("a write of exactly max is not cut: %q", exact.String())
	}
}

func TestTailStringIsOneReadableLine(t *testing.T) {
	tl := tail{max: keepOutput}
	tl.Write([]byte("  line one\r\n\n\tline\x1b[31m two\x00\n\xff end\n  "))
	want := "line one; line[31m two; \uFFFD end"
	if got := tl.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestTailStringIsBounded(t *testing.T) {
	tl := tail{max: keepOutput}
	// A multi-byte rune straddles the cut point.
	tl.Write([]byte(strings.Repeat("é", keepOutput/2)))
	got := tl.String()
	if !strings.HasPrefix(got, "…") || len(got) > messageMax+len("…") || !utf8.ValidString(got) {
		t.Errorf("String() has %d bytes, valid=%v, prefix %q", len(got), utf8.ValidString(got), got[:6])
	}
}
