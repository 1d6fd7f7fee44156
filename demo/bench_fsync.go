package demo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"pulse/config"
)

// FsyncModes are the buffer.fsync modes BenchFsync compares, cheapest first.
var FsyncModes = []string{config.FsyncNever, config.FsyncInterval, config.FsyncAlways}

// FsyncRun is one mode's run in BenchFsync.
type FsyncRun struct {
	Report
	LoadEnd float64 // load average (1 min) when the run ended
}

// BenchFsync runs Bench once per buffer.fsync mode, each writing its
// report.json and chart.svg into OutDir/fsync-MODE, and prints a table of
// what each mode costs: events/s and agent CPU seconds per million events,
// with the machine's load around each run (a shared machine skews both).
func BenchFsync(ctx context.Context, o BenchOptions) ([]FsyncRun, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.OutDir == "" {
		o.OutDir = "."
	}
	var runs []FsyncRun
	for _, mode := range FsyncModes {
		ro := o
		ro.Fsync = mode
		ro.OutDir = filepath.Join(o.OutDir, "fsync-"+mode)
		rep, err := Bench(ctx, ro)
		if err != nil {
			return runs, fmt.Errorf("fsync %s: %w", mode, err)
		}
		runs = append(runs, FsyncRun{Report: rep, LoadEnd: hostInfo().Load1})
	}
	printFsync(out, runs)
	return runs, nil
}

func printFsync(w io.Writer, runs []FsyncRun) {
	fmt.Fprintf(w, "\nbuffer.fsync, %d events, 3 outputs (%d CPUs)\n", runs[0].Events, runs[0].Host.CPUs)
	fmt.Fprintf(w, "  %-9s %12s %16s %14s %15s\n", "fsync", "events/s", "CPU s/M events", "disk B/event", "load start-end")
	for _, r := range runs {
		fmt.Fprintf(w, "  %-9s %12s %16.2f %14.1f %9.2f-%-5.2f\n", r.Fsync, si(r.EventsPS), r.CPUPerMEvents, r.DiskBytesPerEvent, r.Host.Load1, r.LoadEnd)
	}
}
