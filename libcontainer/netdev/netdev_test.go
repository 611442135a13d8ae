package netdev

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidate(t *testing.T) {
	ok := map[string]specs.LinuxNetDevice{"eth0": {}, "ens3": {Name: "c_eth0"}, "veth1": {Name: "net%d"}}
	if err := Validate(ok); err != nil {
		t.Fatalf("Validate(%v) = %v", ok, err)
	}
	for _, c := range []struct {
		devs map[string]specs.LinuxNetDevice
		want string
	}{
		{map[string]specs.LinuxNetDevice{"": {}}, `linux.netDevices[""]: "" is not a network device name`},
		{map[string]specs.LinuxNetDevice{"..": {}}, `is not a network device name`},
		{map[string]specs.LinuxNetDevice{"a/b": {}}, `linux.netDevices["a/b"]: "a/b": a network device name has no '/', ':' or white space`},
		{map[string]specs.LinuxNetDevice{"eth0": {Name: "x y"}}, `linux.netDevices["eth0"].name: "x y"`},
		{map[string]specs.LinuxNetDevice{"eth0": {Name: "sixteen-chars-xx"}}, "longer than the 15 bytes"},
		{map[string]specs.LinuxNetDevice{"eth0": {Name: "n%d%d"}}, "the only template a name may hold is one %d"},
		{map[string]specs.LinuxNetDevice{"eth0": {Name: "n%s"}}, "the only template"},
	} {
		if err := Validate(c.devs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%v) = %v, want %q", c.devs, err, c.want)
		}
	}
}

// TestMove moves one end of a veth pair into a namespace made with `ip
// netns`, and reads back what the kernel has there.
func TestMove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("moving network devices needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	tag := os.Getpid() % 100000
	dev, ns := fmt.Sprintf("nkt%d", tag), fmt.Sprintf("nookt%d", tag)
	run("link", "add", dev, "type", "veth", "peer", "name", dev+"p")
	t.Cleanup(func() { exec.Command("ip", "link", "del", dev+"p").Run() })
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("addr", "add", "10.213.9.5/24", "dev", dev)
	run("addr", "add", "2001:db8:9::5/64", "dev", dev, "nodad")
	run("addr", "add", "10.213.10.5/32", "dev", dev, "scope", "host")

	if err := Move(map[string]specs.LinuxNetDevice{dev: {Name: "ceth0"}}, "/run/netns/"+ns); err != nil {
		t.Fatalf("Move: %v\n%s", err, run("-n", ns, "link"))
	}
	got := run("-n", ns, "-o", "addr", "show", "dev", "ceth0") + run("-n", ns, "-o", "link", "show", "dev", "ceth0")
	for _, want := range []string{"inet 10.213.9.5/24", "inet6 2001:db8:9::5/64", ",UP"} {
		if !strings.Contains(got, want) {
			t.Errorf("in the namespace: no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "10.213.10.5") {
		t.Errorf("the host-scoped address came along:\n%s", got)
	}
	if err := exec.Command("ip", "link", "show", dev).Run(); err == nil {
		t.Errorf("%s is still on the host", dev)
	}
	// A name taken inside is an error; a template is not.
	run("link", "add", dev+"q", "type", "veth", "peer", "name", dev+"r")
	t.Cleanup(func() { exec.Command("ip", "link", "del", dev+"r").Run() })
	err := Move(map[string]specs.LinuxNetDevice{dev + "q": {Name: "ceth0"}}, "/run/netns/"+ns)
	if err == nil || !strings.Contains(err.Error(), `a device named "ceth0" already exists`) {
		t.Errorf("Move onto a taken name = %v", err)
	}
	if err := Move(map[string]specs.LinuxNetDevice{dev + "q": {Name: "ceth%d"}}, "/run/netns/"+ns); err != nil {
		t.Errorf("Move with a template: %v", err)
	} else if got := run("-n", ns, "-o", "link", "show", "dev", "ceth1"); !strings.Contains(got, ",UP") {
		t.Errorf("the templated device is not ceth1, up:\n%s", got)
	}
	if err := Move(map[string]specs.LinuxNetDevice{"nosuchdev9": {}}, "/run/netns/"+ns); err == nil ||
		!strings.Contains(err.Error(), `linux.netDevices["nosuchdev9"]: no such device on the host`) {
		t.Errorf("Move of a missing device = %v", err)
	}
}
