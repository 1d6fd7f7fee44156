package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"pulse/api"
)

// DefaultDashboardAddr is where the demo's dashboard listens if the port
// is free (a stable URL to bookmark); else on any free port.
const DefaultDashboardAddr = "127.0.0.1:8480"

// dashboard is the Metrics API and its dashboard over the demo mergers'
// snapshot files, served in the demo's own process: the demo needs no
// database, so the API reads the files a type: file output wrote on the
// snapshots stream (api.FileStore) instead of PostgreSQL.
type dashboard struct {
	URL    string
	cancel context.CancelFunc
	done   chan error
}

// startDashboard serves the dashboard over snapshotDirs, with the health
// of the demo agent's admin endpoint.
func startDashboard(snapshotDirs []string, agentAdmin string, log *slog.Logger) (*dashboard, error) {
	st, err := api.NewFiles(api.FileOptions{Dirs: snapshotDirs, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: dashboard: %w", err)
	}
	var targets []api.StatusTarget
	if agentAdmin != "" {
		targets = append(targets, api.StatusTarget{Name: "agent", URL: "http://" + agentAdmin})
	}
	srv, err := api.New(api.Options{Store: st, Status: targets, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: dashboard: %w", err)
	}
	ln, err := net.Listen("tcp", DefaultDashboardAddr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("demo: dashboard: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Opened on the router's latency, by status code: the demo's richest.
	d := &dashboard{URL: "http://" + ln.Addr().String() + "/#metric=router.service&group_by=status", cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Serve(ctx, ln) }()
	return d, nil
}

// stop shuts the server down and waits for it.
func (d *dashboard) stop() {
	d.cancel()
	if err := <-d.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Default().Warn("demo: dashboard", "err", err)
	}
}

// hold ends a run: it prints the dashboard's URL and, with keep, serves
// on — the demo's processes running — until ctx ends (Ctrl-C).
func (d *dashboard) hold(ctx context.Context, out io.Writer, keep bool) {
	if !keep {
		fmt.Fprintf(out, "dashboard of the demo's metrics: %s (up while the demo ran; -keep keeps it up until Ctrl-C)\n", d.URL)
		return
	}
	fmt.Fprintf(out, "dashboard of the demo's metrics: %s (serving until Ctrl-C)\n", d.URL)
	<-ctx.Done()
}
