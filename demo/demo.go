package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"pulse/admin"
	"pulse/child"
	"pulse/idcount"
)

// Defaults of Options.
const (
	DefaultDemoEvents  = 200_000
	DefaultDemoTimeout = 2 * time.Minute
	// DefaultDownFor is how long the demo keeps the killed archive node down.
	DefaultDownFor = 3 * time.Second
)

// ErrLost is returned (wrapped) when an event did not reach a destination.
var ErrLost = errors.New("events lost")

// Options configure Demo. Zero values take the defaults.
type Options struct {
	Binary   string        // the pulse binary; default os.Executable()
	Events   int           // events to generate; default DefaultDemoEvents
	Rate     float64       // events per second; 0 = as fast as possible
	Dir      string        // working directory; default a new temp dir
	Keep     bool          // keep Dir at the end (it is always kept after a loss), and the dashboard up until ctx ends
	Timeout  time.Duration // how long to wait for every event; default DefaultDemoTimeout
	DownFor  time.Duration // how long the killed archive node stays down; default DefaultDownFor
	Out      io.Writer     // summary; default os.Stdout
	Progress io.Writer     // live progress once a second; nil for none
	Logger   *slog.Logger  // default slog.Default()
	// Kafka runs the Kafka variant (kafka.go): a local broker between the
	// agents and the mergers, which are one consumer group.
	Kafka bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("demo: own binary: %w", err)
		}
		o.Binary = exe
	}
	if o.Events == 0 {
		o.Events = DefaultDemoEvents
	}
	if o.Events < 0 || o.Rate < 0 {
		return o, fmt.Errorf("demo: events %d and rate %g must not be negative", o.Events, o.Rate)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultDemoTimeout
	}
	if o.DownFor <= 0 {
		o.DownFor = DefaultDownFor
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Destination is what one destination received.
type Destination struct {
	Name   string         `json:"name"`
	IDs    idcount.Report `json:"ids"`
	After  float64        `json:"complete_after_s"` // seconds from the start; 0 if never complete
	Passed bool           `json:"complete"`
}

// Summary is the outcome of a demo run.
type Summary struct {
	Events       int           `json:"events"`
	Duration     time.Duration `json:"duration"`
	Destinations []Destination `json:"destinations"`
	Snapshot     string        `json:"snapshot,omitempty"` // one line from a merger's snapshots
	Verified     bool          `json:"verified"`
	PIDs         []int         `json:"pids"` // every child process the run started
}

// Demo runs the demo topology, verifies that every event arrived
// everywhere, writes a summary to o.Out and returns it. The error wraps
// ErrLost if an event is missing anywhere.
func Demo(ctx context.Context, o Options) (sum Summary, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return sum, err
	}
	if o.Kafka {
		return demoKafka(ctx, o)
	}
	dir, err := workDir(o.Dir, "pulse-demo-")
	if err != nil {
		return sum, fmt.Errorf("demo: %w", err)
	}
	g := &group{dir: dir, bin: o.Binary}
	defer func() {
		g.stopAll(15 * time.Second)
		sum.PIDs = g.pids()
		fmt.Fprintf(o.Out, "stopped and reaped %d child processes: pids%s\n", len(sum.PIDs), pidList(sum.PIDs))
		leaveWorkDir(o.Out, dir, o.Dir, o.Keep, err != nil)
	}()

	start := time.Now()
	t, err := startDemo(ctx, g, o)
	if err != nil {
		return sum, err
	}
	dash, err := startDashboard(t.snapshotDirs, t.agentAdmin, o.Logger) // dashboard.go
	if err != nil {
		return sum, err
	}
	defer dash.stop()
	fmt.Fprintf(o.Out, "dashboard: %s\n", dash.URL)
	sum.Events = o.Events
	dests, err := demoWait(ctx, t, o, start)
	sum.Duration = time.Since(start)
	sum.Destinations = dests
	if err != nil {
		return sum, err
	}
	sum.Snapshot = waitSnapshot(ctx, t.snapshotDirs, 5*time.Second)
	sum.Verified = verified(dests)
	printSummary(o.Out, sum)
	if !sum.Verified {
		return sum, fmt.Errorf("demo: %w", ErrLost)
	}
	dash.hold(ctx, o.Out, o.Keep)
	return sum, nil
}

// demoWait shows progress, kills and restarts an archive node half-way,
// and waits until every event is at the archive and the chained agent's
// file, or the timeout.
func demoWait(ctx context.Context, t *topology, o Options, start time.Time) ([]Destination, error) {
	v := newVerifier(t, o.Events)
	var genSize int64
	genDone := false
	var killedAt time.Time
	restarted := false
	var last admin.Status
	lastAt := start
	sc := newStatusClient(t.agentAdmin)
	deadline := start.Add(o.Timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return v.dests, ctx.Err()
		case <-tick.C:
		}
		for _, p := range []*child.Process{t.agent, t.chain} {
			if !p.Running() {
				return v.dests, fmt.Errorf("demo: %s exited:\n%s", p.Name, p.TailBytes(2000))
			}
		}
		if !genDone && !t.gen.Running() {
			genDone = true
			if st, err := os.Stat(t.logFile); err == nil {
				genSize = st.Size()
			}
		}
		st, err := sc.get(ctx)
		if err == nil {
			arch := output(st, "archive")
			// Half-way: kill -9 one archive node; restart it DownFor later.
			if killedAt.IsZero() && arch.Events >= int64(o.Events/2) {
				t.archive[0].Kill()
				killedAt = time.Now()
				fmt.Fprintf(o.Out, "%5.1fs killed archive node 1 (kill -9) at %d events delivered; back in %v\n", time.Since(start).Seconds(), arch.Events, o.DownFor)
			}
			if n%10 == 0 && o.Progress != nil {
				printProgress(o.Progress, time.Since(start), st, last, time.Since(lastAt))
				last, lastAt = st, time.Now()
			}
		}
		if !killedAt.IsZero() && !restarted && time.Since(killedAt) >= o.DownFor {
			if err := t.archive[0].Start(); err != nil {
				return v.dests, err
			}
			restarted = true
			fmt.Fprintf(o.Out, "%5.1fs restarted archive node 1\n", time.Since(start).Seconds())
		}
		complete := v.check(genDone, genSize, start)
		// Done when every destination is complete and the killed node is
		// back (so that the demo shows it rejoining).
		if complete && (killedAt.IsZero() || restarted) {
			return v.dests, nil
		}
		if time.Now().After(deadline) {
			v.rescan()
			printSummary(o.Out, Summary{Events: o.Events, Duration: time.Since(start), Destinations: v.dests})
			return v.dests, fmt.Errorf("demo: not every event arrived within %v: %w", o.Timeout, ErrLost)
		}
	}
}

// pidList renders pids as " 1 2 3".
func pidList(pids []int) string {
	var b strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&b, " %d", p)
	}
	return b.String()
}

// leaveWorkDir ends a run in the work directory dir: kept (and said so)
// when the run failed or keep asks, else removed if it was a temporary
// one (own is the -dir the user gave, never removed).
func leaveWorkDir(out io.Writer, dir, own string, keep, failed bool) {
	switch {
	case failed:
		fmt.Fprintf(out, "kept %s for inspection\n", dir)
	case keep:
		fmt.Fprintf(out, "kept %s\n", dir)
	case own == "":
		_ = os.RemoveAll(dir)
	}
}

// workDir returns dir, created if missing, or a new temporary directory
// when dir is empty.
func workDir(dir, prefix string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", prefix)
	}
	return dir, os.MkdirAll(dir, 0o755)
}
