package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"pulse/sink"
)

func runSink(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o sink.Options
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "`ADDR` to listen on")
	fs.StringVar(&o.Dir, "dir", "", "`DIR` of the event files (required)")
	fs.Int64Var(&o.MaxFileBytes, "max-file-bytes", sink.DefaultMaxFileBytes, "rotate a file when it would grow past `N` bytes")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", sink.DefaultMaxBodyBytes, "largest request body, `N` bytes (413 beyond)")
	fs.StringVar(&o.TCPListen, "tcp", "", "also take newline-framed lines over plain TCP at `ADDR` (syslog-ng network(), rsyslog omfwd)")
	fs.IntVar(&o.IDs, "ids", 0, "count the ids 0..`N`-1 (id=N ending pulse gen's lines) written, including the files already in -dir; a GET and the final line report them")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "`FRACTION` of POSTs answered 503 + Retry-After: 1")
	fs.DurationVar(&o.Latency, "latency", 0, "`D` added before answering every request")
	fs.DurationVar(&o.DownFor, "down-for", 0, "answer -down-status to everything for `D` after start")
	fs.IntVar(&o.DownStatus, "down-status", 503, "HTTP `STATUS` while down")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed `N` of the -fail-rate choices")
	fs.BoolVar(&o.Quiet, "quiet", false, "no live count on stderr")
	verbose := fs.Bool("v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.Dir == "" {
		fmt.Fprintln(stderr, "usage: pulse sink -listen ADDR -dir DIR [flags]")
		fs.PrintDefaults()
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	o.Progress = stderr

	s, err := sink.New(o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2 // New only fails on bad options
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills at once.
	context.AfterFunc(ctx, stop)
	if err := s.Run(ctx); err != nil {
		o.Logger.Error("sink stopped with errors", "err", err)
		return 1
	}
	return 0
}
