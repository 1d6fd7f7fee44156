package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/child"
)

// kafkaVersion is the Apache Kafka whose jars scripts/kafka-jars.sh
// fetches (testenv/kafka/pom.xml names it; a test checks that they agree).
// The demo is in the binary, away from the source tree, so it cannot read
// the pom: it looks for the jars where the script puts them.
const kafkaVersion = "4.4.0"

// ErrNoKafka is returned (wrapped) when the demo cannot run a broker: no
// jars, or no Java 17+. The message says how to get them.
var ErrNoKafka = errors.New("no Kafka broker to run")

// kafkaBrokerReady bounds the wait for the broker to serve: a JVM start is
// ~3-5 s on an idle 2-core machine, several times that on a loaded one.
const kafkaBrokerReady = 2 * time.Minute

// brokerJVM are the heap, GC and JIT testenv gives its brokers (see
// testenv/kafka.go: a small heap, the serial collector and C1 alone halve
// the CPU a broker spends getting ready). PULSE_KAFKA_JVM_OPTS replaces
// them, as it does there.
var brokerJVM = []string{
	"-Xmx512m", "-Xms64m",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-XX:+ExitOnOutOfMemoryError",
	"-XX:-UsePerfData",
	"-Djava.awt.headless=true",
}

// broker is a local one-node Kafka cluster (KRaft, combined broker and
// controller) in dir, run from the cached jars.
type broker struct {
	proc      *child.Process
	addr      string // PLAINTEXT listener, 127.0.0.1:port
	dir       string
	java      string
	libs      string
	clusterID string
}

// kafkaRuntime finds java (17 or newer: $JAVA_HOME/bin/java, else PATH)
// and the libs directory scripts/kafka-jars.sh fills ($PULSE_KAFKA_LIBS,
// else ~/.cache/pulse/kafka-VERSION/libs). Its errors wrap ErrNoKafka and
// say what to run.
func kafkaRuntime() (java, libs string, err error) {
	fetch := "run scripts/kafka-jars.sh in the Pulse source tree (it needs Java 17+ and Maven: apt-get install -y openjdk-17-jre-headless maven)"
	libs = os.Getenv("PULSE_KAFKA_LIBS")
	if libs == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", fmt.Errorf("%w: no home directory for the jar cache (%v): set PULSE_KAFKA_LIBS, or %s", ErrNoKafka, err, fetch)
		}
		libs = filepath.Join(home, ".cache", "pulse", "kafka-"+kafkaVersion, "libs")
	}
	// The script writes .complete last: without it the copy is partial.
	_, errMarker := os.Stat(filepath.Join(libs, ".complete"))
	_, errJar := os.Stat(filepath.Join(libs, "kafka_2.13-"+kafkaVersion+".jar"))
	if errMarker != nil || errJar != nil {
		return "", "", fmt.Errorf("%w: the jars of Apache Kafka %s are not in %s: %s", ErrNoKafka, kafkaVersion, libs, fetch)
	}
	java = "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); isExecutable(p) {
			java = p
		}
	}
	java, err = exec.LookPath(java)
	if err != nil {
		return "", "", fmt.Errorf("%w: no java: Kafka %s needs Java 17 or newer (apt-get install -y openjdk-17-jre-headless, or set JAVA_HOME)", ErrNoKafka, kafkaVersion)
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("%w: %s -version: %v\n%s", ErrNoKafka, java, err, out)
	}
	if major := javaMajor(string(out)); major < 17 {
		return "", "", fmt.Errorf("%w: %s is Java %d: Kafka %s needs 17 or newer (set JAVA_HOME)", ErrNoKafka, java, major, kafkaVersion)
	}
	return java, libs, nil
}

// javaMajor reads the major version from java -version's output
// (`openjdk version "17.0.15"` is 17, `java version "1.8.0_392"` is 8); 0
// when there is none.
func javaMajor(out string) int {
	m := regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`).FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	major, _ := strconv.Atoi(m[1])
	if major == 1 && m[2] != "" {
		major, _ = strconv.Atoi(m[2])
	}
	return major
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startBroker writes a one-node cluster's config into dir, formats its
// storage and starts the JVM as a child of g, and returns once the broker
// serves metadata with an active controller.
func startBroker(ctx context.Context, g *group, dir string) (*broker, error) {
	java, libs, err := kafkaRuntime()
	if err != nil {
		return nil, err
	}
	b := &broker{dir: dir, java: java, libs: libs}
	ctrl := ""
	if b.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	if ctrl, err = freeAddr(); err != nil {
		return nil, err
	}
	if b.clusterID, err = newClusterID(); err != nil {
		return nil, err
	}
	if err := b.writeConfig(ctrl); err != nil {
		return nil, err
	}
	if err := b.format(ctx); err != nil {
		return nil, err
	}
	jvm := brokerJVM
	if opts := os.Getenv("PULSE_KAFKA_JVM_OPTS"); opts != "" {
		jvm = strings.Fields(opts)
	}
	args := append([]string{java}, jvm...)
	args = append(args,
		"-XX:ErrorFile="+filepath.Join(dir, "hs_err_%p.log"),
		"-Dlog4j2.configurationFile="+filepath.Join(dir, "log4j2.properties"),
		"-cp", filepath.Join(libs, "*"),
		"kafka.Kafka", filepath.Join(dir, "server.properties"))
	if b.proc, err = g.startProgram("kafka", args...); err != nil {
		return nil, err
	}
	if err := b.waitReady(ctx, kafkaBrokerReady); err != nil {
		return nil, err
	}
	return b, nil
}

// startProgram starts any program (not the pulse binary) as a child of the
// group, logging to dir/name.log, stopped and reaped with the others.
func (g *group) startProgram(name string, argv ...string) (*child.Process, error) {
	p := &child.Process{Name: name, Args: argv, LogPath: filepath.Join(g.dir, name+".log"), Setpgid: true}
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	g.procs = append(g.procs, p)
	return p, nil
}

// writeConfig writes server.properties and log4j2.properties: testenv's
// broker settings for one node (small logs and indexes, few threads, a
// quick group start, no topic auto-creation: the demo creates its topics
// with the partitions and configs it wants).
func (b *broker) writeConfig(ctrl string) error {
	props := []string{
		"node.id=0",
		"process.roles=broker,controller",
		"listeners=PLAINTEXT://" + b.addr + ",CONTROLLER://" + ctrl,
		"advertised.listeners=PLAINTEXT://" + b.addr,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name=PLAINTEXT",
		"controller.listener.names=CONTROLLER",
		"controller.quorum.voters=0@" + ctrl,
		"log.dirs=" + filepath.Join(b.dir, "data"),
		"auto.create.topics.enable=false",
		"num.partitions=1",
		"default.replication.factor=1",
		"offsets.topic.replication.factor=1",
		"offsets.topic.num.partitions=4",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=4",
		"share.coordinator.state.topic.replication.factor=1",
		"share.coordinator.state.topic.min.isr=1",
		"share.coordinator.state.topic.num.partitions=1",
		"group.initial.rebalance.delay.ms=0",
		"log.segment.bytes=8388608",
		"log.index.size.max.bytes=1048576",
		"log.cleaner.dedupe.buffer.size=8388608",
		"log.cleaner.threads=1",
		"num.network.threads=2",
		"num.io.threads=2",
		"background.threads=2",
		"num.recovery.threads.per.data.dir=1",
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return fmt.Errorf("demo: kafka: %w", err)
	}
	for name, content := range map[string]string{
		"server.properties": strings.Join(props, "\n") + "\n",
		"log4j2.properties": brokerLog4j,
	} {
		if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("demo: kafka: %w", err)
		}
	}
	return nil
}

// brokerLog4j logs to stdout (the child's log file), without the config
// dumps of every start.
const brokerLog4j = `status = warn
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

// format formats the log directory, as kafka-storage.sh format does.
func (b *broker) format(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, b.java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
		"-Dlog4j2.configurationFile="+filepath.Join(b.dir, "log4j2.properties"),
		"-cp", filepath.Join(b.libs, "*"),
		"kafka.tools.StorageTool", "format", "-t", b.clusterID, "-c", filepath.Join(b.dir, "server.properties"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("demo: kafka: storage format: %w\n%s", err, out)
	}
	return nil
}

// newClusterID is a random cluster id in Kafka's form (16 bytes, URL-safe
// base64 without padding) that does not start with '-', which the storage
// tool would take for an option.
func newClusterID() (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("demo: kafka: cluster id: %w", err)
		}
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id, nil
		}
	}
}

// client is a franz-go client of the broker.
func (b *broker) client(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.DialTimeout(2 * time.Second)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("demo: kafka client: %w", err)
	}
	return cl, nil
}

// waitReady polls the broker's metadata until it names an active
// controller, the broker exits, or timeout passes.
func (b *broker) waitReady(ctx context.Context, timeout time.Duration) error {
	cl, err := b.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(timeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		md, err := adm.BrokerMetadata(rctx)
		cancel()
		if err == nil && md.Controller >= 0 && len(md.Brokers) == 1 {
			return nil
		}
		if !b.proc.Running() {
			return fmt.Errorf("demo: kafka broker exited (code %d) before serving:\n%s", b.proc.ExitCode(), b.proc.TailBytes(3000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: kafka broker not serving after %v (last: %v); its log is %s", timeout, err, b.proc.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// topic is a topic the demo creates: its name, partitions and configs.
type topic struct {
	name       string
	partitions int32
	configs    map[string]string
}

// createTopics creates the topics (replication 1) and waits until each
// partition has a leader, so producers started next find them.
func (b *broker) createTopics(ctx context.Context, topics ...topic) error {
	cl, err := b.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, t := range topics {
		cfg := make(map[string]*string, len(t.configs))
		for k, v := range t.configs {
			cfg[k] = kadm.StringPtr(v)
		}
		resp, err := adm.CreateTopic(ctx, t.partitions, 1, cfg, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("demo: kafka: create topic %s: %w", t.name, err)
		}
	}
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.name
	}
	for {
		md, err := adm.Metadata(ctx, names...)
		if err == nil && topicsLed(md, topics) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: kafka: topics %v not ready: %v (%w)", names, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// topicsLed reports whether md shows every partition of topics with a leader.
func topicsLed(md kadm.Metadata, topics []topic) bool {
	for _, t := range topics {
		td, ok := md.Topics[t.name]
		if !ok || td.Err != nil || len(td.Partitions) != int(t.partitions) {
			return false
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return false
			}
		}
	}
	return true
}
