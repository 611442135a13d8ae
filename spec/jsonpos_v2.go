//go:build goexperiment.jsonv2

package spec

// Under GOEXPERIMENT=jsonv2 (how `make build` builds nook; the default from
// Go 1.27) encoding/json reports offsets at the offending byte and at the
// start of a wrongly typed value, and type errors name array indices in
// their field path.
const (
	jsonV2            = true
	syntaxOffsetAfter = 0
	typeOffsetAfter   = 0
)
