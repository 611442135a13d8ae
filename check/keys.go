package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specType is the type config.json decodes into.
func specType() reflect.Type { return reflect.TypeFor[specs.Spec]() }

// walker reads config.json token by token alongside the type it decodes
// into, recording where each field is and finding the keys the type does
// not have: encoding/json ignores them, so a misspelled key silently
// drops its setting.
type walker struct {
	c    *checker
	dec  *json.Decoder
	data []byte
}

// walkKeys records field positions and key findings; it stops quietly at
// a syntax error (the decode reports it, with its position).
func (c *checker) walkKeys() {
	w := &walker{c: c, dec: json.NewDecoder(bytes.NewReader(c.data)), data: c.data}
	w.dec.UseNumber()
	_ = w.value(specType(), "")
}

// start is the offset of the next token: past the spaces, commas and
// colons that follow the previous one.
func (w *walker) start() int64 {
	off := w.dec.InputOffset()
	for off < int64(len(w.data)) && strings.IndexByte(" \t\r\n,:", w.data[off]) >= 0 {
		off++
	}
	return off
}

// value reads one JSON value that decodes into t (nil: any type).
func (w *walker) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		if err := w.object(t, path); err != nil {
			return err
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.c.pos[p] = w.start()
			if err := w.value(elem, p); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	_, err = w.dec.Token() // the closing } or ]
	return err
}

// object reads the members of an object that decodes into t.
func (w *walker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t != nil && t.Kind() == reflect.Struct:
		fields = jsonFields(t)
	case t != nil && t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for w.dec.More() {
		off := w.start()
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := joinPath(path, key)
		w.c.pos[p] = off
		vt := elem
		if fields != nil {
			vt = w.member(fields, path, key, p)
		}
		if seen[key] {
			w.c.add(Finding{Kind: "config.duplicate-key", Severity: Warning, Field: p,
				Message: "the key appears more than once; only the last value counts",
				Hint:    "remove the earlier one(s)"})
		}
		seen[key] = true
		if err := w.value(vt, p); err != nil {
			return err
		}
	}
	return nil
}

// member returns the type of struct field key (nil if unknown) and reports
// keys that are not the field's exact name.
func (w *walker) member(fields map[string]reflect.Type, parent, key, p string) reflect.Type {
	if ft, ok := fields[key]; ok {
		return ft
	}
	for name, ft := range fields {
		if strings.EqualFold(name, key) {
			// encoding/json matches names without regard to case; the
			// runtime-spec's names are exact, and other runtimes differ.
			w.c.add(Finding{Kind: "config.key-case", Severity: Warning, Field: p,
				Message: fmt.Sprintf("should be spelled %q (nook accepts it, as Go's decoder ignores case; other runtimes may not)", name),
				Hint:    fmt.Sprintf("rename it to %q", name)})
			return ft
		}
	}
	where := "at the top level"
	if parent != "" {
		where = "in " + parent
	}
	if s := suggest(key, fields); s != "" {
		w.c.add(Finding{Kind: "config.unknown-field", Severity: Error, Field: p,
			Message: fmt.Sprintf("unknown field; did you mean %q?", s),
			Hint:    fmt.Sprintf("rename it to %q: an unknown key is ignored, so this setting has no effect", s)})
		return nil
	}
	w.c.add(Finding{Kind: "config.unknown-field", Severity: Warning, Field: p,
		Message: fmt.Sprintf("unknown field: runtime-spec %s has no %q %s", specs.Version, key, where),
		Hint:    "it is ignored; remove it unless another tool reads it"})
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// simpleKey: a key that needs no quoting in a field path.
func simpleKey(key string) bool {
	for i := 0; i < len(key); i++ {
		b := key[i]
		if !isLetter(b) && b != '_' && (i == 0 || b < '0' || b > '9') {
			return false
		}
	}
	return key != ""
}

// joinPath appends key to a field path: .key, or ["key"] for a map key
// that is not a plain word (sysctl names, annotations).
func joinPath(path, key string) string {
	switch {
	case !simpleKey(key):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// suggest returns the known name closest to key, if it is close enough to
// be a misspelling of it.
func suggest(key string, fields map[string]reflect.Type) string {
	lk := strings.ToLower(key)
	norm := strings.NewReplacer("_", "", "-", "").Replace(lk)
	best, bestD := "", -1
	for name := range fields {
		ln := strings.ToLower(name)
		d := distance(lk, ln)
		if norm == ln {
			d = 0 // no_new_privileges for noNewPrivileges
		}
		if bestD < 0 || d < bestD || d == bestD && name < best {
			best, bestD = name, d
		}
	}
	if bestD < 0 || bestD > maxTypos(len(key)) {
		return ""
	}
	return best
}

// maxTypos is how many edits a key of n letters may be from a name to be
// taken for a misspelling of it.
func maxTypos(n int) int {
	switch {
	case n <= 4:
		return 1
	case n <= 9:
		return 2
	}
	return 3
}

// distance is the optimal-string-alignment edit distance: insertions,
// deletions, substitutions and swaps of adjacent letters ("memroy") count
// one each.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
