package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"sync"
	"syscall"

	"pulse/agent"
	"pulse/config"
	"pulse/systemd"
)

func runAgent(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config `file` (default: the embedded default, stdin → ./pulse-data/out/local)")
	printCfg := fs.Bool("print-config", false, "print the effective config and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *printCfg {
		out, err := cfg.Marshal()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		stdout.Write(out)
		return 0
	}
	log := newLogger(cfg.Log, stderr)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	a, err := agent.New(cfg, agent.Options{Stdin: stdin, Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	// systemd: READY=1 once the inputs listen, WATCHDOG=1 while the process
	// lives (the drain included), STOPPING=1 at the first signal.
	life, endLife := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		select {
		case <-a.Ready():
			if err := systemd.Ready(); err != nil {
				log.Warn("sd_notify READY", "err", err)
			}
		case <-life.Done():
			return
		}
		select {
		case <-ctx.Done():
			_ = systemd.Stopping()
		case <-life.Done():
		}
	}()
	go func() {
		defer wg.Done()
		if err := systemd.Watchdog(life); err != nil {
			log.Warn("sd_notify WATCHDOG", "err", err)
		}
	}()
	err = a.Run(ctx)
	endLife()
	wg.Wait()
	if err != nil {
		log.Error("agent stopped with errors", "err", err)
		return 1
	}
	return 0
}

func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Parse("(embedded default)", config.DefaultYAML())
	}
	return config.Load(file)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config `file` to check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgFile == "" && fs.NArg() == 1 {
		*cfgFile = fs.Arg(0)
	}
	if *cfgFile == "" {
		fmt.Fprintln(stderr, "usage: pulse validate -config FILE")
		return 2
	}
	if _, err := config.Load(*cfgFile); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}
