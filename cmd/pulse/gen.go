package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"pulse/gen"
)

func runGen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o gen.Options
	fs.Float64Var(&o.Rate, "rate", 0, "`N` events per second (0: as fast as possible)")
	fs.Int64Var(&o.Count, "count", 0, "stop after `N` events")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after `D`, a duration such as 30s or 5m (with -count: whichever comes first)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed `N`: the same flags give the same bytes")
	fs.StringVar(&o.Out, "out", "-", "`DEST`: - (stdout), FILE, http://host:port[/path], syslog+tcp://host:port or syslog+udp://host:port")
	fs.StringVar(&o.Format, "format", gen.FormatLines, "HTTP body `FORMAT`: lines, pulse (native batches, zstd, POST /v1/batch) or logplex (application/logplex-1)")
	fs.IntVar(&o.Batch, "batch", gen.DefaultBatch, "`N` events per HTTP request")
	fs.DurationVar(&o.Timeout, "timeout", gen.DefaultTimeout, "give up when one HTTP request has failed for `D` (exit 1)")
	fs.IntVar(&o.Dynos, "dynos", gen.DefaultDynos, "web dynos web.1..`N`")
	mix := fs.String("mix", gen.DefaultMix, "line kinds and their `WEIGHTS`")
	start := fs.String("start", "", "first event's `TIME`, RFC 3339 or \"now\" (default 2026-11-21T10:00:00Z, fixed so that runs repeat)")
	quiet := fs.Bool("q", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.Count == 0 && o.Duration == 0 {
		fmt.Fprintln(stderr, "usage: pulse gen (-count N | -duration D) [-rate N] [-out DEST] [-format F] [flags]")
		fs.PrintDefaults()
		return 2
	}
	m, err := gen.ParseMix(*mix)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	o.Mix = m
	switch *start {
	case "":
	case "now":
		o.Start = time.Now().UTC()
	default:
		t, err := time.Parse(time.RFC3339Nano, *start)
		if err != nil {
			fmt.Fprintf(stderr, "pulse gen: -start: %v\n", err)
			return 2
		}
		o.Start = t
	}
	o.Stdout = stdout
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first signal gen stops and flushes; a second one kills it.
	context.AfterFunc(ctx, stop)
	if _, err := gen.Run(ctx, o, progress); err != nil {
		fmt.Fprintln(stderr, "pulse", err) // err names gen
		return 1
	}
	return 0
}
