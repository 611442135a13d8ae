package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// builtForCInit is what `nook --debug create` (and run) logs when nook
// builds the root itself and the container's PID 1 stays C (nsenter/cinit.c).
const builtForCInit = "the init stays C: nook builds the root"

// A container whose set-up needs nothing of the Go init gets the C init:
// nook builds its root from a thread of its own that joined the init's
// namespaces. The same container with a field only the Go init takes (an
// execCPUAffinity of every CPU, which changes nothing) gets the Go init.
// Both must build the same container — mounts, devices, names, sysctls,
// the loopback, cgroups, masked and read-only paths — run the same
// process, run the parent's hooks in the runtime's namespaces, and fail
// the same way.
func TestCInitMatchesTheGoInit(t *testing.T) {
	e := newEnv(t)
	report := `hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax;` +
		` cat /sys/class/net/lo/operstate; mount | sort; ls -l /dev /dev/pts | awk '{print $1, $NF}';` +
		` sed "s/$ID/ID/" /proc/self/cgroup; ls /sys/fs/cgroup | tr '\n' ' '; echo; id; pwd; umask; ulimit -n;` +
		` ls /proc/self/fd | tr '\n' ' '; echo; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status;` +
		` touch /rootfs-is-writable 2>&1; cat /proc/kcore 2>&1 | head -c 0; ls /proc/acpi | wc -l;` +
		` echo "session keyrings named after the container: $(grep -c "keyring.*$ID" /proc/keys)"; exit 3`
	hostNS := func(kind string) string {
		l, err := os.Readlink("/proc/self/ns/" + kind)
		must(t, err)
		return l
	}
	for _, tc := range []struct {
		name    string
		mods    []specMod
		shows   []string // besides being the Go init's, the output holds these
		wantErr string
	}{
		{name: "defaults, names, sysctls, keyring", mods: []specMod{func(s *specs.Spec) {
			s.Hostname, s.Domainname = "c-init", "example.org"
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321"}
			// Unmasked, to see the session keyring the init joins.
			s.Linux.MaskedPaths = slices.DeleteFunc(s.Linux.MaskedPaths, func(p string) bool { return p == "/proc/keys" })
		}}, shows: []string{"session keyrings named after the container: 1"}},
		{name: "a user, the docker profile, a cgroup namespace, hidepid", mods: []specMod{
			withSeccomp(seccompProfile(t, "docker-default.json")), func(s *specs.Spec) {
				s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}}
				s.Process.NoNewPrivileges = false
				s.Process.Cwd = "/tmp"
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
				for i := range s.Mounts {
					if s.Mounts[i].Type == "proc" {
						s.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "hidepid=2"}
					}
				}
				s.Root.Readonly = true
			}}},
		{name: "rlimits and the network of the host", mods: []specMod{func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024}}
			var kept []specs.LinuxNamespace
			for _, ns := range s.Linux.Namespaces {
				if ns.Type != specs.NetworkNamespace {
					kept = append(kept, ns)
				}
			}
			s.Linux.Namespaces = kept
			s.Linux.Sysctl = nil
		}}},
		{name: "a missing program", wantErr: `nosuch\": executable file not found in $PATH`,
			mods: []specMod{args("nosuch")}},
		{name: "a cwd that is a file", wantErr: "process.cwd /etc/passwd",
			mods: []specMod{func(s *specs.Spec) { s.Process.Cwd = "/etc/passwd" }}},
		{name: "a proc option procfs refuses", wantErr: "mount proc (proc) on /proc",
			mods: []specMod{func(s *specs.Spec) {
				for i := range s.Mounts {
					if s.Mounts[i].Type == "proc" {
						s.Mounts[i].Options = []string{"hidepid=bogus"}
					}
				}
			}}},
		{name: "a failing prestart hook", wantErr: "prestart",
			mods: []specMod{func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/false"}}}
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var outs [2]result
			var hookSaw [2]string
			for i, c := range []bool{true, false} {
				saw := filepath.Join(e.Dir, strings.ReplaceAll(tc.name, " ", "-")+map[bool]string{true: ".c", false: ".go"}[c])
				mods := append([]specMod{sh(report), func(s *specs.Spec) {
					s.Process.Env = append(s.Process.Env, "ID=placeholder")
					if s.Hooks == nil {
						// Where the parent's hooks run: the runtime's namespaces.
						hook := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c",
							"readlink /proc/self/ns/mnt /proc/self/ns/net /proc/self/ns/uts > " + saw}}
						s.Hooks = &specs.Hooks{Prestart: []specs.Hook{hook}, CreateRuntime: []specs.Hook{hook}}
					}
				}}, tc.mods...)
				if !c {
					mods = append(mods, goInit)
				}
				id := e.id()
				b := e.bundle(append(mods, func(s *specs.Spec) {
					s.Process.Env[len(s.Process.Env)-1] = "ID=" + id
				})...)
				outs[i] = e.nook("--debug", "run", "--bundle", b, id)
				if got := strings.Contains(outs[i].Stderr, builtForCInit); got != c {
					t.Fatalf("C init: %v, want %v\n%s", got, c, outs[i])
				}
				if tc.wantErr == "" {
					hookSaw[i] = readString(saw)
				}
				e.nook("delete", "--force", id)
			}
			cOut, goOut := outs[0], outs[1]
			if tc.wantErr != "" {
				sameFailure(t, tc.wantErr, "the C init", cOut, goOut)
				return
			}
			if cOut.Code != 3 || goOut.Code != 3 || cOut.Stdout != goOut.Stdout {
				t.Errorf("C init (exit %d):\n%s\nGo init (exit %d):\n%s", cOut.Code, cOut.Stdout, goOut.Code, goOut.Stdout)
			}
			for _, want := range append([]string{"/proc/acpi", "/sys/fs/cgroup"}, tc.shows...) {
				if !strings.Contains(cOut.Stdout, want) {
					t.Errorf("the container's own output misses %s:\n%s", want, cOut.Stdout)
				}
			}
			want := hostNS("mnt") + "\n" + hostNS("net") + "\n" + hostNS("uts") + "\n"
			for i, saw := range hookSaw {
				if saw != want {
					t.Errorf("%s init's hooks ran in namespaces\n%s want the runtime's\n%s", []string{"C", "Go"}[i], saw, want)
				}
			}
		})
	}
}
