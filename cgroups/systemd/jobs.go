package systemd

import (
	"context"
	"errors"
	"fmt"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus"
)

// jobTimeout bounds how long nook waits for systemd to start or stop a
// unit; a transient scope normally takes milliseconds.
const jobTimeout = 30 * time.Second

func isDBusError(err error, name string) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name == name
	}
	var dp *dbus.Error
	return errors.As(err, &dp) && dp.Name == name
}

// startUnit asks systemd for the transient unit and waits for the job. A
// unit of the same name left over in the "failed" state (a crashed earlier
// container) is reset and the start tried once more, as runc does.
func (c *systemdConn) startUnit(unit string, props []sddbus.Property) error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		done := make(chan string, 1)
		_, err := c.conn.StartTransientUnitContext(ctx, unit, "replace", props, done)
		if err != nil {
			if attempt == 0 && isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
				_ = c.conn.ResetFailedUnitContext(ctx, unit)
				continue
			}
			if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
				return fmt.Errorf("starting systemd unit %s: it already exists (is another container using the same linux.cgroupsPath?): %w", unit, err)
			}
			return fmt.Errorf("starting systemd unit %s: %w", unit, err)
		}
		select {
		case result := <-done:
			if result != "done" {
				_ = c.conn.ResetFailedUnitContext(context.Background(), unit)
				return fmt.Errorf("starting systemd unit %s: job finished with result %q", unit, result)
			}
			return nil
		case <-ctx.Done():
			_ = c.conn.ResetFailedUnitContext(context.Background(), unit)
			return fmt.Errorf("starting systemd unit %s: no job result after %s", unit, jobTimeout)
		}
	}
}

// stopUnit stops the unit and waits for the job. A unit systemd no longer
// knows is already stopped. A job that ends other than "done" is logged,
// not returned: what matters is that the cgroups go, which the cgroupfs
// manager's Destroy checks next.
func (c *systemdConn) stopUnit(unit string) error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	done := make(chan string, 1)
	_, err := c.conn.StopUnitContext(ctx, unit, "replace", done)
	if err != nil {
		if isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
			return nil
		}
		return fmt.Errorf("stopping systemd unit %s: %w", unit, err)
	}
	select {
	case result := <-done:
		if result == "done" {
			return nil // a stopped transient unit is unloaded by systemd
		}
		logrus.Warnf("stopping systemd unit %s: job finished with result %q", unit, result)
	case <-ctx.Done():
		return fmt.Errorf("stopping systemd unit %s: no job result after %s", unit, jobTimeout)
	}
	// A unit that failed stays loaded until reset; let systemd drop it.
	if err := c.conn.ResetFailedUnitContext(ctx, unit); err != nil &&
		!isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
		logrus.Debugf("resetting systemd unit %s: %v", unit, err)
	}
	return nil
}

// setProperties changes the running unit's properties for this boot only
// (runtime=true): state.json, not systemd's drop-ins, is nook's record.
func (c *systemdConn) setProperties(unit string, props []sddbus.Property) error {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	if err := c.conn.SetUnitPropertiesContext(ctx, unit, true, props...); err != nil {
		return fmt.Errorf("setting properties of systemd unit %s: %w", unit, err)
	}
	return nil
}
