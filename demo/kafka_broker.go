package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/child"
	"pulse/kafkajvm"
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

// broker is a local one-node Kafka cluster (KRaft, combined broker and
// controller) in dir, run from the cached jars.
type broker struct {
	proc *child.Process
	addr string // PLAINTEXT listener, 127.0.0.1:port
}

// kafkaRuntime finds java (17 or newer: $JAVA_HOME/bin/java, else PATH)
// and the libs directory scripts/kafka-jars.sh fills ($PULSE_KAFKA_LIBS,
// else ~/.cache/pulse/kafka-VERSION/libs). Its errors wrap ErrNoKafka and
// say what to run.
func kafkaRuntime() (java, libs string, err error) {
	fetch := "run scripts/kafka-jars.sh in the Pulse source tree (it needs Java 17+ and Maven: apt-get install -y openjdk-17-jre-headless maven)"
	if libs, err = kafkajvm.LibsDir(kafkaVersion); err != nil {
		return "", "", fmt.Errorf("%w: %v, or %s", ErrNoKafka, err, fetch)
	}
	// The script writes .complete last: without it the copy is partial.
	_, errMarker := os.Stat(filepath.Join(libs, ".complete"))
	_, errJar := os.Stat(filepath.Join(libs, "kafka_2.13-"+kafkaVersion+".jar"))
	if errMarker != nil || errJar != nil {
		return "", "", fmt.Errorf("%w: the jars of Apache Kafka %s are not in %s: %s", ErrNoKafka, kafkaVersion, libs, fetch)
	}
	if java, err = kafkajvm.Java(); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrNoKafka, err)
	}
	return java, libs, nil
}

// startBroker writes a one-node cluster's config into dir, formats its
// storage and starts the JVM as a child of g, and returns once the broker
// serves metadata with an active controller.
func startBroker(ctx context.Context, g *group, dir string) (*broker, error) {
	java, libs, err := kafkaRuntime()
	if err != nil {
		return nil, err
	}
	b := &broker{}
	if b.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	ctrl, err := freeAddr()
	if err != nil {
		return nil, err
	}
	clusterID, err := kafkajvm.ClusterID()
	if err != nil {
		return nil, fmt.Errorf("demo: kafka: %w", err)
	}
	err = kafkajvm.WriteConfig(kafkajvm.Node{Dir: dir, Addr: b.addr, Ctrl: ctrl, Voters: []string{"0@" + ctrl}})
	if err != nil {
		return nil, fmt.Errorf("demo: kafka: %w", err)
	}
	if err := kafkajvm.Format(ctx, java, libs, dir, clusterID); err != nil {
		return nil, fmt.Errorf("demo: kafka: %w", err)
	}
	args := append([]string{java}, kafkajvm.BrokerArgs(dir, libs)...)
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
