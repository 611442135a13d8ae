//go:build goexperiment.jsonv2

package state

import (
	"bytes"
	"encoding/json/jsontext"
	"fmt"
	"io"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// peekDecoder decodes records token by token (encoding/json/jsontext)
// rather than by reflection: list decodes one per container, and the first
// reflective decode of a Record costs a fresh process ~0.5 ms of building
// its field tables, more than decoding a hundred records this way. The
// decoder parses straight from the Peeker's buffer and is reused.
type peekDecoder struct {
	dec *jsontext.Decoder
}

// peekOptions are encoding/json's leniencies: a name given twice (the
// last wins) and invalid UTF-8 (made U+FFFD) pass.
var peekOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// decode fills r from the record in in and returns its cgroup as JSON,
// aliasing in. It takes from a record what json.Unmarshal into a Record
// would, but config and namespaces, which it checks as JSON and drops, as
// it does a name it does not know. Names are matched exactly, where
// encoding/json would also take "ID" for "id": nook writes its own names.
func (p *peekDecoder) decode(in *bytes.Buffer, r *Record) (cgroup []byte, err error) {
	if p.dec == nil {
		p.dec = jsontext.NewDecoder(in, peekOptions...)
	} else {
		p.dec.Reset(in, peekOptions...)
	}
	d := p.dec
	_, null, err := readKind(d, '{', "a record")
	if err != nil {
		return nil, err
	}
	// null is no record and no error, as in encoding/json.
	if !null {
		if cgroup, err = peekFields(d, r); err != nil {
			return nil, err
		}
	}
	return cgroup, atEnd(d)
}

// readKind reads the next token, which must be null or of kind want (what
// names it for the error).
func readKind(d *jsontext.Decoder, want jsontext.Kind, what string) (tok jsontext.Token, null bool, err error) {
	if tok, err = d.ReadToken(); err != nil {
		return tok, false, err
	}
	switch tok.Kind() {
	case 'n':
		return tok, true, nil
	case want:
		return tok, false, nil
	}
	return tok, false, fmt.Errorf("%v where %s belongs", tok.Kind(), what)
}

// atEnd fails if anything but white space follows the record.
func atEnd(d *jsontext.Decoder) error {
	off := d.InputOffset()
	switch _, err := d.ReadToken(); err {
	case io.EOF:
		return nil
	case nil:
		return fmt.Errorf("a second value after the record, at offset %d", off)
	default:
		return err
	}
}

// peekFields decodes the fields of the record's object, whose '{' is read.
func peekFields(d *jsontext.Decoder, r *Record) (cgroup []byte, err error) {
	for d.PeekKind() == '"' {
		name, err := d.ReadValue() // a name; no string made for it
		if err != nil {
			return nil, err
		}
		if cgroup, err = peekField(d, unquotedName(name), r, cgroup); err != nil {
			return nil, fmt.Errorf("field %s: %w", name, err)
		}
	}
	_, err = d.ReadToken() // the '}', or what is there instead
	return cgroup, err
}

// unquotedName is a quoted object name without its quotes; json.Marshal
// escapes none of Record's names, so only an escaped one is unquoted.
func unquotedName(quoted jsontext.Value) []byte {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return quoted[1 : len(quoted)-1]
	}
	name, err := jsontext.AppendUnquote(nil, quoted)
	if err != nil {
		return nil
	}
	return name
}

// peekField decodes the value of field name into r; cgroup is the cgroup
// so far, returned updated.
func peekField(d *jsontext.Decoder, name []byte, r *Record, cgroup []byte) ([]byte, error) {
	var err error
	switch string(name) {
	case "ociVersion":
		err = readString(d, &r.Version)
	case "id":
		err = readString(d, &r.ID)
	case "status":
		s := string(r.Status)
		err = readString(d, &s)
		r.Status = specs.ContainerState(s)
	case "pid":
		err = readInt(d, &r.Pid)
	case "bundle":
		err = readString(d, &r.Bundle)
	case "annotations":
		err = readStringMap(d, &r.Annotations)
	case "rootfs":
		err = readString(d, &r.Rootfs)
	case "initStartTime":
		err = readUint(d, &r.InitStartTime)
	case "created":
		var v jsontext.Value
		if v, err = d.ReadValue(); err == nil {
			err = r.Created.UnmarshalJSON(v)
		}
	case "owner":
		err = readString(d, &r.Owner)
	case "exitKeeper":
		err = readInt(d, &r.ExitKeeper)
	case "cgroup":
		var v jsontext.Value
		if v, err = d.ReadValue(); err == nil {
			cgroup = v
		}
	default: // config, namespaces, and names Peek does not know
		// ReadValue checks the value whole, where SkipValue (for an
		// object) reads it token by token, at 3 times the cost.
		_, err = d.ReadValue()
	}
	return cgroup, err
}

// readString reads a JSON string into *s; null leaves *s as it is, as
// encoding/json does.
func readString(d *jsontext.Decoder, s *string) error {
	tok, null, err := readKind(d, '"', "a string")
	if err == nil && !null {
		*s = tok.String()
	}
	return err
}

// readInt and readUint read a JSON integer; null leaves *n as it is.
func readInt(d *jsontext.Decoder, n *int) error {
	return readNumber(d, func(b []byte) (err error) {
		*n, err = strconv.Atoi(string(b))
		return err
	})
}

func readUint(d *jsontext.Decoder, n *uint64) error {
	return readNumber(d, func(b []byte) (err error) {
		*n, err = strconv.ParseUint(string(b), 10, 64)
		return err
	})
}

func readNumber(d *jsontext.Decoder, parse func([]byte) error) error {
	v, err := d.ReadValue()
	switch {
	case err != nil:
		return err
	case v.Kind() == 'n':
		return nil
	case v.Kind() != '0':
		return fmt.Errorf("%v where a number belongs", v.Kind())
	}
	return parse(v)
}

// readStringMap reads a JSON object of strings into *m; null makes it nil.
func readStringMap(d *jsontext.Decoder, m *map[string]string) error {
	_, null, err := readKind(d, '{', "an object")
	if err != nil {
		return err
	}
	if null {
		*m = nil
		return nil
	}
	if *m == nil {
		*m = map[string]string{}
	}
	for d.PeekKind() == '"' {
		var k, v string
		if err := readString(d, &k); err != nil {
			return err
		}
		if err := readString(d, &v); err != nil {
			return err
		}
		(*m)[k] = v
	}
	_, err = d.ReadToken()
	return err
}
