package explain

import (
	"bytes"
	"fmt"
	"strings"
)

// shebang is a script's #! line as the kernel splits it
// (fs/binfmt_script.c): the interpreter up to the first space or tab, then
// one optional argument; only spaces and tabs are trimmed, so a \r left by
// Windows line endings stays part of the last word.
type shebang struct {
	interp, arg string
}

// parseShebang splits hdr (starting with #!); ok is false when no
// interpreter is named.
func parseShebang(hdr []byte) (sh shebang, ok bool) {
	line := hdr[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	s := strings.Trim(string(line), " \t")
	if s == "" {
		return sh, false
	}
	name, arg, _ := strings.Cut(strings.ReplaceAll(s, "\t", " "), " ")
	sh.interp = name
	sh.arg = strings.TrimLeft(arg, " ")
	return sh, true
}

// checkScript looks at the interpreter a #! script names.
func (r *Root) checkScript(p string, hdr []byte, depth int) *Problem {
	sh, ok := parseShebang(hdr)
	if !ok {
		return &Problem{Kind: ShebangEmpty, Path: p,
			Message: fmt.Sprintf("the first line of %s is #! without an interpreter", p),
			Hint:    "name the interpreter after #! (for example #!/bin/sh)"}
	}
	if depth >= maxInterpreters {
		return &Problem{Kind: TooManyLevels, Path: p,
			Message: fmt.Sprintf("%s: too many levels of #! interpreters (the kernel follows %d)", p, maxInterpreters),
			Hint:    "name a binary, not another script, as the interpreter"}
	}
	interp := r.abs(sh.interp)
	prob := r.check(interp, depth+1)
	crlf := strings.HasSuffix(sh.interp, "\r") || strings.HasSuffix(sh.arg, "\r")
	switch {
	case crlf && (prob == nil || prob.Kind == NotFound):
		// With an argument the interpreter itself is found, but it is
		// handed "bash\r" (env: 'bash\r': No such file or directory).
		looked := sh.interp
		if sh.arg != "" {
			looked = sh.arg
		}
		msg := fmt.Sprintf("the first line of %s ends with \\r (Windows line endings), so %q is looked for instead of %q",
			p, looked, strings.TrimSuffix(looked, "\r"))
		if sh.arg == "" {
			// What fixing the line ending alone would run into.
			trimmed := r.abs(strings.TrimSuffix(sh.interp, "\r"))
			switch next := r.check(trimmed, depth+1); {
			case next == nil:
			case next.Kind == NotFound:
				msg += fmt.Sprintf(", and %s does not exist in the container either", trimmed)
			default:
				msg += "; besides, " + next.Message
			}
		}
		return &Problem{Kind: ShebangCRLF, Path: p, Message: msg,
			Hint: fmt.Sprintf("convert %s to Unix line endings (dos2unix, or sed -i 's/\\r$//')", p)}
	case prob == nil:
		return nil
	case prob.Kind == NotFound && prob.Path == interp:
		prob.Kind = InterpreterMissing
		prob.Message = fmt.Sprintf("the interpreter %s named on the first line of %s does not exist in the container", sh.interp, p)
		if target, ok := r.readlink(interp); ok {
			prob.Message += fmt.Sprintf(" (it is a symbolic link to %s, which does not)", target)
		}
		prob.Hint = fmt.Sprintf("install %s in the image, or change the #! line of %s", sh.interp, p)
		return prob
	}
	prob.Message += fmt.Sprintf(" (it is the interpreter of %s)", p)
	return prob
}
