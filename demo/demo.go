package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
	Keep     bool          // keep Dir at the end (it is always kept after a loss)
	Timeout  time.Duration // how long to wait for every event; default DefaultDemoTimeout
	DownFor  time.Duration // how long the killed archive node stays down; default DefaultDownFor
	Out      io.Writer     // summary; default os.Stdout
	Progress io.Writer     // live progress once a second; nil for none
	Logger   *slog.Logger  // default slog.Default()
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

// topology is the demo's processes and where their data lands.
type topology struct {
	g                 *group
	logFile           string
	archive           []*child.Process
	archiveDirs       []string
	archiveAddrs      []string
	chainDir          string
	agent, chain, gen *child.Process
	agentAdmin        string
	mergers           []*child.Process
	snapshotDirs      []string
}

// Demo runs the demo topology, verifies that every event arrived
// everywhere, writes a summary to o.Out and returns it. The error wraps
// ErrLost if an event is missing anywhere.
func Demo(ctx context.Context, o Options) (sum Summary, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return sum, err
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
		switch {
		case err != nil:
			fmt.Fprintf(o.Out, "kept %s for inspection\n", dir)
		case o.Keep:
			fmt.Fprintf(o.Out, "kept %s\n", dir)
		case o.Dir == "":
			_ = os.RemoveAll(dir)
		}
	}()

	start := time.Now()
	t, err := startDemo(ctx, g, o)
	if err != nil {
		return sum, err
	}
	sum.Events = o.Events
	dests, err := demoWait(ctx, t, o, start)
	sum.Duration = time.Since(start)
	sum.Destinations = dests
	if err != nil {
		return sum, err
	}
	sum.Snapshot = waitSnapshot(ctx, t.snapshotDirs, 5*time.Second)
	sum.Verified = true
	for _, d := range dests {
		sum.Verified = sum.Verified && d.Passed
	}
	printSummary(o.Out, sum)
	if !sum.Verified {
		return sum, fmt.Errorf("demo: %w", ErrLost)
	}
	return sum, nil
}

// startDemo starts gen, the sinks, the chained agent, the mergers and the
// agent, in the order that lets each find its next hop listening.
func startDemo(ctx context.Context, g *group, o Options) (*topology, error) {
	t := &topology{g: g, logFile: filepath.Join(g.dir, "app.log")}
	listen := func(p *child.Process, addr string) error { return waitListening(ctx, p, addr, 30*time.Second) }
	for i := 1; i <= 2; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		d := filepath.Join(g.dir, fmt.Sprintf("archive%d", i))
		p, err := g.start(fmt.Sprintf("archive%d", i), "sink", "-listen", addr, "-dir", d, "-quiet")
		if err != nil {
			return nil, err
		}
		if err := listen(p, addr); err != nil {
			return nil, err
		}
		t.archive, t.archiveDirs, t.archiveAddrs = append(t.archive, p), append(t.archiveDirs, d), append(t.archiveAddrs, addr)
	}

	chainAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	t.chainDir = filepath.Join(g.dir, "chain", "out")
	if t.chain, err = startConfigured(g, "chain", "agent", fmt.Sprintf(`id: chain
data_dir: %q
admin: {listen: "off"}
log: {level: warn}
inputs:
  - {name: upstream, type: http, listen: %q, format: pulse}
outputs:
  - {name: archive, type: file, path: %q}
`, filepath.Join(g.dir, "chain", "data"), chainAddr, t.chainDir)); err != nil {
		return nil, err
	}
	if err := listen(t.chain, chainAddr); err != nil {
		return nil, err
	}

	var mergerAddrs []string
	for i := 1; i <= 2; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		d := filepath.Join(g.dir, fmt.Sprintf("merger%d", i))
		snap := filepath.Join(d, "snapshots")
		m, err := startConfigured(g, fmt.Sprintf("merger%d", i), "merger", fmt.Sprintf(`id: merger%d
data_dir: %q
admin: {listen: "off"}
log: {level: warn}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 1s, finalize_after: 5s}
outputs:
  - {name: snapshots, type: file, path: %q}
`, i, filepath.Join(d, "data"), addr, snap))
		if err != nil {
			return nil, err
		}
		if err := listen(m, addr); err != nil {
			return nil, err
		}
		t.mergers, t.snapshotDirs = append(t.mergers, m), append(t.snapshotDirs, snap)
		mergerAddrs = append(mergerAddrs, fmt.Sprintf("%q", addr))
	}

	// Timestamps end about now, so that the metric windows are current
	// (at full speed gen steps 100 µs per event, far faster than the clock).
	first := time.Now().UTC()
	if o.Rate == 0 {
		first = first.Add(-time.Duration(o.Events) * 100 * time.Microsecond)
	}
	genArgs := []string{"gen", "-count", fmt.Sprint(o.Events), "-out", t.logFile, "-start", first.Format(time.RFC3339Nano), "-q"}
	if o.Rate > 0 {
		genArgs = append(genArgs, "-rate", fmt.Sprint(o.Rate))
	}
	if t.gen, err = g.start("gen", genArgs...); err != nil {
		return nil, err
	}
	if err := waitFile(ctx, t.gen, t.logFile, 30*time.Second); err != nil {
		return nil, err
	}

	if t.agentAdmin, err = freeAddr(); err != nil {
		return nil, err
	}
	t.agent, err = startConfigured(g, "agent", "agent", fmt.Sprintf(`id: demo
data_dir: %q
admin: {listen: %q}
log: {level: warn}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics:
  window: 10s
  late_windows: 30
  l2met: true
  rules:
    - {name: router.service, match: {at: info}, value: service, kind: measure, group_by: [status]}
outputs:
  - name: archive
    type: http
    endpoints: [%q, %q]
    encoding: pulse
    balance: least_loaded
    retry_max: 500ms
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 100ms}
  - name: chain
    type: http
    endpoints: [%q]
    encoding: pulse
    retry_max: 500ms
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 100ms}
  - name: metrics
    stream: fragments
    type: http
    endpoints: [%s]
    encoding: pulse
    balance: hash
    retry_max: 500ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 100ms}
`, filepath.Join(g.dir, "agent"), t.agentAdmin, t.logFile, t.archiveAddrs[0], t.archiveAddrs[1], chainAddr, strings.Join(mergerAddrs, ", ")))
	if err != nil {
		return nil, err
	}
	if err := listen(t.agent, t.agentAdmin); err != nil {
		return nil, err
	}
	return t, nil
}

// startConfigured writes cfg to dir/name.yaml and starts `pulse cmd -config`.
func startConfigured(g *group, name, cmd, cfg string) (*child.Process, error) {
	path := filepath.Join(g.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return g.start(name, cmd, "-config", path)
}

// waitFile waits until path exists (gen created it) or gen failed.
func waitFile(ctx context.Context, gen *child.Process, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if !gen.Running() {
			if err := gen.Wait(ctx, time.Second); err != nil {
				return fmt.Errorf("demo: gen: %w:\n%s", err, gen.TailBytes(2000))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %s not created after %v", path, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// demoWait shows progress, kills and restarts an archive node half-way,
// and waits until every event is at the archive and the chained agent's
// file, or the timeout.
func demoWait(ctx context.Context, t *topology, o Options, start time.Time) ([]Destination, error) {
	dests := []Destination{{Name: "archive (2 sinks, union)"}, {Name: "chained agent's file"}}
	dirs := [][]string{t.archiveDirs, {t.chainDir}}
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
			return dests, ctx.Err()
		case <-tick.C:
		}
		for _, p := range []*child.Process{t.agent, t.chain} {
			if !p.Running() {
				return dests, fmt.Errorf("demo: %s exited:\n%s", p.Name, p.TailBytes(2000))
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
				return dests, err
			}
			restarted = true
			fmt.Fprintf(o.Out, "%5.1fs restarted archive node 1\n", time.Since(start).Seconds())
		}
		complete := genDone
		for i := range dests {
			if dests[i].Passed {
				continue
			}
			complete = false
			if !genDone || idcount.DirBytes(dirs[i]...) < genSize {
				continue
			}
			c, err := idcount.ScanDirs(o.Events, dirs[i]...)
			if err != nil {
				continue // a file rotated under us; look again next tick
			}
			dests[i].IDs = c.Report()
			if dests[i].IDs.Missing == 0 {
				dests[i].Passed = true
				dests[i].After = time.Since(start).Seconds()
			}
		}
		// Done when every destination is complete and the killed node is
		// back (so that the demo shows it rejoining).
		if complete && (killedAt.IsZero() || restarted) {
			return dests, nil
		}
		if time.Now().After(deadline) {
			for i := range dests {
				if !dests[i].Passed {
					if c, err := idcount.ScanDirs(o.Events, dirs[i]...); err == nil {
						dests[i].IDs = c.Report()
					}
				}
			}
			printSummary(o.Out, Summary{Events: o.Events, Duration: time.Since(start), Destinations: dests})
			return dests, fmt.Errorf("demo: not every event arrived within %v: %w", o.Timeout, ErrLost)
		}
	}
}

// printProgress writes one line: per output the delivery rate since the
// last line, buffer depth and nodes up.
func printProgress(w io.Writer, since time.Duration, st, last admin.Status, dt time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "%5.1fs", since.Seconds())
	for _, in := range st.Inputs {
		fmt.Fprintf(&b, " | in %d", in.Events)
	}
	for _, o := range st.Outputs {
		rate := float64(o.Events-output(last, o.Name).Events) / max(dt.Seconds(), 1e-3)
		fmt.Fprintf(&b, " | %s %d (%s/s) buf %d/%s", o.Name, o.Events, si(rate), o.Buffer.Events, bytesStr(o.Buffer.Bytes))
		if len(o.Nodes) > 0 {
			fmt.Fprintf(&b, " up %d/%d", nodesUp(o), len(o.Nodes))
		}
	}
	fmt.Fprintln(w, b.String())
}

func printSummary(w io.Writer, s Summary) {
	// End to end: until the last destination had every event (the run may
	// go on a little longer, waiting for the killed node to come back).
	var done float64
	for _, d := range s.Destinations {
		done = max(done, d.After)
	}
	if done == 0 {
		done = s.Duration.Seconds()
	}
	fmt.Fprintf(w, "\n%d events everywhere after %.1fs (%s events/s end to end; run %.1fs)\n", s.Events, done, si(float64(s.Events)/max(done, 1e-3)), s.Duration.Seconds())
	ok := len(s.Destinations) > 0
	for _, d := range s.Destinations {
		mark := "MISSING"
		if d.Passed {
			mark = fmt.Sprintf("ok after %.1fs", d.After)
		}
		fmt.Fprintf(w, "  %-26s %s — %s\n", d.Name, d.IDs, mark)
		ok = ok && d.Passed
	}
	if s.Snapshot != "" {
		fmt.Fprintf(w, "  merger snapshot sample:    %s\n", s.Snapshot)
	}
	if ok {
		fmt.Fprintf(w, "verified: all %d events arrived at every destination\n", s.Events)
	} else {
		fmt.Fprintln(w, "NOT verified: events are missing")
	}
}

// waitSnapshot returns a line of a merger's snapshot file, preferring the
// router.service metric, waiting up to timeout for one to appear.
func waitSnapshot(ctx context.Context, dirs []string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		var any string
		for _, d := range dirs {
			files, _ := filepath.Glob(filepath.Join(d, "*"))
			for _, f := range files {
				if line := firstLine(f, `"router.service"`); line != "" {
					return line
				}
				if any == "" {
					any = firstLine(f, "")
				}
			}
		}
		if time.Now().After(deadline) {
			return any
		}
		select {
		case <-ctx.Done():
			return any
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// firstLine returns the first line of path containing sub.
func firstLine(path, sub string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			return sc.Text()
		}
	}
	return ""
}

// si renders a rate like 123.4k.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func bytesStr(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func pidList(pids []int) string {
	var b strings.Builder
	for _, p := range pids {
		fmt.Fprintf(&b, " %d", p)
	}
	return b.String()
}

// workDir returns dir, created if missing, or a new temporary directory
// when dir is empty.
func workDir(dir, prefix string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", prefix)
	}
	return dir, os.MkdirAll(dir, 0o755)
}
