package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"pulse/child"
	"pulse/idcount"
	"pulse/procstat"
)

// Defaults of BenchKafka.
const (
	DefaultKafkaBenchEvents = 1_000_000
	// kafkaBenchPartitions is each topic's partitions: a few, so that the
	// broker and both producers work on more than one log at once.
	kafkaBenchPartitions = 3
	// kafkaWarmup records go to a topic of their own first, so that the
	// broker's JIT has warmed up before any measured run.
	kafkaWarmup = 100_000
)

// kafkaBenchInFlight are the agent's runs: the kafka output's default
// max_in_flight (batches produced at once), then more. A batch leaves the
// buffer only once every record of it is acknowledged, so the data in
// flight, not the CPU, bounds a producer close to its broker: kcat
// (librdkafka) queues up to 100,000 messages.
var kafkaBenchInFlight = []int{16, 64}

// KafkaBenchReport is what BenchKafka measured, written as
// OutDir/kafka-report.json.
type KafkaBenchReport struct {
	Started time.Time `json:"started"`
	Command string    `json:"command"`
	Host    Host      `json:"host"`
	Kafka   string    `json:"kafka_version"`
	Events  int       `json:"events"`
	Bytes   int64     `json:"bytes"` // the log file's size
	// Compression is the codec both producers used; acks=all and the
	// idempotent producer for both.
	Compression string          `json:"compression"`
	Partitions  int             `json:"partitions"`
	Runs        []KafkaBenchRun `json:"runs"` // the agent's (one per kafkaBenchInFlight), then kcat
}

// KafkaBenchRun is one producer's run: the same file into its own topic
// of the same broker.
type KafkaBenchRun struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	// Seconds from the producer's start until the topic held every record
	// (its high watermarks summed).
	Seconds       float64        `json:"seconds"`
	EventsPS      float64        `json:"events_per_second"`
	MBPS          float64        `json:"mb_per_second"`
	CPUSeconds    float64        `json:"cpu_seconds"`
	CPUPerMEvents float64        `json:"cpu_seconds_per_million_events"`
	PeakRSSBytes  int64          `json:"peak_rss_bytes"`
	DiskBytes     int64          `json:"disk_write_bytes"` // the agent's buffer; 0 for kcat
	Records       int64          `json:"records"`          // in the topic, duplicates included
	IDs           idcount.Report `json:"ids"`              // read back from the topic
	LoadStart     float64        `json:"load1_start"`
	LoadEnd       float64        `json:"load1_end"`
	// OverKcat compares the run with kcat's: above 1 it moved more events
	// per second, or spent more CPU per event (1 for kcat itself).
	OverKcat KafkaBenchRatios `json:"over_kcat"`
}

// KafkaBenchRatios are one run's figures divided by kcat's.
type KafkaBenchRatios struct {
	EventsPS      float64 `json:"events_per_second"`
	CPUPerMEvents float64 `json:"cpu_seconds_per_million_events"`
}

// BenchKafka measures the agent producing a pre-generated file of router
// lines into a local one-broker Kafka — file input, disk buffer, kafka
// output with acks=all and the idempotent producer — and, in the same run,
// kcat -P producing the same file to the same broker with the same
// settings and no disk buffer. It reports events/s and CPU seconds per
// million events of each, and the ratio, prints a table to o.Out and
// writes OutDir/kafka-report.json. Of BenchOptions it takes Events,
// Compression (a Kafka codec: zstd, lz4, snappy or none), OutDir, Dir,
// Keep, Timeout, Out and Progress.
func BenchKafka(ctx context.Context, o BenchOptions) (rep KafkaBenchReport, err error) {
	if o.Events == 0 {
		o.Events = DefaultKafkaBenchEvents
	}
	if o.Compression == "" {
		o.Compression = "zstd"
	}
	switch {
	case o.Events < 0:
		return rep, fmt.Errorf("demo: bench: negative -events")
	case o.Duration != 0 || o.Down != "":
		return rep, fmt.Errorf("demo: bench -to kafka: takes -events, not -duration or -down")
	case !strings.Contains(" zstd lz4 snappy none ", " "+o.Compression+" "):
		return rep, fmt.Errorf("demo: bench -to kafka: -compression %q: want zstd, lz4, snappy or none (the producers' codec)", o.Compression)
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
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return rep, fmt.Errorf("demo: own binary: %w", err)
		}
	}
	if _, _, err := kafkaRuntime(); err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		return rep, fmt.Errorf("demo: bench -to kafka: kcat, the reference producer, is not installed (apt-get install -y kcat): %w", err)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	dir, err := workDir(o.Dir, "pulse-bench-kafka-")
	if err != nil {
		return rep, fmt.Errorf("demo: bench: %w", err)
	}
	g := &group{dir: dir, bin: o.Binary}  // gen, the agent, kcat
	bg := &group{dir: dir, bin: o.Binary} // the broker, stopped after them
	defer func() {
		g.stopAll(30 * time.Second)
		bg.stopAll(30 * time.Second)
		leaveWorkDir(o.Out, dir, o.Dir, o.Keep, err != nil)
	}()
	rep = KafkaBenchReport{Started: time.Now().UTC(), Host: hostInfo(), Kafka: kafkaVersion, Events: o.Events,
		Compression: o.Compression, Partitions: kafkaBenchPartitions,
		Command: fmt.Sprintf("pulse bench -to kafka -events %d -compression %s", o.Events, o.Compression)}

	logFile := filepath.Join(dir, "router.log")
	if rep.Bytes, err = genFile(ctx, g, "gen", logFile, o.Events); err != nil {
		return rep, err
	}
	warmFile := filepath.Join(dir, "warmup.log")
	if _, err = genFile(ctx, g, "gen-warmup", warmFile, kafkaWarmup); err != nil {
		return rep, err
	}
	b, err := startBroker(ctx, bg, filepath.Join(dir, "kafka"))
	if err != nil {
		return rep, err
	}
	topics := []topic{{name: "warmup", partitions: kafkaBenchPartitions}, {name: "kcat", partitions: kafkaBenchPartitions}}
	for _, n := range kafkaBenchInFlight {
		topics = append(topics, topic{name: agentTopic(n), partitions: kafkaBenchPartitions})
	}
	if err := b.createTopics(ctx, topics...); err != nil {
		return rep, err
	}
	kcatArgs := func(topic, file string) []string {
		return []string{kcat, "-P", "-b", b.addr, "-t", topic, "-l", file, "-z", o.Compression,
			"-X", "enable.idempotence=true", "-X", "acks=all"}
	}
	warm, err := g.startProgram("kcat-warmup", kcatArgs("warmup", warmFile)...)
	if err != nil {
		return rep, err
	}
	if err := warm.Wait(ctx, 5*time.Minute); err != nil {
		return rep, fmt.Errorf("demo: bench: kcat warm-up: %w\n%s", err, warm.TailBytes(2000))
	}

	for _, n := range kafkaBenchInFlight {
		agent, err := benchKafkaAgent(ctx, g, b, o, logFile, n)
		if err != nil {
			return rep, err
		}
		rep.Runs = append(rep.Runs, agent)
	}
	kc, err := benchKafkaRun(ctx, g, b, o, "kcat", "kcat "+strings.Join(kcatArgs("kcat", "FILE")[1:], " "), kcatArgs("kcat", logFile), nil)
	if err != nil {
		return rep, err
	}
	rep.Runs = append(rep.Runs, kc)
	for i := range rep.Runs {
		r := &rep.Runs[i]
		r.MBPS = float64(rep.Bytes) / max(r.Seconds, 1e-3) / 1e6
		if r.IDs, err = readTopicIDs(ctx, b, r.Name, o.Events, 5*time.Minute); err != nil {
			return rep, err
		}
	}
	for i := range rep.Runs {
		rep.Runs[i].OverKcat = KafkaBenchRatios{
			EventsPS:      rep.Runs[i].EventsPS / max(kc.EventsPS, 1e-9),
			CPUPerMEvents: rep.Runs[i].CPUPerMEvents / max(kc.CPUPerMEvents, 1e-9),
		}
	}
	printKafkaBench(o.Out, rep)
	if err := writeKafkaReport(o.OutDir, rep); err != nil {
		return rep, err
	}
	for _, r := range rep.Runs {
		if r.IDs.Missing > 0 {
			return rep, fmt.Errorf("demo: bench: %s: %d of %d events not in its topic: %w", r.Name, r.IDs.Missing, o.Events, ErrLost)
		}
	}
	return rep, nil
}

// genFile has gen write n router lines to path before the clock starts
// (the producers are measured, not gen) and returns its size.
func genFile(ctx context.Context, g *group, name, path string, n int) (int64, error) {
	p, err := g.start(name, "gen", "-mix", "router=100", "-count", fmt.Sprint(n), "-out", path, "-q")
	if err != nil {
		return 0, err
	}
	if err := p.Wait(ctx, 10*time.Minute); err != nil {
		return 0, fmt.Errorf("demo: bench: gen: %w\n%s", err, p.TailBytes(2000))
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("demo: bench: %w", err)
	}
	return st.Size(), nil
}

// agentTopic is the topic of the agent's run with max_in_flight n, and
// the run's name.
func agentTopic(n int) string { return fmt.Sprintf("agent-if%d", n) }

// benchKafkaAgent runs the agent over the file into agentTopic(inFlight):
// the seed's agent set-up (file input, a disk buffer in front of the
// output, batches as in the HTTP bench) with a kafka output producing
// inFlight batches at once.
func benchKafkaAgent(ctx context.Context, g *group, b *broker, o BenchOptions, logFile string, inFlight int) (KafkaBenchRun, error) {
	name := agentTopic(inFlight)
	path := filepath.Join(g.dir, name+".yaml")
	cfg := fmt.Sprintf(`id: bench
data_dir: %q
shutdown_timeout: 1s
log: {level: warn}
admin: {listen: "off"}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
outputs:
  - name: bus
    type: kafka
    stream: events
    brokers: [%q]
    topic: %s
    compression: %s
    max_in_flight: %d
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}
    buffer: {max_bytes: 2GiB, when_full: block}
`, filepath.Join(g.dir, name), logFile, b.addr, name, o.Compression, inFlight)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return KafkaBenchRun{}, fmt.Errorf("demo: bench: %w", err)
	}
	sample := func(p *child.Process) (procstat.Usage, error) { return p.Usage() }
	command := fmt.Sprintf("pulse agent: file input, disk buffer, kafka output (acks all, idempotent, %s, max_in_flight %d, batches of 5000 events / 1MiB)", o.Compression, inFlight)
	return benchKafkaRun(ctx, g, b, o, name, command, []string{o.Binary, "agent", "-config", path}, sample)
}

// benchKafkaRun starts argv as producer name into topic name and waits
// until the topic holds every event. sample, when set, reads the
// process's cost while it still runs (a daemon, stopped afterwards);
// otherwise the process must exit on its own and its rusage is taken.
func benchKafkaRun(ctx context.Context, g *group, b *broker, o BenchOptions, name, command string, argv []string, sample func(*child.Process) (procstat.Usage, error)) (KafkaBenchRun, error) {
	run := KafkaBenchRun{Name: name, Command: command, LoadStart: hostInfo().Load1}
	cl, err := b.client()
	if err != nil {
		return run, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	records := func() int64 {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ends, err := adm.ListEndOffsets(rctx, name)
		if err != nil || ends.Error() != nil {
			return -1
		}
		var sum int64
		ends.Each(func(l kadm.ListedOffset) { sum += l.Offset })
		return sum
	}
	started := time.Now()
	p, err := g.startProgram(name, argv...)
	if err != nil {
		return run, err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastN, lastAt := int64(0), started
	for {
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-tick.C:
		}
		n := records()
		if n >= int64(o.Events) {
			run.Seconds, run.Records = time.Since(started).Seconds(), n
			break
		}
		// A daemon must not exit; kcat may, once it delivered everything.
		if !p.Running() && (sample != nil || p.ExitCode() != 0) {
			return run, fmt.Errorf("demo: bench: %s exited (code %d) with %d of %d records in its topic:\n%s", name, p.ExitCode(), n, o.Events, p.TailBytes(2000))
		}
		if time.Since(started) > o.Timeout {
			return run, fmt.Errorf("demo: bench: %s: %d of %d records in its topic after %v: %w", name, n, o.Events, o.Timeout, ErrLost)
		}
		if o.Progress != nil && time.Since(lastAt) >= time.Second {
			fmt.Fprintf(o.Progress, "%6.1fs %s: %d records in its topic (%s/s)\n", time.Since(started).Seconds(), name, n, si(float64(n-lastN)/time.Since(lastAt).Seconds()))
			lastN, lastAt = n, time.Now()
		}
	}
	var u procstat.Usage
	if sample != nil {
		if u, err = sample(p); err != nil {
			return run, err
		}
		if err := p.Stop(30 * time.Second); err != nil && p.Running() {
			p.Kill()
		}
	} else {
		// kcat -P exits once every message is delivered: its rusage is
		// the whole run's.
		if err := p.Wait(ctx, time.Minute); err != nil {
			return run, fmt.Errorf("demo: bench: %s: %w\n%s", name, err, p.TailBytes(2000))
		}
		u = p.ExitUsage()
	}
	run.LoadEnd = hostInfo().Load1
	run.EventsPS = float64(o.Events) / max(run.Seconds, 1e-3)
	run.CPUSeconds = u.CPU.Seconds()
	run.CPUPerMEvents = u.CPU.Seconds() / (float64(o.Events) / 1e6)
	run.PeakRSSBytes, run.DiskBytes = u.PeakRSS, u.DiskWrites
	return run, nil
}

func printKafkaBench(w io.Writer, r KafkaBenchReport) {
	fmt.Fprintf(w, "\n%s  (%d CPUs, load %.2f at start; Kafka %s, 1 broker, %d partitions a topic)\n", r.Command, r.Host.CPUs, r.Host.Load1, r.Kafka, r.Partitions)
	fmt.Fprintf(w, "  %d router lines (%s), %s, acks=all, idempotent producer\n", r.Events, bytesStr(r.Bytes), r.Compression)
	fmt.Fprintf(w, "  %-10s %8s %9s %7s %9s %8s %9s %9s %-11s %s\n", "", "seconds", "events/s", "÷ kcat", "CPU s/M", "÷ kcat", "peak RSS", "disk B/ev", "load", "in the topic")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "  %-10s %8.2f %9s %6.2f× %9.2f %7.2f× %8.1fM %9.1f %5.2f-%-5.2f %s\n", run.Name, run.Seconds, si(run.EventsPS), run.OverKcat.EventsPS,
			run.CPUPerMEvents, run.OverKcat.CPUPerMEvents, float64(run.PeakRSSBytes)/(1<<20), float64(run.DiskBytes)/float64(max(r.Events, 1)), run.LoadStart, run.LoadEnd, run.IDs)
	}
	for _, run := range r.Runs {
		fmt.Fprintf(w, "  %-11s %s\n", run.Name+":", run.Command)
	}
}

func writeKafkaReport(dir string, rep KafkaBenchReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	path := filepath.Join(dir, "kafka-report.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("demo: report: %w", err)
	}
	return nil
}
