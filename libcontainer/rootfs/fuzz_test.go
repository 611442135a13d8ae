package rootfs

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzMountOptions runs a mounts[] entry (type, destination and a
// comma-separated option list) through what create does before anything
// exists: parseOptions, the bind attribute conversion and CheckMount. None
// may panic; CheckMount's errors name the field; a bind mount CheckMount
// accepts must convert to mount_setattr attributes (bindMount would fail
// half-way through the init otherwise). Seeds: testdata/fuzz/FuzzMountOptions.
func FuzzMountOptions(f *testing.F) {
	f.Add("proc", "/proc", "")
	f.Add("tmpfs", "/dev", "nosuid,strictatime,mode=755,size=65536k")
	f.Add("bind", "/data", "rbind,ro,nosuid,nodev,rprivate")
	f.Add("none", "/x", "bind,rro,rnoatime,ratime,tmpcopyup")
	f.Fuzz(func(t *testing.T, typ, dest, options string) {
		var opts []string
		if options != "" {
			opts = strings.Split(options, ",")
		}
		m := specs.Mount{Type: typ, Destination: dest, Source: "src", Options: opts}
		parsed := parseOptions(opts)
		_ = parsed.dataString()
		_, attrErr := parsed.mountAttr()
		err := CheckMount(3, m, false)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mounts[3]") {
				t.Fatalf("CheckMount error does not name the field: %v", err)
			}
			return
		}
		if (parsed.bind || typ == "bind") && attrErr != nil {
			t.Fatalf("CheckMount accepted bind options %q that mountAttr refuses: %v", options, attrErr)
		}
		if parsed.tmpcopyup && typ != "tmpfs" {
			t.Fatalf("CheckMount accepted tmpcopyup on a %q mount", typ)
		}
	})
}
