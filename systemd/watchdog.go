package systemd

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Watchdog keeps systemd's watchdog (WatchdogSec=) fed: when WATCHDOG_USEC
// is set for this process, it sends WATCHDOG=1 at once and then every half
// interval until ctx is done, and returns nil. Without a watchdog it
// returns nil at once. It returns an error only for a malformed
// WATCHDOG_USEC. A failed send is logged and retried at the next tick:
// systemd kills the service if they keep failing, which is the point.
//
// Run it in its own goroutine, owned by whoever owns ctx.
func Watchdog(ctx context.Context) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return fmt.Errorf("systemd: watchdog: %w", err)
	}
	if interval <= 0 {
		return nil
	}
	// Half the interval, as sd_watchdog_enabled(3) advises: one late tick
	// must not cost a restart.
	t := time.NewTicker(max(interval/2, time.Millisecond))
	defer t.Stop()
	for {
		if err := notify(daemon.SdNotifyWatchdog); err != nil {
			// At most one line per tick: the tick is the rate limit.
			slog.Warn("systemd watchdog keep-alive failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
