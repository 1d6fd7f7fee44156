package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/admin"
	"pulse/child"
	"pulse/idcount"
)

// The Kafka demo's shape. gen writes live (timestamps are the clock), so
// windows close as in production: a window's fragments all reach Kafka
// before the mergers finalize it, and every count can be checked exactly.
const (
	// DefaultKafkaRate is gen's rate in the Kafka demo when Options.Rate
	// is 0: 200,000 events in 10 s.
	DefaultKafkaRate = 20_000
	kafkaWindow      = 5 * time.Second
	kafkaFinalize    = 10 * time.Second
	kafkaSession     = 6 * time.Second // the mergers' group session timeout: how soon a dead one's partitions move
	kafkaMergers     = 2
	kafkaGroup       = "mergers"
	// countMetric counts every event (a counter rule matching id=): the
	// sum of its final snapshots' counts must be exactly Options.Events.
	countMetric = "demo.events"
)

// kafkaTopics are the demo's topics: events keyed by source, fragments by
// metric key (the kafka output's default), snapshots compacted, keyed by
// metric key and window.
var kafkaTopics = []topic{
	{name: "events", partitions: 3},
	{name: "fragments", partitions: 6},
	{name: "snapshots", partitions: 3, configs: map[string]string{"cleanup.policy": "compact"}},
}

// kafkaTopology is the Kafka demo's processes and where their data lands.
type kafkaTopology struct {
	broker       *broker
	logFile      string
	gen, agent   *child.Process
	agentAdmin   string
	archive      *child.Process // an agent with a kafka input, writing events to archiveDir
	archiveDir   string
	mergers      []*child.Process
	snapshotDirs []string
}

// demoKafka is Demo with Options.Kafka: agent → Kafka (events and
// fragments) → an archive agent (kafka input → file) and mergers in one
// consumer group → snapshots (files and a compacted topic). Half-way a
// merger is killed -9; once the group has moved its partitions it is
// started again. The run is verified when every id is in the events topic
// and the archive, and every window's latest snapshot, in the files and
// on the topic, is final and counts exactly.
func demoKafka(ctx context.Context, o Options) (sum Summary, err error) {
	if o.Rate == 0 {
		o.Rate = DefaultKafkaRate
	}
	// Before anything is made: without jars or Java there is nothing to
	// keep for inspection, only what to install.
	if _, _, err := kafkaRuntime(); err != nil {
		return sum, fmt.Errorf("demo: %w", err)
	}
	dir, err := workDir(o.Dir, "pulse-demo-kafka-")
	if err != nil {
		return sum, fmt.Errorf("demo: %w", err)
	}
	g := &group{dir: dir, bin: o.Binary}  // pulse processes
	bg := &group{dir: dir, bin: o.Binary} // the broker, stopped after them
	defer func() {
		g.stopAll(15 * time.Second)
		bg.stopAll(30 * time.Second)
		sum.PIDs = append(g.pids(), bg.pids()...)
		fmt.Fprintf(o.Out, "stopped and reaped %d child processes: pids%s\n", len(sum.PIDs), pidList(sum.PIDs))
		leaveWorkDir(o.Out, dir, o.Dir, o.Keep, err != nil)
	}()

	began := time.Now()
	b, err := startBroker(ctx, bg, filepath.Join(dir, "kafka"))
	if err != nil {
		return sum, err
	}
	if err := b.createTopics(ctx, kafkaTopics...); err != nil {
		return sum, err
	}
	fmt.Fprintf(o.Out, "kafka %s: 1 broker on %s ready after %.1fs; topics events (3 partitions), fragments (6), snapshots (3, compacted)\n",
		kafkaVersion, b.addr, time.Since(began).Seconds())

	start := time.Now()
	t, err := startKafkaDemo(ctx, g, b, o)
	if err != nil {
		return sum, err
	}
	sum.Events = o.Events
	res, err := kafkaWait(ctx, t, o, start)
	sum.Duration = time.Since(start)
	sum.Destinations = res.dests
	if err != nil {
		return sum, err
	}
	sum.Snapshot = finalSample(t.snapshotDirs)
	sum.Verified = res.passed()
	printKafkaSummary(o.Out, sum, res)
	if !sum.Verified {
		return sum, fmt.Errorf("demo: %w", ErrLost)
	}
	return sum, nil
}

// startKafkaDemo starts the mergers and the archive agent (consumers
// first, so the demo shows them joining), gen, and the agent.
func startKafkaDemo(ctx context.Context, g *group, b *broker, o Options) (*kafkaTopology, error) {
	t := &kafkaTopology{broker: b, logFile: filepath.Join(g.dir, "app.log")}
	for i := 1; i <= kafkaMergers; i++ {
		d := filepath.Join(g.dir, fmt.Sprintf("merger%d", i))
		snap := filepath.Join(d, "snapshots")
		// Info logs: the demo follows the partitions' moves in them.
		m, err := startConfigured(g, fmt.Sprintf("merger%d", i), "merger", fmt.Sprintf(`id: merger%d
data_dir: %q
admin: {listen: "off"}
log: {level: info}
inputs:
  - {name: fragments, type: kafka, brokers: [%q], topics: [fragments], group: %s, session_timeout: %s}
merge: {interval: 1s, finalize_after: %s}
outputs:
  - {name: files, type: file, path: %q}
  - {name: compacted, type: kafka, brokers: [%q], topic: snapshots}
`, i, filepath.Join(d, "data"), b.addr, kafkaGroup, kafkaSession, kafkaFinalize, snap, b.addr))
		if err != nil {
			return nil, err
		}
		t.mergers, t.snapshotDirs = append(t.mergers, m), append(t.snapshotDirs, snap)
	}
	t.archiveDir = filepath.Join(g.dir, "archive", "out")
	var err error
	if t.archive, err = startConfigured(g, "archive", "agent", fmt.Sprintf(`id: archive
data_dir: %q
admin: {listen: "off"}
log: {level: warn}
inputs:
  - {name: bus, type: kafka, brokers: [%q], topics: [events], group: archive, format: lines}
outputs:
  - {name: archive, type: file, path: %q}
`, filepath.Join(g.dir, "archive", "data"), b.addr, t.archiveDir)); err != nil {
		return nil, err
	}

	// Live: the first event is now, each next one 1/rate later.
	genArgs := []string{"gen", "-count", fmt.Sprint(o.Events), "-rate", fmt.Sprint(o.Rate), "-start", "now", "-out", t.logFile, "-q"}
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
  window: %s
  late_windows: 30
  l2met: true
  rules:
    - {name: %s, match: {id: "*"}, kind: counter, group_by: [source]}
    - {name: router.service, match: {at: info}, value: service, kind: measure, group_by: [status]}
outputs:
  - name: events
    type: kafka
    stream: events
    brokers: [%q]
    topic: events
    key: source
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 100ms}
  - name: fragments
    type: kafka
    stream: fragments
    brokers: [%q]
    topic: fragments
    encoding: pulse
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 100ms}
`, filepath.Join(g.dir, "agent"), t.agentAdmin, t.logFile, kafkaWindow, countMetric, b.addr, b.addr))
	if err != nil {
		return nil, err
	}
	if err := waitListening(ctx, t.agent, t.agentAdmin, 30*time.Second); err != nil {
		return nil, err
	}
	return t, nil
}

// assignedRe finds a merger's partition assignments in its (logfmt) log.
var assignedRe = regexp.MustCompile(`msg="merger partition assigned" .*?partition=(\S+)`)

// assignments returns the partitions assigned to m so far, in log order.
func assignments(m *child.Process) []string {
	var out []string
	for _, sm := range assignedRe.FindAllStringSubmatch(m.Log(), -1) {
		out = append(out, sm[1])
	}
	return out
}

// kafkaResult is what the Kafka demo's checks found.
type kafkaResult struct {
	dests  []Destination // the events topic, the archive agent's file
	checks []snapCheck   // the mergers' files, the compacted topic
}

func (r *kafkaResult) passed() bool {
	ok := verified(r.dests)
	for _, c := range r.checks {
		ok = ok && c.Passed
	}
	return ok
}

// kafkaWait shows progress, kills a merger half-way and starts it again
// once the group moved its partitions, and waits until every check passes
// or the timeout.
func kafkaWait(ctx context.Context, t *kafkaTopology, o Options, start time.Time) (*kafkaResult, error) {
	res := &kafkaResult{
		dests:  []Destination{{Name: "events topic (read back)"}, {Name: "archive (kafka input→file)"}},
		checks: []snapCheck{{Name: "snapshots, mergers' files"}, {Name: "snapshots, compacted topic"}},
	}
	topicIDs := idcount.New(o.Events)
	evReader, err := newTopicReader(t.broker, func(r *kgo.Record) { topicIDs.AddLines(r.Value) }, "events")
	if err != nil {
		return res, err
	}
	defer evReader.close()
	topicSnaps := newSnapSet()
	var badSnap error
	snapReader, err := newTopicReader(t.broker, func(r *kgo.Record) {
		if err := topicSnaps.add(r.Value); err != nil && badSnap == nil {
			badSnap = err
		}
	}, "snapshots")
	if err != nil {
		return res, err
	}
	defer snapReader.close()

	var genSize int64
	genDone := false
	victim := t.mergers[0]
	var killedAt time.Time
	var before [][]string // each merger's assignments at the kill
	moved, restarted := false, false
	var last admin.Status
	lastAt := start
	sc := newStatusClient(t.agentAdmin)
	deadline := start.Add(o.Timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	since := func() float64 { return time.Since(start).Seconds() }
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		procs := []*child.Process{t.broker.proc, t.agent, t.archive}
		for _, m := range t.mergers {
			if m != victim || killedAt.IsZero() || restarted {
				procs = append(procs, m)
			}
		}
		for _, p := range procs {
			if !p.Running() {
				return res, fmt.Errorf("demo: %s exited:\n%s", p.Name, p.TailBytes(2000))
			}
		}
		if !genDone && !t.gen.Running() {
			if err := t.gen.Wait(ctx, time.Second); err != nil {
				return res, fmt.Errorf("demo: gen: %w:\n%s", err, t.gen.TailBytes(2000))
			}
			genDone = true
			if st, err := os.Stat(t.logFile); err == nil {
				genSize = st.Size()
			}
		}
		evReader.poll(ctx, 20*time.Millisecond)

		if st, err := sc.get(ctx); err == nil {
			in := int64(0)
			for _, i := range st.Inputs {
				in += i.Events
			}
			if killedAt.IsZero() && in >= int64(o.Events/2) {
				for _, m := range t.mergers {
					before = append(before, assignments(m))
				}
				victim.Kill()
				killedAt = time.Now()
				fmt.Fprintf(o.Out, "%5.1fs killed %s (kill -9) at %d events read; the group moves its partitions after its %v session timeout\n",
					since(), victim.Name, in, kafkaSession)
			}
			if n%10 == 0 && o.Progress != nil {
				printProgress(o.Progress, time.Since(start), st, last, time.Since(lastAt))
				last, lastAt = st, time.Now()
			}
		}
		if !killedAt.IsZero() && !moved && n%5 == 0 {
			for i, m := range t.mergers {
				if m == victim {
					continue
				}
				if now := assignments(m); len(now) > len(before[i]) {
					moved = true
					fmt.Fprintf(o.Out, "%5.1fs %s assigned partitions %v, replaying them from their commits\n", since(), m.Name, now[len(before[i]):])
				}
			}
		}
		if !killedAt.IsZero() && !restarted && time.Since(killedAt) >= o.DownFor && (moved || time.Since(killedAt) > 30*time.Second) {
			if err := victim.Start(); err != nil {
				return res, err
			}
			restarted = true
			fmt.Fprintf(o.Out, "%5.1fs restarted %s: it rejoins the group, which balances the partitions again\n", since(), victim.Name)
		}

		idsDone := checkTopicIDs(&res.dests[0], topicIDs, o.Events, start) && checkFileIDs(&res.dests[1], genDone, genSize, t.archiveDir, o.Events, start)
		// Snapshots once gen is done and every event arrived, every second:
		// the mergers finalize the last window FinalizeAfter past its end.
		if genDone && idsDone && n%10 == 0 {
			snapReader.poll(ctx, 50*time.Millisecond)
			files, err := readSnapshotDirs(t.snapshotDirs)
			if err == nil && badSnap == nil {
				checkSnaps(&res.checks[0], files, nil, o.Events, start)
				checkSnaps(&res.checks[1], topicSnaps, files, o.Events, start)
			}
		}
		if res.passed() && restarted {
			return res, nil
		}
		if time.Now().After(deadline) {
			res.dests[1].IDs = rescanIDs(t.archiveDir, o.Events, res.dests[1].IDs)
			res.dests[0].IDs = topicIDs.Report()
			printKafkaSummary(o.Out, Summary{Events: o.Events, Duration: time.Since(start), Destinations: res.dests}, res)
			if badSnap != nil {
				return res, fmt.Errorf("demo: snapshots topic: %w", badSnap)
			}
			return res, fmt.Errorf("demo: not every check passed within %v: %w", o.Timeout, ErrLost)
		}
	}
}

// checkTopicIDs reports whether the events topic has every id, once it
// holds as many records.
func checkTopicIDs(d *Destination, ids *idcount.IDs, events int, start time.Time) bool {
	if d.Passed {
		return true
	}
	d.IDs = ids.Report()
	if d.IDs.Missing == 0 {
		d.Passed, d.After = true, time.Since(start).Seconds()
	}
	return d.Passed
}

// checkFileIDs reports whether dir has every id, scanning it once gen is
// done and it holds as many bytes as gen wrote.
func checkFileIDs(d *Destination, genDone bool, genSize int64, dir string, events int, start time.Time) bool {
	if d.Passed {
		return true
	}
	if !genDone || idcount.DirBytes(dir) < genSize {
		return false
	}
	c, err := idcount.ScanDirs(events, dir)
	if err != nil {
		return false // a file rotated under us; look again next tick
	}
	d.IDs = c.Report()
	if d.IDs.Missing == 0 {
		d.Passed, d.After = true, time.Since(start).Seconds()
	}
	return d.Passed
}

// rescanIDs counts dir's ids for the report of a run that timed out.
func rescanIDs(dir string, events int, prev idcount.Report) idcount.Report {
	if c, err := idcount.ScanDirs(events, dir); err == nil {
		return c.Report()
	}
	return prev
}
