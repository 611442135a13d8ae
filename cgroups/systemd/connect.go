package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

const (
	systemdService = "org.freedesktop.systemd1"
	systemdPath    = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface   = "org.freedesktop.systemd1.Manager"
	// probeTimeout bounds the first calls to systemd: a bus whose peer
	// hangs must not hang `nook create`.
	probeTimeout = 10 * time.Second
)

// busAddresses says where systemd is looked for.
type busAddresses struct {
	// user is true for a user manager (nook not running as root).
	user bool
	// bus is the D-Bus address of the system (or user) bus.
	bus string
	// private is systemd's own socket, used when no bus daemon runs (as
	// early in boot); "" for none.
	private string
}

// defaultBusAddresses follows the D-Bus conventions: the system bus (or,
// when not root, the user bus) from the environment or its well-known
// socket, then systemd's private socket. The user bus is never
// auto-launched: a launched bus would have no systemd on it anyway.
func defaultBusAddresses() busAddresses {
	if os.Geteuid() != 0 {
		a := busAddresses{user: true, bus: os.Getenv("DBUS_SESSION_BUS_ADDRESS")}
		if a.bus == "" {
			if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
				a.bus = "unix:path=" + dir + "/bus"
			}
		}
		return a
	}
	a := busAddresses{
		bus:     os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"),
		private: "unix:path=/run/systemd/private",
	}
	if a.bus == "" {
		a.bus = "unix:path=/run/dbus/system_bus_socket"
	}
	return a
}

// systemdConn is a live connection to a systemd manager.
type systemdConn struct {
	conn *sddbus.Conn
	// version is systemd's major version, 0 when it could not be read.
	version int
	// root is the manager's own cgroup ("" or "/" for the system
	// manager at the top of the tree; "/user.slice/user-1000.slice/
	// user@1000.service" for a user manager). Unit paths are below it.
	root string
	user bool
}

func (c *systemdConn) close() {
	if c != nil && c.conn != nil {
		c.conn.Close()
	}
}

// connect reaches systemd and checks that it answers, before anything is
// created: a bus with no systemd on it (a container's dbus-daemon) is as
// unreachable as no bus at all.
func connect(a busAddresses) (*systemdConn, error) {
	if a.bus == "" {
		return nil, unreachable(errors.New("no user bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set"), a.user)
	}
	c, err := dialAndProbe(a.bus, true)
	if err == nil {
		c.user = a.user
		return c, nil
	}
	cause := fmt.Errorf("%s: %w", a.bus, err)
	if a.private != "" {
		c, perr := dialAndProbe(a.private, false)
		if perr == nil {
			return c, nil
		}
		cause = fmt.Errorf("%w; %s: %w", cause, a.private, perr)
	}
	return nil, unreachable(cause, a.user)
}

func unreachable(cause error, user bool) error {
	hint := "is systemd running as PID 1?"
	if user {
		hint = "is a systemd user instance running for this user, with DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR set?"
	}
	return fmt.Errorf("systemd cgroup driver (--systemd-cgroup): cannot reach systemd over D-Bus: %w (%s)", cause, hint)
}

// dialAndProbe opens go-systemd's pair of connections (calls and signals)
// to address and reads the manager's Version and ControlGroup.
func dialAndProbe(address string, hello bool) (*systemdConn, error) {
	var calls *dbus.Conn // the first connection go-systemd dials is its call connection
	conn, err := sddbus.NewConnection(func() (*dbus.Conn, error) {
		c, err := dialBus(address, hello)
		if err == nil && calls == nil {
			calls = c
		}
		return c, err
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	obj := calls.Object(systemdService, systemdPath)
	version, err := managerProperty(ctx, obj, "Version")
	if err != nil {
		conn.Close()
		return nil, err
	}
	root, err := managerProperty(ctx, obj, "ControlGroup")
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &systemdConn{conn: conn, version: parseSystemdVersion(version), root: root}, nil
}

// dialBus connects and authenticates as this uid (EXTERNAL, no user name
// lookup), then says Hello unless the peer is systemd itself.
func dialBus(address string, hello bool) (*dbus.Conn, error) {
	c, err := dbus.Dial(address)
	if err != nil {
		return nil, err
	}
	if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		c.Close()
		return nil, err
	}
	if hello {
		if err := c.Hello(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func managerProperty(ctx context.Context, obj dbus.BusObject, name string) (string, error) {
	var v dbus.Variant
	err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, managerIface, name).Store(&v)
	if err != nil {
		return "", fmt.Errorf("reading systemd's %s: %w", name, err)
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("reading systemd's %s: got D-Bus type %s, want a string", name, v.Signature())
	}
	return s, nil
}
