package spec

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFeaturesJSON(t *testing.T) {
	data, err := json.Marshal(Features("1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OCIVersionMin string            `json:"ociVersionMin"`
		OCIVersionMax string            `json:"ociVersionMax"`
		Hooks         []string          `json:"hooks"`
		MountOptions  []string          `json:"mountOptions"`
		Annotations   map[string]string `json:"annotations"`
		Linux         struct {
			Namespaces   []string                   `json:"namespaces"`
			Capabilities []string                   `json:"capabilities"`
			Cgroup       map[string]bool            `json:"cgroup"`
			Seccomp      map[string]json.RawMessage `json:"seccomp"`
			Apparmor     map[string]bool            `json:"apparmor"`
			Selinux      map[string]bool            `json:"selinux"`
			IntelRdt     map[string]bool            `json:"intelRdt"`
			MountExt     struct {
				IDMap map[string]bool `json:"idmap"`
			} `json:"mountExtensions"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OCIVersionMin != "1.0.0" || doc.OCIVersionMax != "1.3.0" {
		t.Errorf("versions = %q..%q", doc.OCIVersionMin, doc.OCIVersionMax)
	}
	if !slices.Equal(doc.Hooks, []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}) {
		t.Errorf("hooks = %q", doc.Hooks)
	}
	if !slices.Equal(doc.Linux.Namespaces, []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}) {
		t.Errorf("namespaces = %q", doc.Linux.Namespaces)
	}
	for _, o := range []string{"bind", "rbind", "ro", "nosymfollow", "rprivate", "strictatime"} {
		if !slices.Contains(doc.MountOptions, o) {
			t.Errorf("mountOptions lacks %q", o)
		}
	}
	if len(doc.MountOptions) != 62 || !slices.IsSorted(doc.MountOptions) {
		t.Errorf("mountOptions: %d entries, sorted=%v", len(doc.MountOptions), slices.IsSorted(doc.MountOptions))
	}
	if doc.Annotations[VersionAnnotation] != "1.2.3" {
		t.Errorf("annotations = %v", doc.Annotations)
	}
	// What this build implements is on; what it does not is declared,
	// explicitly, as off.
	want := map[string]map[string]bool{
		"cgroup":   {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true},
		"apparmor": {"enabled": true}, "selinux": {"enabled": true},
		"intelRdt": {"enabled": false}, "idmap": {"enabled": true},
	}
	got := map[string]map[string]bool{
		"cgroup": doc.Linux.Cgroup, "apparmor": doc.Linux.Apparmor, "selinux": doc.Linux.Selinux,
		"intelRdt": doc.Linux.IntelRdt, "idmap": doc.Linux.MountExt.IDMap,
	}
	for name, w := range want {
		if !maps.Equal(got[name], w) {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
	if string(doc.Linux.Seccomp["enabled"]) != "true" {
		t.Errorf("seccomp.enabled = %s", doc.Linux.Seccomp["enabled"])
	}
}

func TestFeaturesCapabilitiesMatchKernelNumbers(t *testing.T) {
	caps := Features("x").Linux.Capabilities
	if len(caps) != unix.CAP_LAST_CAP+1 {
		t.Fatalf("%d capabilities, want %d", len(caps), unix.CAP_LAST_CAP+1)
	}
	want := map[string]int{
		"CAP_CHOWN": unix.CAP_CHOWN, "CAP_KILL": unix.CAP_KILL, "CAP_SETPCAP": unix.CAP_SETPCAP,
		"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
		"CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "CAP_MKNOD": unix.CAP_MKNOD,
		"CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE, "CAP_SETFCAP": unix.CAP_SETFCAP,
		"CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ,
		"CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF,
		"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
	}
	for name, num := range want {
		if caps[num] != name {
			t.Errorf("capability %d = %q, want %q", num, caps[num], name)
		}
	}
	seen := map[string]bool{}
	for _, c := range caps {
		if seen[c] {
			t.Errorf("duplicate capability %q", c)
		}
		seen[c] = true
	}
}

func TestFeaturesReturnsCopies(t *testing.T) {
	f := Features("v")
	f.Hooks[0] = "changed"
	f.Linux.Namespaces[0] = "changed"
	*f.Linux.Seccomp.Enabled = false
	g := Features("v")
	if g.Hooks[0] != "prestart" || g.Linux.Namespaces[0] != "cgroup" || !*g.Linux.Seccomp.Enabled {
		t.Fatalf("Features shares state between calls")
	}
}
