package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pulse/config"
	"pulse/idcount"
	"pulse/protocol"
)

// Defaults of BenchOptions.
const (
	DefaultBenchEvents  = 2_000_000
	DefaultBenchTimeout = 10 * time.Minute
)

// benchClusters are the scenario's three clusters of two sinks each.
var benchClusters = [...]string{"a", "b", "c"}

// BenchOptions configure Bench. Zero values take the defaults.
type BenchOptions struct {
	Binary string // the pulse binary; default os.Executable()
	// Events is the size of the pre-generated file (default
	// DefaultBenchEvents); with Duration, gen instead writes the file
	// while the agent reads it, for that long, at Rate (0: full speed).
	Events   int
	Duration time.Duration
	Rate     float64
	// Down takes a cluster's nodes down for part of the run: "B:10s-30s"
	// (stopped at 10 s, started again at 30 s) or "B:10s-" (never back;
	// the cluster is then not waited for).
	Down string
	// Compression of the agent's batches: zstd (default), s2 or none.
	Compression string
	OutDir      string        // report.json and chart.svg; default "."
	Dir         string        // working directory; default a new temp dir, removed at the end
	Keep        bool          // keep Dir
	Timeout     time.Duration // give up after this long; default DefaultBenchTimeout
	Out         io.Writer     // the table; default os.Stdout
	Progress    io.Writer     // a line a second; nil for none
	Logger      *slog.Logger  // default slog.Default()
	// Fsync is the agent's buffer.fsync: never, interval (the default) or
	// always. BenchFsync runs all three.
	Fsync string
	// Dynos is gen's -dynos in BenchMetrics, which sets the number of
	// metric keys; default DefaultBenchDynos.
	Dynos int
	// SinkDir, when set, holds the six sinks' files (a new directory in
	// it, removed at the end unless Keep) instead of the working
	// directory: on /dev/shm their writes — every event three times —
	// no longer share the disk with the agent's buffers, so that the run
	// measures the agent, not the sinks' writeback.
	SinkDir string
}

// downSpec is a parsed BenchOptions.Down.
type downSpec struct {
	cluster  string
	from, to time.Duration // to == 0: never back
}

func parseDown(s string) (*downSpec, error) {
	if s == "" {
		return nil, nil
	}
	name, span, ok := strings.Cut(s, ":")
	from, to, ok2 := strings.Cut(span, "-")
	d := &downSpec{cluster: strings.ToLower(name)}
	if !ok || !ok2 || !strings.Contains("abc", d.cluster) || len(d.cluster) != 1 {
		return nil, fmt.Errorf("demo: -down %q: want CLUSTER:FROM-TO, e.g. B:10s-30s (cluster A, B or C; TO may be empty)", s)
	}
	var err error
	if d.from, err = time.ParseDuration(from); err != nil {
		return nil, fmt.Errorf("demo: -down %q: %w", s, err)
	}
	if to != "" {
		if d.to, err = time.ParseDuration(to); err != nil {
			return nil, fmt.Errorf("demo: -down %q: %w", s, err)
		}
		if d.to <= d.from {
			return nil, fmt.Errorf("demo: -down %q: end before start", s)
		}
	}
	return d, nil
}

func (o BenchOptions) withDefaults() (BenchOptions, *downSpec, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, nil, fmt.Errorf("demo: own binary: %w", err)
		}
		o.Binary = exe
	}
	if o.Events == 0 && o.Duration == 0 {
		o.Events = DefaultBenchEvents
	}
	if o.Events < 0 || o.Duration < 0 || o.Rate < 0 {
		return o, nil, fmt.Errorf("demo: bench: negative events, duration or rate")
	}
	if o.OutDir == "" {
		o.OutDir = "."
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultBenchTimeout
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if !protocol.Compression(o.Compression).Valid() {
		return o, nil, fmt.Errorf("demo: bench: -compression %q: want zstd, s2 or none", o.Compression)
	}
	if o.Compression == "" {
		o.Compression = string(protocol.CompressZstd)
	}
	switch o.Fsync {
	case "":
		o.Fsync = config.FsyncInterval
	case config.FsyncNever, config.FsyncInterval, config.FsyncAlways:
	default:
		return o, nil, fmt.Errorf("demo: bench: -fsync %q: want never, interval or always", o.Fsync)
	}
	if o.SinkDir != "" {
		if fi, err := os.Stat(o.SinkDir); err != nil || !fi.IsDir() {
			return o, nil, fmt.Errorf("demo: bench: -sink-dir %q: want an existing directory", o.SinkDir)
		}
	}
	down, err := parseDown(o.Down)
	return o, down, err
}

// Report is what Bench measured; it is written as report.json.
type Report struct {
	Started time.Time `json:"started"`
	Command string    `json:"command"`
	Host    Host      `json:"host"`
	Events  int       `json:"events"`
	Bytes   int64     `json:"bytes"` // size of the log file
	Down    string    `json:"down,omitempty"`
	// Compression of the agent's batches.
	Compression string  `json:"compression"`
	Seconds     float64 `json:"seconds"` // agent start until every live cluster had every event
	EventsPS    float64 `json:"events_per_second"`
	MBPS        float64 `json:"mb_per_second"`
	// Agent cost, sampled from /proc just before it was stopped.
	CPUSeconds        float64         `json:"agent_cpu_seconds"`
	CPUPerMEvents     float64         `json:"agent_cpu_seconds_per_million_events"`
	PeakRSSBytes      int64           `json:"agent_peak_rss_bytes"`
	DiskBytes         int64           `json:"agent_disk_write_bytes"`
	DiskBytesPerEvent float64         `json:"agent_disk_bytes_per_event"`
	Clusters          []ClusterResult `json:"clusters"`

	// The six sinks' cost (each one's current process), sampled with the
	// agent's: they share its cores, so a large share means the run
	// measures the receiving end as much as the agent.
	SinkCPUSeconds    float64 `json:"sink_cpu_seconds"`
	SinkCPUPerMEvents float64 `json:"sink_cpu_seconds_per_million_events"`
	SinkCPUShare      float64 `json:"sink_cpu_share"` // of agent + sinks
	// MachineBusy is the share of all the machine's CPU time that was busy
	// from the agent's start to the end (every process, others' too; from
	// /proc/stat): near 1, the run was CPU-bound.
	MachineBusy float64 `json:"machine_busy"`

	// Drain, with -down FROM-TO, is how the cluster caught up.
	Drain  *Drain   `json:"drain,omitempty"`
	Series []Sample `json:"series"`
	// Fsync is the agent's buffer.fsync mode.
	Fsync string `json:"fsync"`
	// SinkDir is BenchOptions.SinkDir: where the sinks' files were, when
	// not beside the agent's buffers.
	SinkDir string `json:"sink_dir,omitempty"`
}

// Host describes the machine the bench ran on.
type Host struct {
	CPUs    int     `json:"cpus"`
	Load1   float64 `json:"load1_at_start"`
	Version string  `json:"pulse_version,omitempty"`
}

// ClusterResult is one cluster's outcome.
type ClusterResult struct {
	Name     string         `json:"name"`
	Waited   bool           `json:"waited"` // false for a cluster down to the end
	Complete bool           `json:"complete"`
	After    float64        `json:"complete_after_s"`
	IDs      idcount.Report `json:"ids"`
}

// Sample is the agent's state at one second of the run.
type Sample struct {
	T            float64          `json:"t"` // seconds since the agent started
	InputEvents  int64            `json:"input_events"`
	Delivered    map[string]int64 `json:"delivered"`     // events per cluster
	BufferEvents map[string]int64 `json:"buffer_events"` // per cluster
	BufferBytes  map[string]int64 `json:"buffer_bytes"`  // per cluster
	NodesUp      map[string]int   `json:"nodes_up"`
}

// Bench runs the scenario, writes OutDir/report.json and OutDir/chart.svg,
// prints a table to o.Out and returns the report. It fails if a cluster
// that was waited for did not get every event within the timeout.
func Bench(ctx context.Context, o BenchOptions) (rep Report, err error) {
	o, down, err := o.withDefaults()
	if err != nil {
		return rep, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	dir, err := workDir(o.Dir, "pulse-bench-")
	if err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	g := &group{dir: dir, bin: o.Binary}
	sinkRoot := dir
	defer func() {
		g.stopAll(30 * time.Second)
		if sinkRoot != dir {
			leaveWorkDir(o.Out, sinkRoot, "", o.Keep, err != nil)
		}
		leaveWorkDir(o.Out, dir, o.Dir, o.Keep, err != nil)
	}()
	if o.SinkDir != "" {
		sd, err := os.MkdirTemp(o.SinkDir, "pulse-bench-sinks-")
		if err != nil {
			return rep, fmt.Errorf("demo: bench: -sink-dir: %w", err)
		}
		sinkRoot = sd
	}
	rep = Report{Started: time.Now().UTC(), Down: o.Down, Compression: o.Compression, Fsync: o.Fsync, SinkDir: o.SinkDir, Host: hostInfo()}
	rep.Command = benchCommand(o)

	r, err := startBench(ctx, g, o, down, sinkRoot)
	if err != nil {
		return rep, err
	}
	err = r.wait(ctx, o, down, &rep)
	werr := writeReport(o.OutDir, rep)
	if werr != nil && err == nil {
		err = werr
	}
	printReport(o.Out, rep)
	if werr == nil {
		printWritten(o.Out, o.OutDir)
	}
	return rep, err
}

func benchCommand(o BenchOptions) string {
	parts := []string{"pulse bench"}
	if o.Duration > 0 {
		parts = append(parts, "-duration", o.Duration.String())
		if o.Rate > 0 {
			parts = append(parts, "-rate", fmt.Sprint(o.Rate))
		}
	} else {
		parts = append(parts, "-events", fmt.Sprint(o.Events))
	}
	if o.Down != "" {
		parts = append(parts, "-down", o.Down)
	}
	if o.Compression != "zstd" {
		parts = append(parts, "-compression", o.Compression)
	}
	if o.Fsync != config.FsyncInterval {
		parts = append(parts, "-fsync", o.Fsync)
	}
	if o.SinkDir != "" {
		parts = append(parts, "-sink-dir", o.SinkDir)
	}
	return strings.Join(parts, " ")
}

func writeReport(dir string, rep Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "chart.svg"), chartSVG(rep), 0o644); err != nil {
		return fmt.Errorf("demo: chart: %w", err)
	}
	return nil
}

func printReport(w io.Writer, r Report) {
	fmt.Fprintf(w, "\n%s  (%d CPUs, load %.2f at start)\n", r.Command, r.Host.CPUs, r.Host.Load1)
	fmt.Fprintf(w, "  %-28s %d (%s)\n", "events", r.Events, bytesStr(r.Bytes))
	fmt.Fprintf(w, "  %-28s %.2f s\n", "until every live cluster", r.Seconds)
	fmt.Fprintf(w, "  %-28s %s/s (%.1f MB/s)\n", "events/s end to end", si(r.EventsPS), r.MBPS)
	fmt.Fprintf(w, "  %-28s %.2f (%.2f s in all)\n", "agent CPU s / M events", r.CPUPerMEvents, r.CPUSeconds)
	fmt.Fprintf(w, "  %-28s %.2f (%.0f%% of agent + sinks; machine %.0f%% busy)\n", "sinks CPU s / M events", r.SinkCPUPerMEvents, 100*r.SinkCPUShare, 100*r.MachineBusy)
	fmt.Fprintf(w, "  %-28s %.1f MiB\n", "agent peak RSS", float64(r.PeakRSSBytes)/(1<<20))
	fmt.Fprintf(w, "  %-28s %.1f\n", "agent disk bytes / event", r.DiskBytesPerEvent)
	fmt.Fprintf(w, "  %-28s %s\n", "buffer fsync", r.Fsync)
	if r.SinkDir != "" {
		fmt.Fprintf(w, "  %-28s %s (the agent's buffers in the working directory)\n", "sinks' files in", r.SinkDir)
	}
	for _, c := range r.Clusters {
		state := "not waited for (down to the end)"
		if c.Waited {
			state = "INCOMPLETE"
			if c.Complete {
				state = fmt.Sprintf("complete after %.2f s", c.After)
			}
		}
		fmt.Fprintf(w, "  cluster %-20s %s — %s\n", strings.ToUpper(c.Name), state, c.IDs)
	}
	if d := r.Drain; d != nil {
		fmt.Fprintf(w, "  %-28s %d events (%s) in %s's buffer at its return, live input %s/s\n", "backlog", d.Backlog, bytesStr(d.BacklogBytes), strings.ToUpper(d.Cluster), si(d.LiveEventsPS))
		fmt.Fprintf(w, "  %-28s %.1f s at %s/s = %.1f× the live rate\n", "drained", d.DrainSeconds, si(d.DrainEventsPS), d.Ratio)
	}
}

func hostInfo() Host {
	h := Host{CPUs: numCPU()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &h.Load1)
	}
	return h
}
