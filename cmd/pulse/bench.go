package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"pulse/demo"
)

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demo.BenchOptions
	fs.IntVar(&o.Events, "events", 0, fmt.Sprintf("`N` events in the pre-generated file (default %d unless -duration)", demo.DefaultBenchEvents))
	fs.DurationVar(&o.Duration, "duration", 0, "instead of -events: gen writes the file for `D` while the agent reads it")
	fs.Float64Var(&o.Rate, "rate", 0, "with -duration: gen's `N` events per second (0: as fast as possible)")
	fs.StringVar(&o.Down, "down", "", "take a cluster down for part of the run: `CLUSTER:FROM-TO`, e.g. B:10s-30s")
	fs.StringVar(&o.Compression, "compression", "zstd", "the agent's batch compression `NAME`: zstd, s2 or none")
	fs.StringVar(&o.Fsync, "fsync", "interval", "the agent's buffer.fsync `MODE`: never, interval, always, or all (a run each, then a table of their cost)")
	fs.StringVar(&o.OutDir, "out", ".", "`DIR` for report.json and chart.svg")
	fs.StringVar(&o.Dir, "dir", "", "working `DIR` (default: a new temp dir, removed at the end)")
	fs.StringVar(&o.SinkDir, "sink-dir", "", "the sinks' files in a new dir under `DIR` (e.g. /dev/shm), apart from the agent's buffers, so that their writeback is not measured")
	fs.BoolVar(&o.Keep, "keep", false, "keep the working directory")
	fs.DurationVar(&o.Timeout, "timeout", demo.DefaultBenchTimeout, "give up after `D`")
	to := fs.String("to", "http", "`SINK`: http (the three-cluster scenario) or kafka (the agent into a local 1-broker Kafka, beside kcat -P with the same file; -compression is then the Kafka codec)")
	metrics := fs.Bool("metrics", false, "the metrics path instead: l2met + router lines → agent → 3 merger shards → snapshots, checked exactly")
	fs.IntVar(&o.Dynos, "dynos", 0, fmt.Sprintf("with -metrics: gen's `N` dynos, which make the metric keys (default %d: about 100,000 keys)", demo.DefaultBenchDynos))
	quiet := fs.Bool("q", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.Events != 0 && o.Duration != 0 || *to != "http" && *to != "kafka" {
		fmt.Fprintln(stderr, "usage: pulse bench [-to http|kafka] [-events N | -duration D] [-down B:10s-30s] [-out DIR] [flags]")
		fs.PrintDefaults()
		return 2
	}
	if o.SinkDir != "" && (*metrics || *to == "kafka") {
		fmt.Fprintln(stderr, "pulse bench: -sink-dir is for the three-cluster scenario, not -metrics or -to kafka")
		return 2
	}
	o.Out = stdout
	if !*quiet {
		o.Progress = stderr
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *to == "kafka" {
		if _, err := demo.BenchKafka(ctx, o); err != nil {
			fmt.Fprintln(stderr, "pulse", err)
			return 1
		}
		return 0
	}
	if *metrics {
		if _, err := demo.BenchMetrics(ctx, o); err != nil {
			fmt.Fprintln(stderr, "pulse", err)
			return 1
		}
		return 0
	}
	if o.Fsync == "all" {
		o.Fsync = ""
		if _, err := demo.BenchFsync(ctx, o); err != nil {
			fmt.Fprintln(stderr, "pulse bench:", err)
			return 1
		}
		return 0
	}
	if _, err := demo.Bench(ctx, o); err != nil {
		fmt.Fprintln(stderr, "pulse", err)
		return 1
	}
	return 0
}
