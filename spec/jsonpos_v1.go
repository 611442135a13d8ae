//go:build !goexperiment.jsonv2

package spec

// The classic encoding/json reports a syntax error's offset just past the
// offending byte, and a type error's just past the scalar or the opening
// bracket of the value: one byte back lands on the byte to show.
const (
	jsonV2            = false
	syntaxOffsetAfter = 1
	typeOffsetAfter   = 1
)
