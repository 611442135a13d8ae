package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// usernsMapping is a pod's user namespace with hostUsers: false.
var usernsMapping = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}

func withUserns(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings, s.Linux.GIDMappings = usernsMapping, usernsMapping
}

// Issue 16 §1: the Kubernetes `hostUsers: false` pod with a volume (podman
// --userns=auto with :idmap): an idmapped bind, with the container's own
// mappings, in a container with a user namespace. The volume's root-owned
// files show as root inside, and what root makes inside is root's on the
// host. Fails on e192b04 (EPERM: the init made the idmapped mount inside
// the user namespace).
func TestIdmappedVolumeInUserNamespace(t *testing.T) {
	e := newEnv(t)
	vol := filepath.Join(e.Dir, "volume")
	must(t, os.Mkdir(vol, 0o755))
	must(t, os.WriteFile(filepath.Join(vol, "f"), []byte("data\n"), 0o644))
	b := e.bundle(withUserns, sh("stat -c '%u:%g' /vol/f; touch /vol/new && echo made"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "idmap"}})
	})
	// The image ships the mount point (the container's root, host uid
	// 100000, may not create one in a rootfs the host's root owns).
	must(t, os.Mkdir(filepath.Join(b, "rootfs", "vol"), 0o755))
	out := e.ok(e.nook("run", "--bundle", b, e.id())).Stdout
	if got := strings.Join(nonEmptyLines(out), " "); got != "0:0 made" {
		t.Errorf("inside the idmapped volume: %q, want 0:0 made", got)
	}
	var st unix.Stat_t
	must(t, unix.Stat(filepath.Join(vol, "new"), &st))
	if st.Uid != 0 || st.Gid != 0 {
		t.Errorf("a file the container's root made in the volume is %d:%d on the host, want 0:0", st.Uid, st.Gid)
	}
}

// Issue 16 §1: a bind source under a host directory the container's root
// cannot traverse (0700, root's) is mounted, as runc does: the source is
// opened on the host. exec into the container reads it too. Fails on
// e192b04 with EACCES.
func TestBindSourceBehindPrivateDirInUserNamespace(t *testing.T) {
	e := newEnv(t)
	// The bundle must be reachable; the volume's parent must not be.
	must(t, os.Chmod(filepath.Dir(e.Dir), 0o755))
	must(t, os.Chmod(e.Dir, 0o755))
	private := filepath.Join(e.Dir, "private")
	must(t, os.Mkdir(private, 0o700))
	vol := filepath.Join(private, "volume")
	must(t, os.Mkdir(vol, 0o755))
	must(t, os.WriteFile(filepath.Join(vol, "f"), []byte("secret-but-shared\n"), 0o644))
	b := e.bundle(withUserns, args("sleep", "100"), func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind", "ro"}})
	})
	must(t, os.Mkdir(filepath.Join(b, "rootfs", "vol"), 0o755))
	id := e.id()
	if _, r := e.create(b, id); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	e.ok(e.nook("start", id))
	out := e.ok(e.nook("exec", id, "cat", "/vol/f")).Stdout
	if out != "secret-but-shared\n" {
		t.Errorf("exec cat /vol/f: %q", out)
	}
	e.ok(e.nook("delete", "--force", id))
}

// sharedHostDir makes dir a tmpfs mount of its own, shared (a peer group of
// the host's), as kubelet makes the directories of Bidirectional volumes.
func sharedHostDir(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	must(t, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	must(t, unix.Mount("", dir, "", unix.MS_SHARED, ""))
}

// propagationCase runs a container with the host's shared dir bound on
// /vol with the given options and rootfsPropagation; the container mounts a
// tmpfs on /vol/inside (and writes a file there), the host mounts one on
// dir/outside. It reports whether each side saw the other's.
func propagationCase(t *testing.T, e *env, bindOpts []string, rootProp string) (hostSees, containerSees bool) {
	t.Helper()
	dir := filepath.Join(e.Dir, "shared"+strings.Join(bindOpts, "-")+rootProp)
	sharedHostDir(t, dir)
	must(t, os.Mkdir(filepath.Join(dir, "inside"), 0o755))
	must(t, os.Mkdir(filepath.Join(dir, "outside"), 0o755))
	id, _, _ := e.createStarted(args("sh", "-c", "mount -t tmpfs tmpfs /vol/inside && echo c > /vol/inside/from-container && sleep 100"),
		func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/vol", Type: "bind", Source: dir, Options: bindOpts})
			s.Linux.RootfsPropagation = rootProp
			c := s.Process.Capabilities
			c.Bounding = append(c.Bounding, "CAP_SYS_ADMIN")
			c.Effective = append(c.Effective, "CAP_SYS_ADMIN")
			c.Permitted = append(c.Permitted, "CAP_SYS_ADMIN")
		})
	defer func() { e.ok(e.nook("delete", "--force", id)) }()
	// The container's mount happens right after start: give it a moment
	// to reach the host, if it is going to.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !hostSees {
		_, err := os.Stat(filepath.Join(dir, "inside", "from-container"))
		hostSees = err == nil
		time.Sleep(20 * time.Millisecond)
	}
	outside := filepath.Join(dir, "outside")
	must(t, unix.Mount("tmpfs", outside, "tmpfs", 0, "size=1m"))
	defer unix.Unmount(outside, unix.MNT_DETACH)
	must(t, os.WriteFile(filepath.Join(outside, "from-host"), nil, 0o644))
	r := e.nook("exec", id, "test", "-e", "/vol/outside/from-host")
	containerSees = r.Code == 0
	if hostSees {
		unix.Unmount(filepath.Join(dir, "inside"), unix.MNT_DETACH)
	}
	return hostSees, containerSees
}

// Issue 16 §2: Kubernetes mountPropagation as containerd and CRI-O write it.
// Bidirectional (every CSI node plugin): the bind is rshared and the root
// rshared; a mount made inside reaches the host and one made on the host
// reaches the container. HostToContainer: rslave both, one way. None
// (rprivate): neither way. Fails on e192b04 (Bidirectional: the container's
// mount never reached the host).
func TestMountPropagationAsKubernetes(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name                    string
		bindOpts                []string
		rootProp                string
		hostSees, containerSees bool
	}{
		{"Bidirectional", []string{"rbind", "rshared"}, "rshared", true, true},
		{"HostToContainer", []string{"rbind", "rslave"}, "rslave", false, true},
		{"None", []string{"rbind", "rprivate"}, "", false, false},
	} {
		hostSees, containerSees := propagationCase(t, e, tc.bindOpts, tc.rootProp)
		if hostSees != tc.hostSees || containerSees != tc.containerSees {
			t.Errorf("%s: the host sees the container's mount: %v (want %v); the container sees the host's: %v (want %v)",
				tc.name, hostSees, tc.hostSees, containerSees, tc.containerSees)
		}
	}
}
