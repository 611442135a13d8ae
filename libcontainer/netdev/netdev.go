// Package netdev moves host network devices into a container's network
// namespace (linux.netDevices, runtime-spec v1.3), over rtnetlink.
//
// The kernel drops a device's addresses when it changes namespace, and the
// spec asks that its permanent, global ones come along: they are read on
// the host first and added again inside. The device is then set up. Nothing
// moves it back: when the namespace goes, the kernel returns physical
// devices to the host and destroys virtual ones (the spec's lifecycle).
package netdev

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Validate checks linux.netDevices: device names as the kernel takes them,
// the new name at most one "%d" template.
func Validate(devs map[string]specs.LinuxNetDevice) error {
	for _, host := range slices.Sorted(maps.Keys(devs)) {
		if err := checkName(host); err != nil {
			return fmt.Errorf("linux.netDevices[%q]: %w", host, err)
		}
		if name := devs[host].Name; name != "" {
			if err := checkName(name); err != nil {
				return fmt.Errorf("linux.netDevices[%q].name: %w", host, err)
			}
		}
	}
	return nil
}

// checkName mirrors the kernel's dev_valid_name.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q is not a network device name", name)
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Errorf("%q is longer than the %d bytes of a network device name", name, unix.IFNAMSIZ-1)
	case strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("%q: a network device name has no '/', ':' or white space", name)
	case strings.Count(name, "%") > 1 || (strings.Contains(name, "%") && !strings.Contains(name, "%d")):
		return fmt.Errorf("%q: the only template a name may hold is one %%d", name)
	}
	return nil
}

// address is one of a device's permanent, global addresses.
type address struct {
	msg   unix.IfAddrmsg
	attrs [][]byte // IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST as read
}

// Move moves each host device of devs into the network namespace at
// netns (the container's /proc/<pid>/ns/net), renamed as asked, with its
// permanent global addresses, and sets it up.
func Move(devs map[string]specs.LinuxNetDevice, netns string) error {
	if len(devs) == 0 {
		return nil
	}
	nsFile, err := os.Open(netns)
	if err != nil {
		return fmt.Errorf("linux.netDevices: open the container's network namespace: %w", err)
	}
	defer nsFile.Close()
	host, err := openRtnl()
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer host.Close()
	inside, err := rtnlIn(nsFile)
	if err != nil {
		return fmt.Errorf("linux.netDevices: %w", err)
	}
	defer inside.Close()
	for _, name := range slices.Sorted(maps.Keys(devs)) {
		if err := move(host, inside, nsFile, name, devs[name].Name); err != nil {
			return fmt.Errorf("linux.netDevices[%q]: %w", name, err)
		}
	}
	return nil
}

func move(host, inside *rtnl, nsFile *os.File, name, newName string) error {
	if newName == "" {
		newName = name
	}
	hostIndex, err := linkIndex(host, name)
	if err != nil {
		return fmt.Errorf("no such device on the host: %w", err)
	}
	// A name that is taken inside is an error (runtime-spec), unless it is
	// a template the kernel fills in.
	if !strings.Contains(newName, "%d") {
		if _, err := linkIndex(inside, newName); err == nil {
			return fmt.Errorf("a device named %q already exists in the container's network namespace", newName)
		}
	}
	addrs, err := permanentAddrs(host, hostIndex)
	if err != nil {
		return fmt.Errorf("read addresses: %w", err)
	}
	if _, err := host.send(unix.RTM_NEWLINK, unix.NLM_F_ACK, ifinfo(hostIndex, 0, 0),
		attr(unix.IFLA_NET_NS_FD, u32(uint32(nsFile.Fd()))), attr(unix.IFLA_IFNAME, cstring(newName))); err != nil {
		return fmt.Errorf("move into the container's network namespace as %q: %w", newName, err)
	}
	// The kernel keeps the index unless the namespace already uses it;
	// look the device up by name where the name is known.
	index := hostIndex
	if !strings.Contains(newName, "%d") {
		if index, err = linkIndex(inside, newName); err != nil {
			return fmt.Errorf("find %q in the container's network namespace: %w", newName, err)
		}
	}
	for _, a := range addrs {
		a.msg.Index = uint32(index)
		body := [][]byte{ifaddr(a.msg)}
		body = append(body, a.attrs...)
		if _, err := inside.send(unix.RTM_NEWADDR, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, body...); err != nil {
			return fmt.Errorf("restore an address in the container: %w", err)
		}
	}
	if _, err := inside.send(unix.RTM_NEWLINK, unix.NLM_F_ACK, ifinfo(index, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("set %q up: %w", newName, err)
	}
	return nil
}

// linkIndex asks for the device called name.
func linkIndex(s *rtnl, name string) (int32, error) {
	msgs, err := s.send(unix.RTM_GETLINK, unix.NLM_F_ACK, ifinfo(0, 0, 0), attr(unix.IFLA_IFNAME, cstring(name)))
	if err != nil {
		return 0, err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK && len(m.Data) >= unix.SizeofIfInfomsg {
			info := (*unix.IfInfomsg)(unsafePointer(m.Data))
			return info.Index, nil
		}
	}
	return 0, unix.ENODEV
}

// permanentAddrs lists the permanent addresses of global scope of the
// device at index, of every family.
func permanentAddrs(s *rtnl, index int32) ([]address, error) {
	msgs, err := s.send(unix.RTM_GETADDR, unix.NLM_F_DUMP, ifaddr(unix.IfAddrmsg{Family: unix.AF_UNSPEC}))
	if err != nil {
		return nil, err
	}
	var out []address
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
			continue
		}
		msg := *(*unix.IfAddrmsg)(unsafePointer(m.Data))
		if int32(msg.Index) != index || msg.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, err
		}
		flags := uint32(msg.Flags)
		a := address{msg: msg}
		for _, at := range attrs {
			switch at.Attr.Type {
			case unix.IFA_FLAGS:
				if len(at.Value) >= 4 {
					flags = nativeU32(at.Value)
				}
			case unix.IFA_LOCAL, unix.IFA_ADDRESS, unix.IFA_BROADCAST:
				a.attrs = append(a.attrs, attr(at.Attr.Type, at.Value))
			}
		}
		if flags&unix.IFA_F_PERMANENT == 0 {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// rtnlIn opens a route socket in the network namespace nsFile: a socket
// belongs to the namespace of the thread that creates it, so a locked
// thread enters it for that one call and goes back.
func rtnlIn(nsFile *os.File) (*rtnl, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer self.Close()
	if err := unix.Setns(int(nsFile.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter the container's network namespace: %w", err)
	}
	s, openErr := openRtnl()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// This thread cannot be trusted with the host's network any more:
		// keeping it locked makes Go end it when the goroutine returns.
		runtime.LockOSThread()
		if s != nil {
			s.Close()
		}
		return nil, errors.Join(openErr, fmt.Errorf("return to the host's network namespace: %w", err))
	}
	return s, openErr
}
