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

func TestMountAttr(t *testing.T) {
	tests := []struct {
		opts     []string
		set, clr uint64
	}{
		{nil, 0, 0},
		{[]string{"bind"}, 0, 0},
		{[]string{"rbind", "rprivate", "mode=755"}, 0, 0},
		{[]string{"ro"}, unix.MOUNT_ATTR_RDONLY, 0},
		{[]string{"rw"}, 0, unix.MOUNT_ATTR_RDONLY},
		{[]string{"ro", "rw"}, 0, unix.MOUNT_ATTR_RDONLY},
		{[]string{"nosuid"}, unix.MOUNT_ATTR_NOSUID, 0},
		{[]string{"suid"}, 0, unix.MOUNT_ATTR_NOSUID},
		{[]string{"nodev"}, unix.MOUNT_ATTR_NODEV, 0},
		{[]string{"dev"}, 0, unix.MOUNT_ATTR_NODEV},
		{[]string{"noexec"}, unix.MOUNT_ATTR_NOEXEC, 0},
		{[]string{"exec"}, 0, unix.MOUNT_ATTR_NOEXEC},
		{[]string{"nodiratime"}, unix.MOUNT_ATTR_NODIRATIME, 0},
		{[]string{"diratime"}, 0, unix.MOUNT_ATTR_NODIRATIME},
		{[]string{"nosymfollow"}, unix.MOUNT_ATTR_NOSYMFOLLOW, 0},
		{[]string{"symfollow"}, 0, unix.MOUNT_ATTR_NOSYMFOLLOW},
		{[]string{"noatime"}, unix.MOUNT_ATTR_NOATIME, unix.MOUNT_ATTR__ATIME},
		{[]string{"strictatime"}, unix.MOUNT_ATTR_STRICTATIME, unix.MOUNT_ATTR__ATIME},
		// MOUNT_ATTR_RELATIME is 0: relatime is "clear the atime field".
		{[]string{"relatime"}, unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
		{[]string{"silent"}, 0, 0},
		{
			[]string{"ro", "nosuid", "nodev", "noexec", "noatime"},
			unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOATIME,
			unix.MOUNT_ATTR__ATIME,
		},
		{
			[]string{"rw", "suid", "dev", "exec"},
			0,
			unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
		},
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
		if err := CheckMount(i, m); err != nil {
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
		err := CheckMount(3, tc.m)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "mounts[3]") {
			t.Errorf("CheckMount(%+v) = %v, want an error naming mounts[3] and %q", tc.m, err, tc.want)
		}
	}
}
