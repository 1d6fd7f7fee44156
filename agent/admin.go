package agent

import (
	"context"
	"fmt"

	"pulse/admin"
	"pulse/config"
)

// startAdmin binds and serves the admin endpoint; stop ends it. An
// address the operator wrote that cannot be bound is an error: they
// expect their scrapes and health checks to reach it. The default address
// that is taken is a warning only — a second agent on the host is normal,
// and delivery matters more than the view of it.
func (a *Agent) startAdmin() (stop func(), err error) {
	ac := a.cfg.Admin
	if ac.Listen == config.AdminOff {
		return func() {}, nil
	}
	srv, err := admin.Listen(ac.Listen, a.Status, a.log)
	if err != nil {
		if !ac.Default {
			return nil, fmt.Errorf("cannot start: admin.listen: %w (choose a free host:port, or admin: off)", err)
		}
		a.log.Warn("admin endpoint not started: its default address is taken (another agent on this host?); set admin.listen to a free host:port, or admin: off",
			"addr", ac.Listen, "err", err)
		return func() {}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Run(ctx)
	}()
	a.log.Info("admin endpoint", "addr", srv.Addr())
	return func() { cancel(); <-done }, nil
}
