package seccomp

import (
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Features describes this build's seccomp support for `nook features`
// (runtime-spec features-linux.md "seccomp"): every action and operator
// config.json may name, the architectures the linked libseccomp knows, the
// known flags and, of those, the ones the running kernel accepts.
func Features() *features.Seccomp {
	enabled := true
	var archs []string
	for _, e := range knownArchs() {
		if archSupported(e.arch) {
			archs = append(archs, string(e.name))
		}
	}
	return &features.Seccomp{
		Enabled:        &enabled,
		Actions:        actionNames(),
		Operators:      operatorNames(),
		Archs:          archs,
		KnownFlags:     flagNames(),
		SupportedFlags: supportedFlagNames(),
	}
}

// LibseccompVersion is the version of the libseccomp library in use, as
// "X.Y.Z", for `nook --version`.
func LibseccompVersion() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}
