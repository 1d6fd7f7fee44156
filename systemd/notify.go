// Package systemd tells systemd about the life of a Type=notify service
// (sd_notify(3)): ready, reloading, stopping, and watchdog keep-alives.
// Every function is a no-op when the process was not started by systemd
// with a notify socket (NOTIFY_SOCKET unset), so callers need no checks.
package systemd

import (
	"fmt"
	"strconv"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Ready tells systemd that start-up, or a reload, is complete.
func Ready() error {
	return notify(daemon.SdNotifyReady)
}

// Stopping tells systemd that the service has begun shutting down, so that
// the time until exit counts against TimeoutStopSec rather than looking
// like a hang.
func Stopping() error {
	return notify(daemon.SdNotifyStopping)
}

// Reloading tells systemd that the service is reloading its configuration;
// call Ready when the reload is done. It sends MONOTONIC_USEC with the
// CLOCK_MONOTONIC time, which systemd 253 and later require alongside
// RELOADING=1 (older versions ignore it).
func Reloading() error {
	state := daemon.SdNotifyReloading
	if usec, ok := monotonicUsec(); ok {
		state += "\nMONOTONIC_USEC=" + strconv.FormatUint(usec, 10)
	}
	return notify(state)
}

// Notify sends any sd_notify state, e.g. "STATUS=draining buffers".
func Notify(state string) error {
	return notify(state)
}

func notify(state string) error {
	// unsetEnvironment false: later calls (watchdog, stopping) need the
	// socket too.
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("systemd: notify %q: %w", state, err)
	}
	return nil
}
