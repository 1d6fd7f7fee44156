package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"pulse/agent"
	"pulse/api"
	"pulse/config"
)

// runAPI serves the Metrics API and the dashboard from a config's api:
// section until SIGINT or SIGTERM.
func runAPI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config `FILE` with an api: section (a file of its own, or a merger's naming its postgres output)")
	listen := fs.String("listen", "", "listen on `ADDR` instead of api.listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgFile == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: pulse api -config FILE [-listen ADDR]")
		return 2
	}
	cfg, err := config.LoadAPI(*cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	slog.SetDefault(log)
	if *listen != "" {
		cfg.API.Listen = *listen
	}
	srv, closeStore, err := newAPIServer(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "pulse api:", err)
		return 1
	}
	defer closeStore()
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		fmt.Fprintln(stderr, "pulse api:", err)
		return 1
	}
	fmt.Fprintf(stdout, "pulse api: dashboard at http://%s/ (API under /v1/)\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("api stopped with errors", "err", err)
		return 1
	}
	return 0
}

// newAPIServer builds the store the api: section names and the server
// over it; closeStore releases the store's connections.
func newAPIServer(cfg *config.Config, log *slog.Logger) (*api.Server, func(), error) {
	a := cfg.API
	token := a.Token
	if a.TokenFile != "" {
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, nil, fmt.Errorf("api.token_file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, nil, fmt.Errorf("api.token_file %s: empty", a.TokenFile)
		}
	}
	var store api.Store
	closeStore := func() {}
	if len(a.SnapshotDirs) > 0 {
		fst, err := api.NewFiles(api.FileOptions{Dirs: a.SnapshotDirs, Logger: log})
		if err != nil {
			return nil, nil, err
		}
		store = fst
	} else {
		shards, schema, tlsCfg := a.Shards, a.Schema, a.TLS
		if a.Output != "" {
			i := slices.IndexFunc(cfg.Outputs, func(o config.Output) bool { return o.Name == a.Output })
			o := cfg.Outputs[i] // Validate checked it is there, and postgres
			shards, schema, tlsCfg = o.Postgres.Shards, o.Postgres.Schema, o.TLS
		}
		var tc *tls.Config
		if tlsCfg != nil {
			var err error
			if tc, err = agent.ClientTLS(tlsCfg); err != nil {
				return nil, nil, err
			}
		}
		pst, err := api.NewPostgres(api.PostgresOptions{Shards: shards, Schema: schema, TLS: tc, Timeout: a.Timeout.D(), Logger: log})
		if err != nil {
			return nil, nil, err
		}
		store, closeStore = pst, pst.Close
	}
	var targets []api.StatusTarget
	for _, s := range a.Status {
		targets = append(targets, api.StatusTarget{Name: s.Name, URL: s.URL})
	}
	srv, err := api.New(api.Options{
		Store: store, Token: token, MaxPoints: a.MaxPoints, MaxRange: a.MaxRange.D(),
		MaxRows: a.MaxRows, Timeout: a.Timeout.D(), Status: targets, Logger: log,
	})
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return srv, closeStore, nil
}
