package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"gopkg.in/yaml.v3"

	"pulse/agent"
	"pulse/config"
	"pulse/systemd"
)

func runAgent(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run1(false, args, stdin, stdout, stderr)
}

// runMerger runs a merger: the agent's machinery with a merge: section,
// whose inputs take fragments and whose outputs carry snapshots.
func runMerger(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run1(true, args, stdin, stdout, stderr)
}

func run1(merger bool, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "agent"
	if merger {
		name = "merger"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config `FILE` (default: the embedded default, stdin → ./pulse-data/out/local)")
	printCfg := fs.Bool("print-config", false, "print the effective config and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if merger && *cfgFile == "" {
		fmt.Fprintln(stderr, "usage: pulse merger -config FILE")
		return 2
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if merger != (cfg.Merge != nil) {
		if merger {
			fmt.Fprintf(stderr, "%s: a merger's config needs a merge: section\n", *cfgFile)
		} else {
			fmt.Fprintf(stderr, "%s: has a merge: section: run it with pulse merger\n", *cfgFile)
		}
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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// WATCHDOG=1 while the process lives, the drain and reloads included.
	life, endLife := context.WithCancel(context.Background())
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		if err := systemd.Watchdog(life); err != nil {
			log.Warn("sd_notify WATCHDOG", "err", err)
		}
	}()
	defer func() { endLife(); <-watchdogDone }()

	// Each round runs one configuration. A valid new config on SIGHUP ends
	// the round without draining: buffers and checkpoints are on disk, so
	// the next round, with the new config, goes on from where this one
	// stopped; removed outputs keep their buffers in data_dir.
	for {
		a, err := agent.New(cfg, agent.Options{Stdin: stdin, Logger: log, Version: buildVersion()})
		if err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
		round, endRound := context.WithCancelCause(ctx)
		var next *config.Config
		watchDone := make(chan struct{})
		go func() {
			defer close(watchDone)
			select {
			case <-a.Ready():
				if err := systemd.Ready(); err != nil {
					log.Warn("sd_notify READY", "err", err)
				}
			case <-round.Done():
				return
			}
			for {
				select {
				case <-round.Done():
					if ctx.Err() != nil {
						_ = systemd.Stopping()
					}
					return
				case <-hup:
					c, err := loadConfig(*cfgFile)
					if err != nil {
						log.Error("reload rejected; the running config stays", "err", err)
						continue
					}
					_ = systemd.Reloading()
					log.Info("reloading", "config", *cfgFile)
					next = c
					endRound(agent.ErrReload)
					return
				}
			}
		}()
		err = a.Run(round)
		endRound(nil)
		<-watchDone
		if err != nil {
			log.Error("agent stopped with errors", "err", err)
			return 1
		}
		if next == nil {
			return 0
		}
		cfg = next
	}
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
	cfgFile := fs.String("config", "", "config `FILE` to check")
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
	load := config.Load
	if apiOnly(*cfgFile) {
		load = config.LoadAPI // pulse api's own file: no inputs or outputs
	}
	if _, err := load(*cfgFile); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

// apiOnly reports whether file's top level has an api: section and neither
// inputs: nor outputs:, the file of a pulse api that reads shards it names
// itself. A file that does not parse is not: config.Load reports why.
func apiOnly(file string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(data, &top) != nil {
		return false
	}
	_, api := top["api"]
	_, in := top["inputs"]
	_, out := top["outputs"]
	return api && !in && !out
}
