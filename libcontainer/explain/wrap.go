package explain

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Wrap returns err, from executing (or looking up) path inside the
// container, with the reason appended when one is found: "no such file or
// directory: the interpreter /bin/bash named on the first line of
// /entrypoint.sh does not exist in the container". errors.Is still sees
// err. Call it only once the exec has failed: it reads the file system.
func Wrap(err error, path string) error {
	if err == nil {
		return nil
	}
	msg := ExecFailure(path, err)
	if msg == "" {
		return err
	}
	return &explained{err: err, msg: msg}
}

type explained struct {
	err error
	msg string
}

func (e *explained) Error() string { return e.err.Error() + ": " + e.msg }
func (e *explained) Unwrap() error { return e.err }

// ExecFailure is the sentence explaining why executing path in the
// calling process's root failed with err, or "" when there is nothing to
// add to err.
func ExecFailure(path string, err error) string {
	return execFailure(Container().Exec(path), path, err)
}

// ExecFailures is ExecFailure for each errno it may explain, looked at
// once, now: for a process that execs without nook's Go code to look then
// (the C init). An errno it has nothing to add to is left out.
func ExecFailures(path string) map[unix.Errno]string {
	prob := Container().Exec(path)
	out := map[unix.Errno]string{}
	for _, errno := range []unix.Errno{unix.ENOENT, unix.ENOTDIR, unix.ELOOP, unix.EACCES, unix.EISDIR,
		unix.ENOEXEC, unix.ELIBBAD, unix.E2BIG, unix.ETXTBSY} {
		if msg := execFailure(prob, path, errno); msg != "" {
			out[errno] = msg
		}
	}
	return out
}

// execFailure is ExecFailure with the file already looked at (prob).
func execFailure(prob *Problem, path string, err error) string {
	if prob == nil || !consistent(prob.Kind, err) {
		return errnoSentence(path, err)
	}
	var errno unix.Errno
	switch {
	case prob.Kind == NotFound && !prob.detail:
		return "" // err says it already
	case prob.Kind == IsDirectory && !errors.As(err, &errno):
		return "" // lookPath's "is a directory"
	}
	return prob.Message
}

// NotInPath is the sentence explaining why name was not found along the
// PATH of env in the calling process's root, or "" when there is nothing
// to add to "executable file not found in $PATH".
func NotInPath(name string, env []string) string {
	_, prob := Container().LookPath(name, env)
	if prob == nil || prob.Kind == NotFound && !prob.detail {
		return ""
	}
	return prob.Message
}

// WrapNotInPath returns err, from looking name up along the PATH of env
// in the calling process's root, with NotInPath's sentence appended.
func WrapNotInPath(err error, name string, env []string) error {
	if msg := NotInPath(name, env); msg != "" {
		return &explained{err: err, msg: msg}
	}
	return err
}

// consistent says whether a problem of kind could have made execve fail
// with err: a finding that could not have caused err is not offered as
// its reason.
func consistent(kind string, err error) bool {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return true // nook's own words ("permission denied" from lookPath)
	}
	var kinds []string
	switch errno {
	case unix.ENOENT:
		kinds = []string{NotFound, InterpreterMissing, ShebangCRLF, LoaderMissing}
	case unix.ENOTDIR:
		kinds = []string{NotFound, InterpreterMissing, LoaderMissing}
	case unix.ELOOP:
		kinds = []string{NotFound, InterpreterMissing, TooManyLevels}
	case unix.EACCES:
		kinds = []string{NoExec, NotExecutable, PermissionDenied, NotRegular, IsDirectory}
	case unix.EISDIR:
		kinds = []string{IsDirectory}
	case unix.ENOEXEC:
		kinds = []string{WrongArch, BadFormat, ShebangEmpty}
	case unix.ELIBBAD:
		kinds = []string{WrongArch, BadFormat}
	}
	return slices.Contains(kinds, kind)
}

// errnoSentence explains the errors that need no look at the file.
func errnoSentence(path string, err error) string {
	switch {
	case errors.Is(err, unix.E2BIG):
		return "process.args and process.env together are larger than the kernel accepts"
	case errors.Is(err, unix.ETXTBSY):
		return fmt.Sprintf("%s is open for writing by some process", path)
	}
	return ""
}
