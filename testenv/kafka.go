package testenv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pulse/kafkajvm"
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
	clusterID, err := kafkajvm.ClusterID()
	if err != nil {
		t.Fatalf("testenv: kafka: %v", err)
	}
	start := time.Now()
	for _, nd := range k.nodes {
		k.writeConfig(nd)
	}
	kafkaFormat(t, java, libs, k.nodes, clusterID, sec.formatArgs())
	formatted := time.Now()
	for _, nd := range k.nodes {
		nd.proc = Start(t, nd.dir, "kafka", java, kafkajvm.BrokerArgs(nd.dir, libs)...)
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

// writeConfig writes nd's server.properties and log4j2.properties, with
// the secure client listener, if any, beside PLAINTEXT, which stays the
// brokers' own (and testenv's).
func (k *Kafka) writeConfig(nd *kafkaNode) {
	k.t.Helper()
	voters := make([]string, len(k.nodes))
	for i, o := range k.nodes {
		voters[i] = fmt.Sprintf("%d@%s", o.id, o.ctrl)
	}
	listeners, advertised, protocols := k.sec.listeners(nd)
	err := kafkajvm.WriteConfig(kafkajvm.Node{
		ID: nd.id, Dir: nd.dir, Addr: nd.addr, Ctrl: nd.ctrl, Voters: voters,
		Listeners: listeners, Advertised: advertised, Protocols: protocols, Props: k.sec.props(),
	})
	if err != nil {
		k.t.Fatalf("testenv: %v", err)
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
			if err := kafkajvm.Format(context.Background(), java, libs, nd.dir, clusterID, extra...); err != nil {
				errs[i] = fmt.Errorf("kafka broker %d: %w", nd.id, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
