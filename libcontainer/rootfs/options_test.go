package rootfs

import (
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		want mountOptions
	}{
		{name: "empty", opts: nil, want: mountOptions{}},
		{name: "defaults is a no-op", opts: []string{"defaults"}, want: mountOptions{}},
		{name: "ro", opts: []string{"ro"}, want: mountOptions{flags: unix.MS_RDONLY}},
		{name: "rw clears", opts: []string{"rw"}, want: mountOptions{clear: unix.MS_RDONLY}},
		{name: "ro then rw", opts: []string{"ro", "rw"}, want: mountOptions{clear: unix.MS_RDONLY}},
		{name: "rw then ro", opts: []string{"rw", "ro"}, want: mountOptions{flags: unix.MS_RDONLY}},
		{
			name: "nosuid nodev noexec",
			opts: []string{"nosuid", "nodev", "noexec"},
			want: mountOptions{flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		},
		{
			name: "suid dev exec clear",
			opts: []string{"nosuid", "suid", "nodev", "dev", "noexec", "exec"},
			want: mountOptions{clear: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		},
		{
			name: "atime options",
			opts: []string{"noatime", "nodiratime", "strictatime", "relatime"},
			want: mountOptions{flags: unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_STRICTATIME | unix.MS_RELATIME},
		},
		{
			name: "atime clears noatime",
			opts: []string{"noatime", "atime", "diratime", "norelatime", "nostrictatime"},
			want: mountOptions{clear: unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME},
		},
		{
			name: "other flags",
			opts: []string{"sync", "dirsync", "mand", "remount", "iversion", "lazytime", "silent", "nosymfollow"},
			want: mountOptions{flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_MANDLOCK | unix.MS_REMOUNT |
				unix.MS_I_VERSION | unix.MS_LAZYTIME | unix.MS_SILENT | unix.MS_NOSYMFOLLOW},
		},
		{
			name: "their opposites",
			opts: []string{"sync", "async", "mand", "nomand", "iversion", "noiversion", "lazytime", "nolazytime",
				"silent", "loud", "nosymfollow", "symfollow"},
			want: mountOptions{clear: unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK | unix.MS_I_VERSION | unix.MS_LAZYTIME |
				unix.MS_SILENT | unix.MS_NOSYMFOLLOW},
		},
		{name: "bind", opts: []string{"bind"}, want: mountOptions{bind: true}},
		{name: "rbind", opts: []string{"rbind"}, want: mountOptions{bind: true, recursive: true}},
		{name: "rbind then bind stays recursive", opts: []string{"rbind", "bind"}, want: mountOptions{bind: true, recursive: true}},
		{name: "private", opts: []string{"private"}, want: mountOptions{propagation: []uintptr{unix.MS_PRIVATE}}},
		{
			name: "every propagation in order",
			opts: []string{"rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable", "private"},
			want: mountOptions{propagation: []uintptr{
				unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED, unix.MS_SHARED | unix.MS_REC,
				unix.MS_SLAVE, unix.MS_SLAVE | unix.MS_REC, unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC,
				unix.MS_PRIVATE,
			}},
		},
		{
			name: "unknown options are data in order",
			opts: []string{"mode=755", "ro", "size=65536k", "nr_inodes=4k", "newinstance", "ptmxmode=0666"},
			want: mountOptions{flags: unix.MS_RDONLY, data: []string{"mode=755", "size=65536k", "nr_inodes=4k", "newinstance", "ptmxmode=0666"}},
		},
		{
			name: "options are case sensitive",
			opts: []string{"RO", "Bind"},
			want: mountOptions{data: []string{"RO", "Bind"}},
		},
		{
			name: "typical bind",
			opts: []string{"rbind", "rprivate", "nosuid", "noexec", "nodev", "ro"},
			want: mountOptions{
				flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY,
				bind:  true, recursive: true,
				propagation: []uintptr{unix.MS_PRIVATE | unix.MS_REC},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOptions(tt.opts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseOptions(%q)\n got %+v\nwant %+v", tt.opts, got, tt.want)
			}
		})
	}
}

func TestDataString(t *testing.T) {
	m := parseOptions([]string{"nosuid", "mode=755", "size=1m", "ro", "uid=5"})
	if got, want := m.dataString(), "mode=755,size=1m,uid=5"; got != want {
		t.Errorf("dataString = %q, want %q", got, want)
	}
	if got := parseOptions([]string{"ro"}).dataString(); got != "" {
		t.Errorf("dataString with no data = %q, want empty", got)
	}
}

// TestMountAttr: runc's bind rules. No flag option keeps the source's
// flags; any flag option (set or cleared) gives exactly the flags asked
// for, clearing the others; the atime mode changes only with an atime
// option.
func TestMountAttr(t *testing.T) {
	const (
		ro, nosuid, nodev, noexec = unix.MOUNT_ATTR_RDONLY, unix.MOUNT_ATTR_NOSUID, unix.MOUNT_ATTR_NODEV, unix.MOUNT_ATTR_NOEXEC
		nosym, nodir, atime       = unix.MOUNT_ATTR_NOSYMFOLLOW, unix.MOUNT_ATTR_NODIRATIME, unix.MOUNT_ATTR__ATIME
		all                       = ro | nosuid | nodev | noexec | nosym
	)
	tests := []struct {
		opts     []string
		set, clr uint64
	}{
		{nil, 0, 0},
		{[]string{"bind"}, 0, 0},
		{[]string{"rbind", "rprivate", "mode=755"}, 0, 0},
		{[]string{"rbind", "rro", "rnosuid"}, 0, 0},
		{[]string{"ro"}, ro, all &^ ro},
		{[]string{"rw"}, 0, all},
		{[]string{"ro", "rw"}, 0, all},
		{[]string{"nosuid"}, nosuid, all &^ nosuid},
		{[]string{"suid"}, 0, all},
		{[]string{"nodev"}, nodev, all &^ nodev},
		{[]string{"dev"}, 0, all},
		{[]string{"noexec"}, noexec, all &^ noexec},
		{[]string{"exec"}, 0, all},
		{[]string{"nosymfollow"}, nosym, all &^ nosym},
		{[]string{"symfollow"}, 0, all},
		// An atime option sets the whole atime state.
		{[]string{"nodiratime"}, nodir | unix.MOUNT_ATTR_RELATIME, all | atime},
		{[]string{"noatime"}, unix.MOUNT_ATTR_NOATIME, all | atime | nodir},
		{[]string{"strictatime"}, unix.MOUNT_ATTR_STRICTATIME, all | atime | nodir},
		// MOUNT_ATTR_RELATIME is 0: relatime is "clear the atime field".
		{[]string{"relatime"}, unix.MOUNT_ATTR_RELATIME, all | atime | nodir},
		// Clearing an atime flag sets no atime mode: the source's is kept.
		{[]string{"atime"}, 0, all},
		{[]string{"diratime"}, 0, all},
		{[]string{"silent"}, 0, all},
		{[]string{"ro", "nosuid", "nodev", "noexec", "noatime"}, ro | nosuid | nodev | noexec | unix.MOUNT_ATTR_NOATIME, nosym | atime | nodir},
		{[]string{"rw", "suid", "dev", "exec"}, 0, all},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.opts, ","), func(t *testing.T) {
			a, err := parseOptions(tt.opts).mountAttr()
			if err != nil {
				t.Fatalf("mountAttr(%q) = %v", tt.opts, err)
			}
			if a.Attr_set != tt.set || a.Attr_clr != tt.clr {
				t.Errorf("mountAttr(%q) = set %#x clr %#x, want set %#x clr %#x",
					tt.opts, a.Attr_set, a.Attr_clr, tt.set, tt.clr)
			}
			if a.Propagation != 0 || a.Userns_fd != 0 {
				t.Errorf("mountAttr(%q) set propagation %#x / userns %d; those are not its job",
					tt.opts, a.Propagation, a.Userns_fd)
			}
		})
	}
}

func TestMountAttrAtimeIsOneChoice(t *testing.T) {
	// Whatever the combination, at most one atime mode is set, and only
	// together with clearing the atime field (mount_setattr requires both).
	for _, opts := range [][]string{
		{"noatime", "strictatime"}, {"strictatime", "relatime"}, {"relatime", "noatime"},
		{"noatime", "strictatime", "relatime"},
	} {
		a, err := parseOptions(opts).mountAttr()
		if err != nil {
			t.Fatalf("mountAttr(%q) = %v", opts, err)
		}
		atime := a.Attr_set & unix.MOUNT_ATTR__ATIME
		if atime != unix.MOUNT_ATTR_NOATIME && atime != unix.MOUNT_ATTR_STRICTATIME && atime != unix.MOUNT_ATTR_RELATIME {
			t.Errorf("mountAttr(%q) atime bits %#x are not a single mode", opts, atime)
		}
		if a.Attr_clr&unix.MOUNT_ATTR__ATIME != unix.MOUNT_ATTR__ATIME {
			t.Errorf("mountAttr(%q) sets an atime mode without clearing the atime field", opts)
		}
	}
}

func TestMountAttrRefusesWhatBindCannotExpress(t *testing.T) {
	for _, o := range []string{"sync", "dirsync", "mand", "remount", "iversion", "lazytime"} {
		a, err := parseOptions([]string{"rbind", "ro", o}).mountAttr()
		if err == nil {
			t.Errorf("mountAttr(rbind,ro,%s) = (set %#x, clr %#x), nil; want an error", o, a.Attr_set, a.Attr_clr)
			continue
		}
		if !strings.Contains(err.Error(), "bind mount") {
			t.Errorf("mountAttr(%s) error = %q, want it to say the option does not apply to a bind mount", o, err)
		}
	}
	// Clearing such a flag is harmless: nothing is asked of the mount.
	if _, err := parseOptions([]string{"bind", "async", "nomand"}).mountAttr(); err != nil {
		t.Errorf("mountAttr(bind,async,nomand) = %v, want nil", err)
	}
}

func TestDeviceMode(t *testing.T) {
	mode := func(m os.FileMode) *os.FileMode { return &m }
	tests := []struct {
		dev  specs.LinuxDevice
		want uint32
	}{
		{specs.LinuxDevice{Type: "c"}, unix.S_IFCHR | 0o666},
		{specs.LinuxDevice{Type: "u"}, unix.S_IFCHR | 0o666},
		{specs.LinuxDevice{Type: "b"}, unix.S_IFBLK | 0o666},
		{specs.LinuxDevice{Type: "p"}, unix.S_IFIFO | 0o666},
		{specs.LinuxDevice{Type: "c", FileMode: mode(0o620)}, unix.S_IFCHR | 0o620},
		{specs.LinuxDevice{Type: "b", FileMode: mode(0o600)}, unix.S_IFBLK | 0o600},
		{specs.LinuxDevice{Type: "p", FileMode: mode(0)}, unix.S_IFIFO},
		// Type bits in fileMode (as some configs write 020666) are not taken
		// from it: the type comes from Type alone.
		{specs.LinuxDevice{Type: "b", FileMode: mode(0o20666)}, unix.S_IFBLK | 0o666},
		{specs.LinuxDevice{Type: "c", FileMode: mode(0o1777)}, unix.S_IFCHR | 0o1777},
	}
	for _, tt := range tests {
		got, err := deviceMode(tt.dev)
		if err != nil {
			t.Errorf("deviceMode(%+v) = %v", tt.dev, err)
			continue
		}
		if got != tt.want {
			t.Errorf("deviceMode(type %q, mode %v) = %#o, want %#o", tt.dev.Type, tt.dev.FileMode, got, tt.want)
		}
	}
	for _, typ := range []string{"", "x", "C", "cb", "d", "s"} {
		if m, err := deviceMode(specs.LinuxDevice{Type: typ}); err == nil {
			t.Errorf("deviceMode(type %q) = %#o, nil; want an error", typ, m)
		} else if !strings.Contains(err.Error(), "must be c, b, u or p") {
			t.Errorf("deviceMode(type %q) error = %q", typ, err)
		}
	}
}

func TestRecursiveAttrOptions(t *testing.T) {
	m := parseOptions([]string{"rbind", "rro", "rnosuid", "rnoatime"})
	if m.recAttr.Attr_set != unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOATIME {
		t.Errorf("rro,rnosuid,rnoatime: set %#x", m.recAttr.Attr_set)
	}
	if m.recAttr.Attr_clr != unix.MOUNT_ATTR__ATIME {
		t.Errorf("rnoatime must clear the atime field first: clr %#x", m.recAttr.Attr_clr)
	}
	if m.flags != 0 || len(m.data) != 0 {
		t.Errorf("recursive options leaked into flags %#x / data %q", m.flags, m.data)
	}
	m = parseOptions([]string{"rro", "rrw"})
	if m.recAttr.Attr_set != 0 || m.recAttr.Attr_clr != unix.MOUNT_ATTR_RDONLY {
		t.Errorf("rro,rrw: set %#x clr %#x, want read-only cleared", m.recAttr.Attr_set, m.recAttr.Attr_clr)
	}
	m = parseOptions([]string{"rnoatime", "rstrictatime"})
	if m.recAttr.Attr_set != unix.MOUNT_ATTR_STRICTATIME {
		t.Errorf("the last atime mode wins: set %#x", m.recAttr.Attr_set)
	}
	m = parseOptions([]string{"tmpcopyup", "ridmap"})
	if !m.tmpcopyup || !m.idmap || !m.idmapRecursive {
		t.Errorf("tmpcopyup/ridmap not recorded: %+v", m)
	}
}

func TestCheckMount(t *testing.T) {
	good := []specs.Mount{
		{Destination: "/a", Type: "bind", Source: "/x", Options: []string{"rbind", "rro", "nosuid", "rprivate", "mode=755"}},
		{Destination: "/b", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=755", "tmpcopyup", "rnoexec"}},
	}
	for i, m := range good {
		if err := CheckMount(i, m, false); err != nil {
			t.Errorf("CheckMount(%+v) = %v", m, err)
		}
	}
	bad := []struct {
		m    specs.Mount
		want string
	}{
		{specs.Mount{Destination: "/a", Type: "bind", Source: "/x", Options: []string{"bind", "nosuchopt"}}, `unknown option "nosuchopt"`},
		{specs.Mount{Destination: "/a", Type: "proc", Source: "proc", Options: []string{"tmpcopyup"}}, "tmpcopyup needs a tmpfs"},
		{specs.Mount{Destination: "/a", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}}, "only supported for bind mounts"},
		{specs.Mount{Destination: "/a", Type: "bind", Source: "/x", Options: []string{"bind"}, UIDMappings: []specs.LinuxIDMapping{{HostID: 1, Size: 1}}}, "together"},
		{specs.Mount{Destination: "/a", Type: "bind", Source: "/x", Options: []string{"bind", "sync"}}, "do not apply to a bind mount"},
	}
	for _, tc := range bad {
		err := CheckMount(3, tc.m, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "mounts[3]") {
			t.Errorf("CheckMount(%+v) = %v, want an error naming mounts[3] and %q", tc.m, err, tc.want)
		}
	}
}

// TestLockedMountAttr: runc's retry of a bind remount refused for locked
// flags. The source's ro/nosuid/nodev/noexec are kept rather than cleared;
// explicitly clearing one, or asking for another atime mode, is an error
// naming the flags.
func TestLockedMountAttr(t *testing.T) {
	const src = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME
	for _, tc := range []struct {
		opts     []string
		set, clr uint64
		err      string
	}{
		{opts: []string{"ro"},
			set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
			clr: unix.MOUNT_ATTR_NOSYMFOLLOW},
		{opts: []string{"nosuid", "relatime"},
			set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_RELATIME,
			clr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSYMFOLLOW | unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME},
		{opts: []string{"suid"}, err: "cannot clear nosuid"},
		{opts: []string{"ro", "dev", "exec"}, err: "cannot clear nodev,noexec"},
		{opts: []string{"noatime"}, err: "cannot change the atime flags to noatime: the source mount's atime flags (relatime)"},
		{opts: []string{"nodiratime"}, err: "atime flags to nodiratime"},
		// rw clears a flag the source does not have: nothing is locked.
		{opts: []string{"rw"}, set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
			clr: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		a, err := parseOptions(tc.opts).lockedMountAttr(src)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "locked") {
				t.Errorf("lockedMountAttr(%q) = %v, want an error with %q", tc.opts, err, tc.err)
			}
		case err != nil:
			t.Errorf("lockedMountAttr(%q) = %v", tc.opts, err)
		case a.Attr_set != tc.set || a.Attr_clr != tc.clr:
			t.Errorf("lockedMountAttr(%q) = set %#x clr %#x, want set %#x clr %#x", tc.opts, a.Attr_set, a.Attr_clr, tc.set, tc.clr)
		}
	}
}

// TestChangesLocked: which attribute sets the kernel would refuse on a
// mount whose flags a user namespace locks.
func TestChangesLocked(t *testing.T) {
	const src = unix.MS_NOSUID | unix.MS_RELATIME
	for _, tc := range []struct {
		opts []string
		want bool
	}{
		{nil, false},
		{[]string{"nosuid"}, false}, // clears nodev/noexec/ro, which the source lacks
		{[]string{"ro"}, true},      // clears nosuid
		{[]string{"nosuid", "relatime"}, false},
		{[]string{"nosuid", "noatime"}, true},
		{[]string{"nosuid", "strictatime"}, true},
	} {
		a, err := parseOptions(tc.opts).mountAttr()
		if err != nil {
			t.Fatal(err)
		}
		if got := changesLocked(a, src); got != tc.want {
			t.Errorf("changesLocked(%q) = %v, want %v", tc.opts, got, tc.want)
		}
	}
}

// TestProcDestination: /proc takes a fresh procfs, or a bind only in a
// container sharing the host's pid namespace; under /proc only the
// lxcfs-style file binds.
func TestProcDestination(t *testing.T) {
	hostProc := specs.Mount{Destination: "/proc", Type: "bind", Source: "/proc", Options: []string{"rbind"}}
	for _, tc := range []struct {
		m       specs.Mount
		hostPID bool
		want    string // "" = accepted
	}{
		{specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}, false, ""},
		{hostProc, true, ""},
		{specs.Mount{Destination: "/proc", Type: "none", Source: "/proc", Options: []string{"rbind"}}, true, ""},
		{hostProc, false, "pid namespace"},
		{specs.Mount{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"}, true, "must be a proc filesystem"},
		{specs.Mount{Destination: "/proc/sys", Type: "bind", Source: "/proc/sys"}, true, "mounts under /proc are refused"},
		{specs.Mount{Destination: "/proc/meminfo", Type: "bind", Source: "/var/lib/lxcfs/proc/meminfo"}, false, ""},
	} {
		err := CheckMount(2, tc.m, tc.hostPID)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckMount(%+v, hostPID %v) = %v, want accepted", tc.m, tc.hostPID, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "mounts[2]")):
			t.Errorf("CheckMount(%+v, hostPID %v) = %v, want an error naming mounts[2] and %q", tc.m, tc.hostPID, err, tc.want)
		}
	}
}

func TestCheckMountRefusesTheRoot(t *testing.T) {
	for _, d := range []string{"/", "//", "/.", "/x/.."} {
		err := CheckMount(4, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs"}, false)
		if err == nil || !strings.Contains(err.Error(), "mounts[4].destination") || !strings.Contains(err.Error(), "root directory") {
			t.Errorf("CheckMount(destination %q) = %v, want a refusal naming mounts[4].destination", d, err)
		}
	}
}

func TestSharesHostPID(t *testing.T) {
	s := &specs.Spec{}
	if !SharesHostPID(s) {
		t.Error("no linux section: the host's pid namespace")
	}
	s.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}}
	if !SharesHostPID(s) {
		t.Error("no pid entry: the host's pid namespace")
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"})
	if SharesHostPID(s) {
		t.Error("a pid namespace joined by path is not treated as the host's")
	}
}
