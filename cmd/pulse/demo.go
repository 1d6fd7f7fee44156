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

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demo.Options
	fs.IntVar(&o.Events, "events", demo.DefaultDemoEvents, "`N` events to generate")
	fs.Float64Var(&o.Rate, "rate", 0, "`N` events per second (0: as fast as possible)")
	fs.StringVar(&o.Dir, "dir", "", "working `DIR` (default: a new temp dir, removed at the end)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the working directory, and the dashboard up until Ctrl-C")
	fs.DurationVar(&o.Timeout, "timeout", demo.DefaultDemoTimeout, "give up when not every event arrived after `D`")
	fs.BoolVar(&o.Kafka, "kafka", false, fmt.Sprintf("the Kafka variant: a local broker (jars from scripts/kafka-jars.sh) between the agent and a consumer group of mergers; gen writes live, at -rate or %d events/s", demo.DefaultKafkaRate))
	quiet := fs.Bool("q", false, "no live progress on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: pulse demo [-kafka] [-events N] [-rate R] [-keep] [flags]")
		fs.PrintDefaults()
		return 2
	}
	o.Out = stdout
	if !*quiet {
		o.Progress = stderr
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if _, err := demo.Demo(ctx, o); err != nil {
		fmt.Fprintln(stderr, "pulse", err) // err names demo
		return 1
	}
	return 0
}
