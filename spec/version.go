package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"
)

const (
	// ociVersionMin and ociVersionMax bound the runtime-spec versions nook
	// accepts; they also go into the features document.
	ociVersionMin = "1.0.0"
	ociVersionMax = "1.3.0"

	// maxMinor is the highest 1.x minor release nook knows. Any patch of it
	// is accepted: patch releases of the spec do not change the format.
	maxMinor = 3
)

// semverRE (compiled on first use, not at every start-up) matches MAJOR.MINOR.PATCH with an optional semver pre-release
// ("-dev", "-rc.1") and build suffix; numbers have no leading zeros.
var semverRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(
		`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
})

// checkVersion accepts the 1.x versions nook understands. Pre-releases of a
// supported version are accepted because engines built from development
// branches of runtime-spec write them (e.g. "1.0.2-dev").
func checkVersion(v string) error {
	if v == "" {
		return fmt.Errorf("ociVersion: required")
	}
	m := semverRE().FindStringSubmatch(v)
	if m == nil {
		return unsupportedVersion(v)
	}
	major, errMajor := strconv.Atoi(m[1])
	minor, errMinor := strconv.Atoi(m[2])
	if errMajor != nil || errMinor != nil || major != 1 || minor > maxMinor {
		return unsupportedVersion(v)
	}
	return nil
}

func unsupportedVersion(v string) error {
	return fmt.Errorf("unsupported ociVersion %q: nook supports %s to %s", v, ociVersionMin, ociVersionMax)
}

// RuntimeSpecVersion is the runtime-spec version nook implements (printed by
// `nook --version`).
const RuntimeSpecVersion = ociVersionMax
