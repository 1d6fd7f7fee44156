package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pulse/child"
	"pulse/idcount"
)

// The metrics scenario's shape: three merger shards, 10 s windows.
const (
	metricsShards = 3
	metricsWindow = 10 * time.Second
	// DefaultBenchDynos makes about 100,000 metric keys: each dyno is a
	// source of the 14 l2met metrics and a dimension of router.connect.
	DefaultBenchDynos = 6700
	// gen's timestamps step 100 µs an event when it writes at full speed.
	genStep = 100 * time.Microsecond
)

// MetricsReport is what BenchMetrics measured; it is written as
// report.json.
type MetricsReport struct {
	Started     time.Time `json:"started"`
	Command     string    `json:"command"`
	Host        Host      `json:"host"`
	Lines       int       `json:"lines"`
	Bytes       int64     `json:"bytes"`
	Dynos       int       `json:"dynos"`
	Compression string    `json:"compression"`
	WindowS     float64   `json:"window_s"`

	// Measurements the raw lines hold (the reference), and what the agent
	// counted: observed, dropped as too late, fragments out.
	Measurements uint64 `json:"measurements"`
	Observed     uint64 `json:"agent_observed"`
	DroppedLate  uint64 `json:"agent_dropped_late"`
	Fragments    uint64 `json:"agent_fragments_out"`
	ActiveKeys   int    `json:"agent_active_keys"` // the most seen
	MergerKeys   int    `json:"merger_keys"`       // the most seen, summed over the shards

	// Seconds from the agent's start until the last snapshot holding the
	// last measurement was written (the merge interval, 1 s, bounds its
	// resolution).
	Seconds               float64 `json:"seconds"`
	MeasurementsPS        float64 `json:"measurements_per_second"`
	MeasurementsPerMinute float64 `json:"measurements_per_minute"`
	LinesPS               float64 `json:"lines_per_second"`

	AgentCPUSeconds   float64 `json:"agent_cpu_seconds"`
	AgentCPUPerM      float64 `json:"agent_cpu_seconds_per_million_measurements"`
	MergerCPUSeconds  float64 `json:"merger_cpu_seconds"` // the three shards
	MergerCPUPerM     float64 `json:"merger_cpu_seconds_per_million_measurements"`
	AgentPeakRSS      int64   `json:"agent_peak_rss_bytes"`
	AgentStartRSS     int64   `json:"agent_start_rss_bytes"`
	MergerPeakRSS     int64   `json:"merger_peak_rss_bytes"` // summed
	MergerStartRSS    int64   `json:"merger_start_rss_bytes"`
	AgentPer100kKeys  int64   `json:"agent_bytes_per_100k_keys"`
	MergerPer100kKeys int64   `json:"merger_bytes_per_100k_keys"`
	SinkCPUSeconds    float64 `json:"archive_sink_cpu_seconds"`
	MachineBusy       float64 `json:"machine_busy"`

	Accuracy MetricsAccuracy `json:"accuracy"`
	Archive  ClusterResult   `json:"archive"`
}

// metricsRun is one running metrics scenario.
type metricsRun struct {
	g         *group
	logFile   string
	agent     *child.Process
	admin     string
	mergers   []*child.Process
	mAdmins   []string
	snapDirs  []string
	sinks     []*child.Process
	sinkDirs  []string
	started   time.Time
	cpuStat   cpuTimes
	lines     int
	fileSize  int64
	startRSS  int64
	mStartRSS int64
}

// BenchMetrics runs the metrics path: l2met and router lines (gen, the
// file written before the clock starts, stamped over the minutes just
// past) through one agent with l2met and the four rules, its fragments
// hashed over three merger shards (hash_failover: false, so no key is
// split) and its raw events to an archive cluster of two sinks. It
// measures the measurements per second reaching the shards' snapshot
// files, the agent's and mergers' CPU per million measurements and their
// memory per 100,000 active keys, and checks in the same run that every
// key and window's latest snapshot counts exactly what the raw lines
// hold. It writes OutDir/report.json and fails if the counts are not
// exact or the run did not complete.
func BenchMetrics(ctx context.Context, o BenchOptions) (rep MetricsReport, err error) {
	o, _, err = o.withDefaults()
	if err != nil {
		return rep, err
	}
	if o.Duration > 0 || o.Down != "" {
		return rep, fmt.Errorf("demo: bench -metrics: takes -events, not -duration or -down")
	}
	if o.Dynos <= 0 {
		o.Dynos = DefaultBenchDynos
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	dir, err := workDir(o.Dir, "pulse-bench-metrics-")
	if err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	g := &group{dir: dir, bin: o.Binary}
	defer func() {
		g.stopAll(30 * time.Second)
		leaveWorkDir(o.Out, dir, o.Dir, o.Keep, err != nil)
	}()
	rep = MetricsReport{Started: time.Now().UTC(), Host: hostInfo(), Dynos: o.Dynos, Compression: o.Compression, WindowS: metricsWindow.Seconds()}
	rep.Command = fmt.Sprintf("pulse bench -metrics -events %d -dynos %d", o.Events, o.Dynos)
	if o.Compression != "zstd" {
		rep.Command += " -compression " + o.Compression
	}

	r, ref, err := startMetrics(ctx, g, o)
	if err != nil {
		return rep, err
	}
	rep.Lines, rep.Bytes, rep.Measurements = r.lines, r.fileSize, ref.total
	err = r.wait(ctx, o, ref, &rep)
	if err == nil {
		rep.Accuracy, err = ref.check(r.snapDirs)
		if err == nil && !rep.Accuracy.OK() {
			err = fmt.Errorf("demo: bench -metrics: snapshots not exact: %s: %w", rep.Accuracy, ErrLost)
		}
	}
	if werr := writeJSON(filepath.Join(o.OutDir, "report.json"), rep); werr != nil && err == nil {
		err = werr
	}
	printMetricsReport(o.Out, rep)
	return rep, err
}

// startMetrics writes the log file and its reference, and starts the
// archive sinks, the merger shards and the agent.
func startMetrics(ctx context.Context, g *group, o BenchOptions) (*metricsRun, *metricsReference, error) {
	r := &metricsRun{g: g, logFile: filepath.Join(g.dir, "app.log")}
	// Stamped over the minutes before now: every window is closed (the
	// agent flushes it at once) yet within late_windows, and none is
	// finalized by the mergers during the run.
	first := time.Now().UTC().Add(-time.Duration(o.Events)*genStep - 20*time.Second)
	p, err := g.start("gen", "gen", "-mix", "router=80,l2met=20", "-count", fmt.Sprint(o.Events), "-dynos", fmt.Sprint(o.Dynos),
		"-start", first.Format(time.RFC3339Nano), "-out", r.logFile, "-q")
	if err != nil {
		return nil, nil, err
	}
	if err := p.Wait(ctx, 10*time.Minute); err != nil {
		return nil, nil, fmt.Errorf("demo: bench: gen: %w\n%s", err, p.TailBytes(2000))
	}
	ref, err := buildReference(r.logFile, metricsWindow)
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(r.logFile)
	if err != nil {
		return nil, nil, fmt.Errorf("demo: bench: %w", err)
	}
	r.lines, r.fileSize = ref.lines, st.Size()

	var archive []string
	for n := 1; n <= 2; n++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		d := filepath.Join(g.dir, fmt.Sprintf("archive%d", n))
		p, err := g.start(fmt.Sprintf("archive%d", n), "sink", "-listen", addr, "-dir", d, "-quiet")
		if err != nil {
			return nil, nil, err
		}
		if err := waitListening(ctx, p, addr, 30*time.Second); err != nil {
			return nil, nil, err
		}
		archive = append(archive, fmt.Sprintf("%q", addr))
		r.sinks, r.sinkDirs = append(r.sinks, p), append(r.sinkDirs, d)
	}
	var shards []string
	for i := 1; i <= metricsShards; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		adm, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		d := filepath.Join(g.dir, fmt.Sprintf("merger%d", i))
		snap := filepath.Join(d, "snapshots")
		m, err := startConfigured(g, fmt.Sprintf("merger%d", i), "merger", fmt.Sprintf(`id: merger%d
data_dir: %q
admin: {listen: %q}
log: {level: warn}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 1s, finalize_after: 15m}
outputs:
  - {name: snapshots, type: file, path: %q, buffer: {max_bytes: 2GiB, when_full: block}}
`, i, filepath.Join(d, "data"), adm, addr, snap))
		if err != nil {
			return nil, nil, err
		}
		if err := waitListening(ctx, m, addr, 30*time.Second); err != nil {
			return nil, nil, err
		}
		r.mergers, r.mAdmins, r.snapDirs = append(r.mergers, m), append(r.mAdmins, adm), append(r.snapDirs, snap)
		shards = append(shards, fmt.Sprintf("%q", addr))
	}
	for i, m := range r.mergers {
		if err := waitListening(ctx, m, r.mAdmins[i], 30*time.Second); err != nil {
			return nil, nil, err
		}
		if u, err := m.Usage(); err == nil {
			r.mStartRSS += u.PeakRSS
		}
	}
	if r.admin, err = freeAddr(); err != nil {
		return nil, nil, err
	}
	cfg := fmt.Sprintf(`id: bench
data_dir: %q
shutdown_timeout: 1s
log: {level: warn}
admin: {listen: %q}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics:
  window: %s
  late_windows: 60
  l2met: true
  rules:%s
outputs:
  - name: archive
    type: http
    endpoints: [%s]
    encoding: pulse
    compression: %s
    balance: least_loaded
    max_in_flight: 4
    retry_max: 1s
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}
    buffer: {max_bytes: 2GiB, when_full: block}
  - name: mergers
    stream: fragments
    type: http
    endpoints: [%s]
    encoding: pulse
    compression: %s
    balance: hash
    hash_failover: false
    max_in_flight: 4
    retry_max: 1s
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}
    buffer: {max_bytes: 2GiB, when_full: block}
`, filepath.Join(g.dir, "agent"), r.admin, r.logFile, metricsWindow, metricsRules,
		strings.Join(archive, ", "), o.Compression, strings.Join(shards, ", "), o.Compression)
	r.started, r.cpuStat = time.Now(), readCPUTimes()
	if r.agent, err = startConfigured(g, "agent", "agent", cfg); err != nil {
		return nil, nil, err
	}
	if err := waitListening(ctx, r.agent, r.admin, 30*time.Second); err != nil {
		return nil, nil, err
	}
	if u, err := r.agent.Usage(); err == nil {
		r.startRSS = u.PeakRSS
	}
	return r, ref, nil
}

// wait follows the run until the snapshots hold every measurement and
// the archive every event, then samples the costs.
func (r *metricsRun) wait(ctx context.Context, o BenchOptions, ref *metricsReference, rep *MetricsReport) error {
	agent := newStatusClient(r.admin)
	shards := make([]*statusClient, len(r.mAdmins))
	for i, a := range r.mAdmins {
		shards[i] = newStatusClient(a)
	}
	rep.Archive = ClusterResult{Name: "archive", Waited: true}
	deadline := r.started.Add(o.Timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var (
		observedAt   time.Time // when the agent had observed every measurement
		mergedAt     time.Time // when the shards had every fragment the agent sent after that
		lastSnap     time.Time // when a shard's snapshot output last grew
		snapOut      = make([]int64, len(shards))
		mergerKeys   = make([]int, len(shards))
		lastProgress time.Time
	)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		if !r.agent.Running() {
			return fmt.Errorf("demo: bench: agent exited:\n%s", r.agent.TailBytes(2000))
		}
		st, err := agent.get(ctx)
		if err != nil || st.Metrics == nil {
			continue
		}
		m := st.Metrics
		rep.Observed, rep.DroppedLate, rep.Fragments = m.Observed, m.DroppedLate, m.FragmentsOut
		rep.ActiveKeys = max(rep.ActiveKeys, m.ActiveKeys)
		frag := output(st, "mergers")
		if m.Observed+m.DroppedLate >= ref.total && observedAt.IsZero() {
			observedAt = now
		}
		var merged uint64
		for i, sc := range shards {
			ss, err := sc.get(ctx)
			if err != nil || ss.Merger == nil {
				continue
			}
			merged += uint64(ss.Merger.FragmentsIn + ss.Merger.Duplicates)
			mergerKeys[i] = max(mergerKeys[i], ss.Merger.Keys)
			if n := output(ss, "snapshots").Events; n != snapOut[i] {
				snapOut[i], lastSnap = n, now
			}
		}
		// A flush (every second) after the last observation hands its
		// fragments out; the shards have them all once their count is
		// reached with the agent's buffer empty.
		agentDone := !observedAt.IsZero() && now.Sub(observedAt) > 1500*time.Millisecond &&
			uint64(frag.Events) >= m.FragmentsOut && frag.Buffer.Events == 0
		if agentDone && merged >= m.FragmentsOut && mergedAt.IsZero() {
			mergedAt = now
		}
		if !rep.Archive.Complete && idcount.DirBytes(r.sinkDirs...) >= r.fileSize {
			at := time.Since(r.started)
			if ids, err := idcount.ScanDirs(r.lines, r.sinkDirs...); err == nil {
				rep.Archive.IDs = ids.Report()
				rep.Archive.Complete, rep.Archive.After = rep.Archive.IDs.Missing == 0, at.Seconds()
			}
		}
		if o.Progress != nil && now.Sub(lastProgress) >= time.Second {
			lastProgress = now
			fmt.Fprintf(o.Progress, "%6.1fs observed %s of %s measurements, fragments %d out / %d merged\n",
				now.Sub(r.started).Seconds(), si(float64(m.Observed)), si(float64(ref.total)), m.FragmentsOut, merged)
		}
		// Two merge intervals without a new snapshot since every fragment
		// was merged: the last emission is behind us.
		if !mergedAt.IsZero() && now.Sub(mergedAt) > 2500*time.Millisecond && now.Sub(lastSnap) > 2500*time.Millisecond && rep.Archive.Complete {
			for _, k := range mergerKeys {
				rep.MergerKeys += k
			}
			return r.finish(rep, lastSnap)
		}
		if now.After(deadline) {
			return fmt.Errorf("demo: bench -metrics: not done after %v (observed %d of %d, fragments %d out, %d merged, archive complete %v): %w",
				o.Timeout, m.Observed, ref.total, m.FragmentsOut, merged, rep.Archive.Complete, ErrLost)
		}
	}
}

// finish samples the costs and fills in the figures; end is when the last
// snapshot was written.
func (r *metricsRun) finish(rep *MetricsReport, end time.Time) error {
	u, err := r.agent.Usage()
	if err != nil {
		return err
	}
	rep.Seconds = end.Sub(r.started).Seconds()
	mm := float64(rep.Measurements) / 1e6
	rep.MeasurementsPS = float64(rep.Measurements) / max(rep.Seconds, 1e-3)
	rep.MeasurementsPerMinute = rep.MeasurementsPS * 60
	rep.LinesPS = float64(rep.Lines) / max(rep.Seconds, 1e-3)
	rep.AgentCPUSeconds, rep.AgentPeakRSS, rep.AgentStartRSS = u.CPU.Seconds(), u.PeakRSS, r.startRSS
	rep.AgentCPUPerM = rep.AgentCPUSeconds / mm
	for _, m := range r.mergers {
		mu, err := m.Usage()
		if err != nil {
			return err
		}
		rep.MergerCPUSeconds += mu.CPU.Seconds()
		rep.MergerPeakRSS += mu.PeakRSS
	}
	rep.MergerStartRSS = r.mStartRSS
	rep.MergerCPUPerM = rep.MergerCPUSeconds / mm
	rep.AgentPer100kKeys = perKeys(rep.AgentPeakRSS-rep.AgentStartRSS, rep.ActiveKeys)
	rep.MergerPer100kKeys = perKeys(rep.MergerPeakRSS-rep.MergerStartRSS, rep.MergerKeys)
	for _, s := range r.sinks {
		if su, err := s.Usage(); err == nil {
			rep.SinkCPUSeconds += su.CPU.Seconds()
		}
	}
	rep.MachineBusy = readCPUTimes().busySince(r.cpuStat)
	return nil
}

// perKeys scales the bytes that keys took to 100,000 keys.
func perKeys(bytes int64, keys int) int64 {
	if keys <= 0 {
		return 0
	}
	return bytes * 100_000 / int64(keys)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	return nil
}

func printMetricsReport(w io.Writer, r MetricsReport) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "\n%s  (%d CPUs, load %.2f at start)\n", r.Command, r.Host.CPUs, r.Host.Load1)
	fmt.Fprintf(w, "  %-30s %d (%s), %d dynos, %.0f s windows\n", "lines", r.Lines, bytesStr(r.Bytes), r.Dynos, r.WindowS)
	fmt.Fprintf(w, "  %-30s %d (agent observed %d, dropped late %d; %d fragments)\n", "measurements", r.Measurements, r.Observed, r.DroppedLate, r.Fragments)
	fmt.Fprintf(w, "  %-30s %.2f s\n", "until the snapshots had all", r.Seconds)
	fmt.Fprintf(w, "  %-30s %s/s = %.1f M/min (%s lines/s)\n", "measurements reaching snapshots", si(r.MeasurementsPS), r.MeasurementsPerMinute/1e6, si(r.LinesPS))
	fmt.Fprintf(w, "  %-30s agent %.2f, mergers %.2f (3 shards)\n", "CPU s / M measurements", r.AgentCPUPerM, r.MergerCPUPerM)
	fmt.Fprintf(w, "  %-30s agent %d, mergers %d\n", "active keys", r.ActiveKeys, r.MergerKeys)
	fmt.Fprintf(w, "  %-30s agent %.1f MiB (%.1f at start), mergers %.1f MiB (%.1f)\n", "peak RSS", mib(r.AgentPeakRSS), mib(r.AgentStartRSS), mib(r.MergerPeakRSS), mib(r.MergerStartRSS))
	fmt.Fprintf(w, "  %-30s agent %.1f MiB, mergers %.1f MiB\n", "memory per 100,000 keys", mib(r.AgentPer100kKeys), mib(r.MergerPer100kKeys))
	fmt.Fprintf(w, "  %-30s %s; %d snapshot lines (%s)\n", "accuracy", r.Accuracy, r.Accuracy.SnapshotLines, bytesStr(r.Accuracy.SnapshotsBytes))
	for _, p := range r.Accuracy.FirstProblems {
		fmt.Fprintf(w, "    %s\n", p)
	}
	fmt.Fprintf(w, "  %-30s complete after %.2f s — %s (sinks %.2f CPU s)\n", "archive cluster", r.Archive.After, r.Archive.IDs, r.SinkCPUSeconds)
	fmt.Fprintf(w, "  %-30s %.0f%%\n", "machine busy", 100*r.MachineBusy)
}
