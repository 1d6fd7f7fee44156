package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"pulse/lsevents"
)

func runLsevents(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lsevents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o lsevents.Options
	fs.BoolVar(&o.Watch, "watch", false, "refresh every -interval, like top, until interrupted")
	fs.DurationVar(&o.Interval, "interval", lsevents.DefaultInterval, "refresh every `D` with -watch")
	fs.BoolVar(&o.JSON, "json", false, "print JSON instead of tables")
	fs.StringVar(&o.Config, "config", "", "agent config `FILE`: buffer caps for %CAP, and the default DIR (its data_dir)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pulse lsevents [-watch] [-json] [-config FILE] [DIR ...]\n\n"+
			"DIR is an event directory (events-NNNNNN.log files) or an agent's data_dir (default %s).\n\n", lsevents.DefaultDir)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.Dirs = fs.Args()
	if f, ok := stdout.(*os.File); ok {
		o.Terminal = lsevents.IsTerminal(f)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := lsevents.Run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "pulse", err)
		return 1
	}
	return 0
}
