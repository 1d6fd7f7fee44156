package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"pulse/admin"
	"pulse/child"
	"pulse/idcount"
)

func numCPU() int { return runtime.NumCPU() }

// benchRun is one running scenario.
type benchRun struct {
	g        *group
	logFile  string
	gen      *child.Process // nil once the file is complete before the agent starts
	sinks    map[string][]*child.Process
	dirs     map[string][]string
	agent    *child.Process
	admin    string
	started  time.Time
	cpuStat  cpuTimes // /proc/stat at started
	events   int
	fileSize int64
}

// startBench writes the log file (or starts gen writing it), starts the
// six sinks, each with its files in a directory of sinkRoot, and the agent.
func startBench(ctx context.Context, g *group, o BenchOptions, down *downSpec, sinkRoot string) (*benchRun, error) {
	r := &benchRun{g: g, logFile: filepath.Join(g.dir, "router.log"), sinks: map[string][]*child.Process{}, dirs: map[string][]string{}}
	genArgs := []string{"gen", "-mix", "router=100", "-out", r.logFile, "-q"}
	if o.Duration > 0 {
		genArgs = append(genArgs, "-duration", o.Duration.String(), "-start", "now")
		if o.Rate > 0 {
			genArgs = append(genArgs, "-rate", fmt.Sprint(o.Rate))
		}
	} else {
		// The file is written before the clock starts: the agent is measured, not gen.
		genArgs = append(genArgs, "-count", fmt.Sprint(o.Events))
		p, err := g.start("gen", genArgs...)
		if err != nil {
			return nil, err
		}
		if err := p.Wait(ctx, 10*time.Minute); err != nil {
			return nil, fmt.Errorf("demo: bench: gen: %w\n%s", err, p.TailBytes(2000))
		}
		st, err := os.Stat(r.logFile)
		if err != nil {
			return nil, fmt.Errorf("demo: bench: %w", err)
		}
		r.events, r.fileSize = o.Events, st.Size()
	}

	var outs strings.Builder
	for _, name := range benchClusters {
		var addrs []string
		for n := 1; n <= 2; n++ {
			addr, err := freeAddr()
			if err != nil {
				return nil, err
			}
			node := fmt.Sprintf("%s%d", name, n)
			d := filepath.Join(sinkRoot, node)
			p, err := g.start(node, "sink", "-listen", addr, "-dir", d, "-quiet")
			if err != nil {
				return nil, err
			}
			if err := waitListening(ctx, p, addr, 30*time.Second); err != nil {
				return nil, err
			}
			addrs = append(addrs, addr)
			r.sinks[name] = append(r.sinks[name], p)
			r.dirs[name] = append(r.dirs[name], d)
		}
		// The seed's scenario: native protocol, disk buffers on, and a
		// buffer large enough to hold a cluster's share of a long outage.
		fmt.Fprintf(&outs, `  - name: %s
    type: http
    endpoints: [%q, %q]
    encoding: pulse
    compression: %s
    balance: least_loaded
    max_in_flight: 4
    retry_max: 1s
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}
    buffer: {max_bytes: 2GiB, when_full: block, fsync: %s}
`, name, addrs[0], addrs[1], o.Compression, o.Fsync)
	}
	if o.Duration > 0 {
		p, err := g.start("gen", genArgs...)
		if err != nil {
			return nil, err
		}
		r.gen = p
		if err := waitFile(ctx, p, r.logFile, 30*time.Second); err != nil {
			return nil, err
		}
	}
	var err error
	if r.admin, err = freeAddr(); err != nil {
		return nil, err
	}
	path := filepath.Join(g.dir, "agent.yaml")
	cfg := fmt.Sprintf(`id: bench
data_dir: %q
shutdown_timeout: 1s
log: {level: warn}
admin: {listen: %q}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
outputs:
%s`, filepath.Join(g.dir, "agent"), r.admin, r.logFile, outs.String())
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("demo: bench: %w", err)
	}
	r.started, r.cpuStat = time.Now(), readCPUTimes()
	if r.agent, err = g.start("agent", "agent", "-config", path); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, r.agent, r.admin, 30*time.Second); err != nil {
		return nil, err
	}
	return r, nil
}

// wait drives the run: the down schedule, a sample a second, and the
// check that every live cluster has every event. It fills rep.
func (r *benchRun) wait(ctx context.Context, o BenchOptions, down *downSpec, rep *Report) error {
	sc := newStatusClient(r.admin)
	clusters := make([]ClusterResult, len(benchClusters))
	for i, name := range benchClusters {
		clusters[i] = ClusterResult{Name: name, Waited: down == nil || down.cluster != name || down.to > 0}
	}
	defer func() { rep.Clusters = clusters }()
	downNow, backNow := false, false
	deadline := r.started.Add(o.Timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	nextSample := r.started
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if !r.agent.Running() {
			return fmt.Errorf("demo: bench: agent exited:\n%s", r.agent.TailBytes(2000))
		}
		el := time.Since(r.started)
		if down != nil && !downNow && el >= down.from {
			for _, p := range r.sinks[down.cluster] {
				p.Kill()
			}
			downNow = true
			fmt.Fprintf(o.Out, "%6.1fs cluster %s down\n", el.Seconds(), strings.ToUpper(down.cluster))
		}
		if down != nil && downNow && !backNow && down.to > 0 && el >= down.to {
			for _, p := range r.sinks[down.cluster] {
				if err := p.Start(); err != nil {
					return err
				}
			}
			backNow = true
			fmt.Fprintf(o.Out, "%6.1fs cluster %s back\n", el.Seconds(), strings.ToUpper(down.cluster))
		}
		if r.gen != nil && r.fileSize == 0 && !r.gen.Running() {
			if err := r.gen.Wait(ctx, time.Second); err != nil {
				return fmt.Errorf("demo: bench: gen: %w", err)
			}
			n, size, err := countLines(r.logFile)
			if err != nil {
				return err
			}
			r.events, r.fileSize = n, size
		}
		if !time.Now().Before(nextSample) {
			nextSample = nextSample.Add(time.Second)
			if st, err := sc.get(ctx); err == nil {
				s := Sample{T: el.Seconds(), Delivered: map[string]int64{}, BufferEvents: map[string]int64{}, BufferBytes: map[string]int64{}, NodesUp: map[string]int{}}
				for _, in := range st.Inputs {
					s.InputEvents += in.Events
				}
				for _, name := range benchClusters {
					out := output(st, name)
					s.Delivered[name], s.BufferEvents[name], s.BufferBytes[name], s.NodesUp[name] = out.Events, out.Buffer.Events, out.Buffer.Bytes, nodesUp(out)
				}
				rep.Series = append(rep.Series, s)
				if o.Progress != nil {
					printProgress(o.Progress, el, st, lastStatus(rep.Series), time.Second)
				}
			}
		}
		if r.fileSize > 0 {
			done := true
			// Which clusters hold every byte is checked for all of them
			// at one time, before any scan: a scan takes ~0.2 s for 3 M
			// events, which must not count in the clusters after it.
			at := time.Since(r.started)
			var full []*ClusterResult
			for i := range clusters {
				c := &clusters[i]
				if !c.Waited || c.Complete {
					continue
				}
				done = false
				if idcount.DirBytes(r.dirs[c.Name]...) >= r.fileSize {
					full = append(full, c)
				}
			}
			for _, c := range full {
				ids, err := idcount.ScanDirs(r.events, r.dirs[c.Name]...)
				if err != nil {
					continue
				}
				c.IDs = ids.Report()
				if c.IDs.Missing == 0 {
					c.Complete, c.After = true, at.Seconds()
				}
			}
			if done {
				return r.finish(rep, clusters, down)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: bench: not every live cluster had every event after %v: %w", o.Timeout, ErrLost)
		}
	}
}

// finish samples the agent's cost (before it is stopped) and fills in
// the figures.
func (r *benchRun) finish(rep *Report, clusters []ClusterResult, down *downSpec) error {
	u, err := r.agent.Usage()
	if err != nil {
		return err
	}
	var end float64
	for _, c := range clusters {
		end = max(end, c.After)
	}
	for i := range clusters {
		if !clusters[i].Waited { // report what the dead cluster got before it went away
			if ids, err := idcount.ScanDirs(r.events, r.dirs[clusters[i].Name]...); err == nil {
				clusters[i].IDs = ids.Report()
			}
		}
	}
	rep.Events, rep.Bytes, rep.Seconds = r.events, r.fileSize, end
	rep.EventsPS = float64(r.events) / max(end, 1e-3)
	rep.MBPS = float64(r.fileSize) / max(end, 1e-3) / 1e6
	rep.CPUSeconds = u.CPU.Seconds()
	rep.CPUPerMEvents = u.CPU.Seconds() / (float64(r.events) / 1e6)
	rep.PeakRSSBytes = u.PeakRSS
	rep.DiskBytes = u.DiskWrites
	rep.DiskBytesPerEvent = float64(u.DiskWrites) / float64(max(r.events, 1))
	rep.Drain = drainOf(rep.Series, down)
	for _, ps := range r.sinks {
		for _, p := range ps {
			su, err := p.Usage()
			if err != nil { // down: its last run, as it exited
				su = p.ExitUsage()
			}
			rep.SinkCPUSeconds += su.CPU.Seconds()
		}
	}
	rep.SinkCPUPerMEvents = rep.SinkCPUSeconds / (float64(r.events) / 1e6)
	rep.SinkCPUShare = rep.SinkCPUSeconds / max(rep.SinkCPUSeconds+rep.CPUSeconds, 1e-9)
	rep.MachineBusy = readCPUTimes().busySince(r.cpuStat)
	return nil
}

// cpuTimes is the first line of /proc/stat: the machine's CPU time, busy
// and in all, in clock ticks. Steal counts as busy (the CPU was not ours
// to use); guest time is in user time already.
type cpuTimes struct{ busy, total int64 }

func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var t cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		if i >= 8 { // guest, guest_nice
			break
		}
		var v int64
		fmt.Sscan(f, &v)
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// busySince is the busy share of the CPU time since then.
func (t cpuTimes) busySince(then cpuTimes) float64 {
	if t.total <= then.total {
		return 0
	}
	return float64(t.busy-then.busy) / float64(t.total-then.total)
}

// lastStatus rebuilds the previous sample's delivered counts as a status,
// for the progress line's rates.
func lastStatus(series []Sample) admin.Status {
	var st admin.Status
	if len(series) < 2 {
		return st
	}
	for name, n := range series[len(series)-2].Delivered {
		st.Outputs = append(st.Outputs, admin.OutputStatus{Name: name, Events: n})
	}
	return st
}

// countLines counts the lines of a file and returns its size.
func countLines(path string) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int
	var size int64
	for {
		k, err := f.Read(buf)
		size += int64(k)
		for _, b := range buf[:k] {
			if b == '\n' {
				n++
			}
		}
		if err != nil {
			return n, size, nil
		}
	}
}
