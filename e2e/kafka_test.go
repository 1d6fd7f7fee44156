package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/testenv"
)

// kafkaOutput is an outputs: item producing the events stream to topic,
// with a short delivery timeout so that an outage exercises the retries,
// and small batches sent soon.
func kafkaOutput(name string, brokers []string, topic, buffer string) string {
	return fmt.Sprintf(`  - name: %s
    type: kafka
    stream: events
    brokers: [%s]
    topic: %s
    timeout: 5s
    batch: {max_events: 2000, max_bytes: 512KiB, max_wait: 50ms}
    buffer: {max_bytes: %s, when_full: block}
`, name, strings.Join(brokers, ", "), topic, buffer)
}

// kafkaAdmin is a franz-go client of the test's cluster, closed at the end.
func kafkaAdmin(t *testing.T, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// endOffsets is the sum of topic's high watermarks: records produced so
// far, duplicates included; -1 if the brokers do not answer in time.
func endOffsets(adm *kadm.Client, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		return -1
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum
}

// groupCommitted is the sum of group's committed offsets on topic.
func groupCommitted(adm *kadm.Client, group, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return -1
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At > 0 {
			sum += o.At
		}
	})
	return sum
}

// topicIDs counts the ids of every record in topic: read by kcat, an
// independent client, where it is installed, else by testenv.Records.
func topicIDs(t *testing.T, kf *testenv.Kafka, topic string, n int) *testenv.IDs {
	t.Helper()
	ids := testenv.NewIDs(n)
	if kcat, err := exec.LookPath("kcat"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(kf.Brokers(), ","), "-t", topic,
			"-o", "beginning", "-e", "-q", "-f", "%s\n").Output()
		if err != nil {
			t.Fatalf("kcat: %v", err)
		}
		ids.AddLines(out)
		return ids
	}
	var buf bytes.Buffer
	for _, r := range kf.Records(t, topic) {
		buf.Write(r.Value)
		buf.WriteByte('\n')
	}
	ids.AddLines(buf.Bytes())
	return ids
}

// waitStable waits until f's value stops changing for a while (or the
// timeout passes) and returns it.
func waitStable(timeout, quiet time.Duration, f func() int64) int64 {
	deadline := time.Now().Add(timeout)
	last, since := f(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < quiet {
		time.Sleep(200 * time.Millisecond)
		if v := f(); v != last {
			last, since = v, time.Now()
		}
	}
	return last
}

// TestKafkaOutputKills: 500,000 ids from a file through an agent into a
// topic of 3 brokers (RF 3, min.insync.replicas 2, acks all), with one
// broker kill -9'd and restarted mid-run and the agent kill -9'd three
// times: every id is in the topic; duplicates are counted and reported.
func TestKafkaOutputKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end kafka test; run without -short")
	}
	const n = 500_000
	began := time.Now()
	kf := testenv.StartKafka(t, 3)
	kf.CreateTopic(t, "ids", 3, 3, map[string]string{"min.insync.replicas": "2"})
	adm := kafkaAdmin(t, kf.Brokers())
	root := t.TempDir()
	gen := testenv.StartGen(t, root, "gen", testenv.GenOptions{Events: n, Rate: 20_000})
	cfg := testenv.Config{
		ID:      "kafka-out",
		Inputs:  []string{testenv.FileInput("app", gen.Path)},
		Outputs: []string{kafkaOutput("bus", kf.Brokers(), "ids", "256MiB")},
		Extra:   "shutdown_timeout: 5s",
	}
	agent := testenv.StartAgent(t, root, "agent", cfg.YAML())

	// The steps run at fixed times once records flow, while gen still
	// writes (25 s at 20,000 lines/s): a broker's partitions are led
	// elsewhere only some seconds after its kill, during which the topic's
	// end offsets cannot be read, so shares of the ids would be a poor clock.
	testenv.WaitFor(t, time.Minute, "records in the topic", func() bool {
		if !agent.Running() {
			t.Fatalf("agent exited:\n%s", agent.Tail(30))
		}
		return endOffsets(adm, "ids") >= 10_000
	})
	flowing := time.Now()
	steps := []struct {
		at   time.Duration
		what string
		do   func()
	}{
		{2 * time.Second, "kill -9 the agent", func() { agent.Kill(); agent.Restart() }},
		{5 * time.Second, "kill -9 broker 1", func() { kf.Kill(1) }},
		{9 * time.Second, "kill -9 the agent", func() { agent.Kill(); agent.Restart() }},
		{13 * time.Second, "restart broker 1", func() { kf.Restart(1) }},
		{17 * time.Second, "kill -9 the agent", func() { agent.Kill(); agent.Restart() }},
	}
	for _, s := range steps {
		time.Sleep(time.Until(flowing.Add(s.at)))
		if !agent.Running() {
			t.Fatalf("agent exited before %s:\n%s", s.what, agent.Tail(30))
		}
		s.do()
		t.Logf("%s at %v: %d records in the topic", s.what, time.Since(began).Round(100*time.Millisecond), endOffsets(adm, "ids"))
	}
	gen.WaitDone(t, 2*time.Minute)
	testenv.WaitFor(t, 2*time.Minute, "at least as many records as ids", func() bool { return endOffsets(adm, "ids") >= n })
	waitStable(time.Minute, 3*time.Second, func() int64 { return endOffsets(adm, "ids") })

	var rep testenv.Report
	testenv.EventuallyEvery(20*time.Second, 2*time.Second, func() bool { // a straggler batch may still be retried
		rep = topicIDs(t, kf, "ids", n).Report()
		return rep.Missing == 0
	})
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Errorf("clean stop: %v\n%s", err, agent.Tail(30))
	}
	t.Logf("topic: %s, in %v", rep, time.Since(began).Round(100*time.Millisecond))
	if rep.Missing != 0 || rep.Unknown != 0 {
		t.Fatalf("%d ids missing (first %v), %d garbled records", rep.Missing, rep.FirstMiss, rep.Unknown)
	}
}

// TestKafkaOutage: the only broker is down for 20 s while lines flow. The
// kafka output's buffer holds the backlog within its cap, the agent's file
// output goes on receiving meanwhile, and once the broker is back every id
// reaches both.
func TestKafkaOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end kafka test; run without -short")
	}
	const (
		n        = 400_000
		capBytes = 128 << 20
	)
	began := time.Now()
	kf := testenv.StartKafka(t, 1)
	kf.CreateTopic(t, "outage", 3, 1, nil)
	adm := kafkaAdmin(t, kf.Brokers())
	root := t.TempDir()
	gen := testenv.StartGen(t, root, "gen", testenv.GenOptions{Events: n, Rate: 10_000})
	outDir := filepath.Join(root, "out")
	cfg := testenv.Config{
		ID:     "kafka-outage",
		Admin:  testenv.FreeAddr(t),
		Inputs: []string{testenv.FileInput("app", gen.Path)},
		Outputs: []string{
			kafkaOutput("bus", kf.Brokers(), "outage", "128MiB"),
			testenv.FileOutput("local", outDir),
		},
	}
	agent := testenv.StartAgent(t, root, "agent", cfg.YAML())
	agent.Admin = cfg.Admin
	bufDir := filepath.Join(agent.Dir, "buffers", "bus")

	testenv.WaitFor(t, time.Minute, "records flowing", func() bool { return endOffsets(adm, "outage") >= 20_000 })
	kf.Stop(0)
	down := time.Now()
	localAtStop := localIDs(t, outDir, n)
	var maxBuf int64
	for time.Since(down) < 20*time.Second {
		if !agent.Running() {
			t.Fatalf("agent exited during the outage:\n%s", agent.Tail(30))
		}
		maxBuf = max(maxBuf, dirSize(bufDir))
		time.Sleep(200 * time.Millisecond)
	}
	localAtRestart := localIDs(t, outDir, n)
	kf.Restart(0)
	t.Logf("broker down %v: kafka buffer up to %d bytes (cap %d); file output %d → %d ids meanwhile",
		time.Since(down).Round(100*time.Millisecond), maxBuf, capBytes, localAtStop, localAtRestart)
	if maxBuf > capBytes {
		t.Errorf("buffer reached %d bytes, over its cap %d", maxBuf, capBytes)
	}
	if maxBuf < 10<<20 {
		t.Errorf("buffer reached only %d bytes: the outage held no backlog", maxBuf)
	}
	if localAtRestart-localAtStop < 100_000 {
		t.Errorf("the file output got %d ids during the outage: it did not go on", localAtRestart-localAtStop)
	}

	gen.WaitDone(t, 2*time.Minute)
	testenv.WaitEvery(t, 2*time.Minute, 300*time.Millisecond, "every id in the file output", func() bool {
		return localIDs(t, outDir, n) == n
	})
	testenv.WaitFor(t, 2*time.Minute, "at least as many records as ids", func() bool { return endOffsets(adm, "outage") >= n })
	waitStable(time.Minute, 2*time.Second, func() int64 { return endOffsets(adm, "outage") })
	rep := topicIDs(t, kf, "outage", n).Report()
	st := kafkaStats(t, agent, "bus")
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Errorf("clean stop: %v\n%s", err, agent.Tail(30))
	}
	t.Logf("topic: %s; kafka output: %s; in %v", rep, st, time.Since(began).Round(100*time.Millisecond))
	if rep.Missing != 0 || rep.Unknown != 0 {
		t.Fatalf("%d ids missing (first %v), %d garbled", rep.Missing, rep.FirstMiss, rep.Unknown)
	}
}

// localIDs is the number of distinct ids in a file output's directory.
func localIDs(t *testing.T, dir string, n int) int {
	t.Helper()
	ids, err := testenv.ScanDir(dir, n)
	if err != nil {
		if os.IsNotExist(err) {
			return 0
		}
		t.Fatal(err)
	}
	return ids.Report().Unique
}

// kafkaStats sums up the kafka output's delivery from the agent's status:
// what the outage cost in failed attempts and records produced again.
func kafkaStats(t *testing.T, agent *testenv.Node, name string) string {
	t.Helper()
	st, err := agent.Status()
	if err != nil {
		return err.Error()
	}
	o, ok := testenv.Output(st, name)
	if !ok {
		return "no output " + name
	}
	return fmt.Sprintf("%d records delivered, %d failed attempts %v, %d produced again, %d dead-lettered",
		o.Events, o.Failures, o.Errors, o.Retries, o.DeadLetters)
}

// TestKafkaInputKills: 300,000 ids in a topic read by an agent's kafka
// input into a file output, the agent kill -9'd three times: every id
// arrives at least once (duplicates reported), for offsets move only past
// what the file output stored.
func TestKafkaInputKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end kafka test; run without -short")
	}
	const n = 300_000
	began := time.Now()
	kf := testenv.StartKafka(t, 1)
	kf.CreateTopic(t, "in", 3, 1, nil)
	adm := kafkaAdmin(t, kf.Brokers())
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		produceIDs(t, kf.Brokers(), "in", n, 15_000)
	}()
	root := t.TempDir()
	outDir := filepath.Join(root, "out")
	cfg := testenv.Config{
		ID: "kafka-in",
		Inputs: []string{fmt.Sprintf(`  - name: bus
    type: kafka
    brokers: [%s]
    topics: [in]
    group: archive
    session_timeout: 6s
`, strings.Join(kf.Brokers(), ", "))},
		Outputs: []string{testenv.FileOutput("local", outDir)},
		Extra:   "shutdown_timeout: 5s",
	}
	agent := testenv.StartAgent(t, root, "agent", cfg.YAML())
	// Each kill waits for a share of the ids committed, and for the agent
	// started after the last kill to have committed some of its own.
	var atKill int64
	for kill, share := range []float64{0.2, 0.5, 0.8} {
		target := int64(share * n)
		testenv.WaitFor(t, 2*time.Minute, fmt.Sprintf("%.0f%% committed before kill %d", 100*share, kill+1), func() bool {
			if !agent.Running() {
				t.Fatalf("agent exited:\n%s", agent.Tail(30))
			}
			c := groupCommitted(adm, "archive", "in")
			return c >= target && c >= atKill+10_000
		})
		time.Sleep(time.Duration(rand.IntN(250)) * time.Millisecond) // anywhere between two commits
		agent.Kill()
		atKill = groupCommitted(adm, "archive", "in")
		t.Logf("kill -9 #%d at %d committed (%v)", kill+1, atKill, time.Since(began).Round(100*time.Millisecond))
		agent.Restart()
	}
	<-produced
	var rep testenv.Report
	testenv.WaitEvery(t, 3*time.Minute, 300*time.Millisecond, "every id in the file output", func() bool {
		ids, err := testenv.ScanDir(outDir, n)
		if err != nil {
			return false
		}
		rep = ids.Report()
		return rep.Missing == 0
	})
	testenv.WaitFor(t, time.Minute, "every offset committed", func() bool { return groupCommitted(adm, "archive", "in") == n })
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Errorf("clean stop: %v\n%s", err, agent.Tail(30))
	}
	t.Logf("file output: %s, in %v", rep, time.Since(began).Round(100*time.Millisecond))
	if rep.Unknown != 0 {
		t.Errorf("%d garbled lines", rep.Unknown)
	}
}

// produceIDs writes n records "… id=N …" to topic, about rate a second.
// It runs in a goroutine of its own: failures are t.Errorf.
func produceIDs(t *testing.T, brokers []string, topic string, n, rate int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Error(err)
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	chunk := max(rate/10, 1)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for first := 0; first < n; first += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := first; i < min(first+chunk, n); i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "at=info id=%d path=/items method=GET", i)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Errorf("produce: %v", err)
			return
		}
		<-tick.C
	}
}
