package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Kafka is a real Apache Kafka cluster on loopback: n combined
// broker+controller JVMs in KRaft mode (no ZooKeeper), each in its own
// directory with its own two ports, started by StartKafka and killed at the
// end of the test.
type Kafka struct {
	t     testing.TB
	nodes []*kafkaNode
	sec   *kafkaSecurity // the client listener's security (StartKafkaWith); nil: none
}

// kafkaNode is one broker: node.id i, its directory, its PLAINTEXT (the
// inter-broker listener, and the clients' without StartKafkaWith's
// security) and CONTROLLER addresses, its secure client listener's
// address if any, and its JVM.
type kafkaNode struct {
	id         int
	dir        string
	addr, ctrl string
	client     string // StartKafkaWith's CLIENT listener; "" without one
	proc       *Process
}

// kafkaReadyTimeout bounds the wait for a cluster or a restarted broker to
// serve: a JVM start is ~3-4 s on an idle 2-core machine; three at once, on
// a machine other tests load, take several times that.
const kafkaReadyTimeout = 120 * time.Second

// kafkaJVM is the JVM's heap, GC and JIT, as Kafka's own KAFKA_HEAP_OPTS
// and KAFKA_JVM_PERFORMANCE_OPTS would give them, for a test broker on a
// 2-core machine that other tests share: a small heap that starts smaller
// (RSS ~150-200 MB a broker), the serial collector (no concurrent GC
// threads) and the C1 compiler alone, which halve the CPU a broker spends
// getting ready (~3 s instead of ~6 s); a test broker moves little data,
// so C2's faster code would not pay for itself. ExitOnOutOfMemoryError: a
// broker out of heap dies at once, its log saying why, instead of limping.
// -UsePerfData: no hsperfdata file in /tmp. PULSE_KAFKA_JVM_OPTS
// (space-separated) replaces them all.
var kafkaJVM = []string{
	"-Xmx512m", "-Xms64m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:+ExitOnOutOfMemoryError",
	"-XX:-UsePerfData",
	"-Djava.awt.headless=true",
}

// StartKafka starts an n-broker KRaft cluster (n = 1 or 3) on loopback,
// stopped at t.Cleanup. It returns once every broker serves metadata naming
// all n brokers and an active controller. Without java or the broker's
// jars (scripts/kafka-jars.sh) the test is skipped, or fails under CI=1.
func StartKafka(t testing.TB, n int) *Kafka {
	t.Helper()
	return startKafka(t, n, nil)
}

// startKafka is StartKafka with the client listener's security of
// StartKafkaWith (nil: none); sec.prepare runs once the nodes have their
// directories and addresses.
func startKafka(t testing.TB, n int, sec *kafkaSecurity) *Kafka {
	t.Helper()
	if n != 1 && n != 3 {
		t.Fatalf("testenv: StartKafka(%d): n must be 1 or 3", n)
	}
	java, libs := kafkaRuntime(t)
	base := t.TempDir()
	k := &Kafka{t: t, sec: sec}
	for i := range n {
		nd := &kafkaNode{
			id:   i,
			dir:  filepath.Join(base, fmt.Sprintf("broker-%d", i)),
			addr: FreeAddr(t),
			ctrl: FreeAddr(t),
		}
		if sec != nil {
			nd.client = FreeAddr(t)
		}
		k.nodes = append(k.nodes, nd)
	}
	if sec != nil {
		sec.prepare(t, base)
	}
	clusterID := kafkaClusterID(t)
	start := time.Now()
	for _, nd := range k.nodes {
		k.writeConfig(nd)
	}
	kafkaFormat(t, java, libs, k.nodes, clusterID, sec.formatArgs())
	formatted := time.Now()
	jvm := kafkaJVM
	if opts := os.Getenv("PULSE_KAFKA_JVM_OPTS"); opts != "" {
		jvm = strings.Fields(opts)
	}
	for _, nd := range k.nodes {
		args := append(append([]string{}, jvm...),
			// A JVM crash report goes beside the log, not into the
			// test's working directory (the package's source).
			"-XX:ErrorFile="+filepath.Join(nd.dir, "hs_err_%p.log"),
			"-Dlog4j2.configurationFile="+filepath.Join(nd.dir, "log4j2.properties"),
			"-cp", filepath.Join(libs, "*"),
			"kafka.Kafka", filepath.Join(nd.dir, "server.properties"))
		nd.proc = Start(t, nd.dir, "kafka", java, args...)
	}
	k.waitReady(t, kafkaAll(n), kafkaReadyTimeout)
	t.Logf("testenv: kafka: %d broker(s) %v%s ready %v after start (storage format %v)",
		n, k.Brokers(), sec.describe(), time.Since(formatted).Round(10*time.Millisecond), formatted.Sub(start).Round(10*time.Millisecond))
	return k
}

// Brokers returns "127.0.0.1:port" of every broker, in node order: the
// bootstrap list for a client. Of a cluster from StartKafkaWith with TLS or
// SASL, these are its secure client listener's (PlainBrokers has the
// others).
func (k *Kafka) Brokers() []string {
	out := make([]string, len(k.nodes))
	for i, nd := range k.nodes {
		out[i] = nd.addr
		if nd.client != "" {
			out[i] = nd.client
		}
	}
	return out
}

// Kill kills broker i with SIGKILL (no controlled shutdown, nothing
// flushed) and reaps it.
func (k *Kafka) Kill(i int) {
	k.t.Helper()
	nd := k.node(i)
	nd.proc.Kill()
}

// Stop sends broker i SIGTERM — a controlled shutdown, leadership moved
// away first — and waits for it to exit, failing the test if it does not
// exit cleanly within a minute. A broker whose controllers have lost their
// quorum (the last one of three left running) cannot finish a controlled
// shutdown, and Kafka waits for it far longer than a test should: such a
// broker gets 10 s, then SIGKILL, and the test goes on (logged).
func (k *Kafka) Stop(i int) {
	k.t.Helper()
	nd := k.node(i)
	if !nd.proc.Running() {
		return
	}
	running := 0
	for _, o := range k.nodes {
		if o.proc.Running() {
			running++
		}
	}
	quorum := 2*running > len(k.nodes)
	wait := time.Minute
	if !quorum {
		wait = 10 * time.Second
	}
	err := nd.proc.Stop(wait)
	if err != nil && nd.proc.Running() {
		nd.proc.Kill()
		if !quorum {
			k.t.Logf("testenv: kafka broker %d: %d of %d brokers running, no controller quorum: no exit %v after SIGTERM, killed", i, running, len(k.nodes), wait)
			return
		}
		k.t.Fatalf("testenv: kafka broker %d: no exit within %v of SIGTERM (killed)\n%s", i, wait, nd.proc.Tail(40))
	}
	// The JVM runs Kafka's shutdown hook on SIGTERM, then exits 128+15.
	if code := nd.proc.ExitCode(); code != 0 && code != 128+int(syscall.SIGTERM) {
		k.t.Fatalf("testenv: kafka broker %d: exit %d after SIGTERM\n%s", i, code, nd.proc.Tail(40))
	}
}

// Restart starts broker i again after Kill or Stop — same directory, same
// ports, same data — and waits until it is back in the cluster: its own
// metadata names an active controller and every running broker. A broker
// cannot serve while fewer than a majority of the controllers run: when
// this Restart leaves the cluster short of one (the first of three brought
// back after all stopped), it returns without waiting, and the Restart that
// completes the quorum waits for every running broker. (Kafka gives a
// broker a minute to find the quorum before it exits.)
func (k *Kafka) Restart(i int) {
	k.t.Helper()
	nd := k.node(i)
	nd.proc.Restart()
	var running []int
	for _, o := range k.nodes {
		if o.proc.Running() {
			running = append(running, o.id)
		}
	}
	if 2*len(running) <= len(k.nodes) {
		k.t.Logf("testenv: kafka broker %d started; %d of %d running, no controller quorum yet: not waiting for it to serve", i, len(running), len(k.nodes))
		return
	}
	k.waitReady(k.t, running, kafkaReadyTimeout)
}

// Log returns broker i's log so far (all its runs), for failure messages.
func (k *Kafka) Log(i int) string {
	return k.node(i).proc.Log()
}

func (k *Kafka) node(i int) *kafkaNode {
	k.t.Helper()
	if i < 0 || i >= len(k.nodes) {
		k.t.Fatalf("testenv: kafka broker %d: the cluster has brokers 0-%d", i, len(k.nodes)-1)
	}
	return k.nodes[i]
}

// tails is the end of every broker's log, for a failure message.
func (k *Kafka) tails(lines int) string {
	var b strings.Builder
	for _, nd := range k.nodes {
		fmt.Fprintf(&b, "--- kafka broker %d (%s, log %s):\n%s\n", nd.id, nd.addr, nd.proc.LogPath, nd.proc.Tail(lines))
	}
	return b.String()
}

func kafkaAll(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// writeConfig writes nd's server.properties and log4j2.properties.
func (k *Kafka) writeConfig(nd *kafkaNode) {
	k.t.Helper()
	n := len(k.nodes)
	voters := make([]string, n)
	for i, o := range k.nodes {
		voters[i] = fmt.Sprintf("%d@%s", o.id, o.ctrl)
	}
	rf := min(3, n)     // internal topics' replication
	minISR := min(2, n) // and their min.insync.replicas
	// The secure client listener, if any, comes beside PLAINTEXT, which
	// stays the brokers' own (and testenv's).
	listeners, advertised, protocols := k.sec.listeners(nd)
	props := []string{
		"node.id=" + strconv.Itoa(nd.id),
		"process.roles=broker,controller",
		"listeners=PLAINTEXT://" + nd.addr + ",CONTROLLER://" + nd.ctrl + listeners,
		"advertised.listeners=PLAINTEXT://" + nd.addr + advertised,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" + protocols,
		"inter.broker.listener.name=PLAINTEXT",
		"controller.listener.names=CONTROLLER",
		// A static quorum: every controller is named here, and the storage
		// format needs no --standalone / --initial-controllers.
		"controller.quorum.voters=" + strings.Join(voters, ","),
		"log.dirs=" + filepath.Join(nd.dir, "data"),
		"auto.create.topics.enable=false",
		"num.partitions=1",
		"default.replication.factor=" + strconv.Itoa(rf),
		"offsets.topic.replication.factor=" + strconv.Itoa(rf),
		// 50 partitions by default: each a leader election, and a log with
		// its preallocated index files, at a group's first use.
		"offsets.topic.num.partitions=4",
		"transaction.state.log.replication.factor=" + strconv.Itoa(rf),
		"transaction.state.log.min.isr=" + strconv.Itoa(minISR),
		"transaction.state.log.num.partitions=4",
		"share.coordinator.state.topic.replication.factor=" + strconv.Itoa(rf),
		"share.coordinator.state.topic.min.isr=" + strconv.Itoa(minISR),
		"share.coordinator.state.topic.num.partitions=1",
		"group.initial.rebalance.delay.ms=0",
		// A killed broker is fenced, and so dropped from every ISR, within
		// a few seconds (9 s and 30 s by default), so acks=all produce
		// moves on soon after a Kill.
		"broker.session.timeout.ms=6000",
		"broker.heartbeat.interval.ms=1000",
		"replica.lag.time.max.ms=10000",
		// Small logs: segments of 8 MiB with 1 MiB index files instead of
		// 1 GiB and 10 MiB, a cleaner with 8 MiB for its offset map
		// instead of 128 MiB of heap.
		"log.segment.bytes=8388608",
		"log.index.size.max.bytes=1048576",
		"log.cleaner.dedupe.buffer.size=8388608",
		"log.cleaner.threads=1",
		"num.network.threads=2",
		"num.io.threads=2",
		"background.threads=2",
		"num.recovery.threads.per.data.dir=1",
		"num.replica.fetchers=1",
	}
	props = append(props, k.sec.props()...)
	writeKafkaFile(k.t, filepath.Join(nd.dir, "server.properties"), strings.Join(props, "\n")+"\n")
	writeKafkaFile(k.t, filepath.Join(nd.dir, "log4j2.properties"), kafkaLog4j)
}

// kafkaLog4j logs to stdout, which the Process sends to kafka.log; the
// config dumps of every start (hundreds of lines each) are left out.
const kafkaLog4j = `status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
logger.kconfig.name = kafka.server.KafkaConfig
logger.kconfig.level = warn
`

func writeKafkaFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// kafkaClusterID is a random cluster id in Kafka's form: 16 bytes,
// URL-safe base64 without padding (what kafka-storage random-uuid prints,
// without starting a JVM for it). Like Kafka's Uuid.randomUuid it never
// starts with '-', which the storage tool would take for an option (one
// id in 64 did: "storage format: exit status 1").
func kafkaClusterID(t testing.TB) string {
	t.Helper()
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id
		}
	}
}

// kafkaFormat formats each node's log directory for the cluster, as
// kafka-storage.sh format does: one short JVM per node, all at once.
// extra are more arguments of the format command (SCRAM credentials).
func kafkaFormat(t testing.TB, java, libs string, nodes []*kafkaNode, clusterID string, extra []string) {
	t.Helper()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
				"-Dlog4j2.configurationFile="+filepath.Join(nd.dir, "log4j2.properties"),
				"-cp", filepath.Join(libs, "*"),
				"kafka.tools.StorageTool", "format", "-t", clusterID,
				"-c", filepath.Join(nd.dir, "server.properties"))
			cmd.Args = append(cmd.Args, extra...)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("kafka broker %d: storage format: %w\n%s", nd.id, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
