package kafkajvm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Node is one combined broker+controller of a cluster on loopback.
type Node struct {
	ID         int
	Dir        string // server.properties, log4j2.properties, data/
	Addr, Ctrl string // PLAINTEXT (brokers' own and clients') and CONTROLLER host:port
	// Voters are every controller of the cluster, "id@host:port".
	Voters []string
	// Listeners, Advertised and Protocols are appended to the listener
	// properties (",CLIENT://..." and ",CLIENT:SASL_SSL"), Props to the
	// rest: a secure client listener beside PLAINTEXT.
	Listeners, Advertised, Protocols string
	Props                            []string
}

// WriteConfig writes n's server.properties and log4j2.properties: settings
// for a small local cluster (small logs and indexes, few threads, a quick
// group start, killed brokers fenced in seconds, no topic auto-creation).
func WriteConfig(n Node) error {
	rf := min(3, len(n.Voters))     // internal topics' replication
	minISR := min(2, len(n.Voters)) // and their min.insync.replicas
	props := []string{
		"node.id=" + strconv.Itoa(n.ID),
		"process.roles=broker,controller",
		"listeners=PLAINTEXT://" + n.Addr + ",CONTROLLER://" + n.Ctrl + n.Listeners,
		"advertised.listeners=PLAINTEXT://" + n.Addr + n.Advertised,
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" + n.Protocols,
		"inter.broker.listener.name=PLAINTEXT",
		"controller.listener.names=CONTROLLER",
		// A static quorum: every controller is named here, and the storage
		// format needs no --standalone / --initial-controllers.
		"controller.quorum.voters=" + strings.Join(n.Voters, ","),
		"log.dirs=" + filepath.Join(n.Dir, "data"),
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
		// moves on soon after a kill.
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
	props = append(props, n.Props...)
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		return fmt.Errorf("kafka broker %d: %w", n.ID, err)
	}
	for name, content := range map[string]string{
		"server.properties": strings.Join(props, "\n") + "\n",
		"log4j2.properties": log4j,
	} {
		if err := os.WriteFile(filepath.Join(n.Dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("kafka broker %d: %w", n.ID, err)
		}
	}
	return nil
}

// log4j logs to stdout (the supervisor's log file of the broker), without
// the config dumps of every start (hundreds of lines each).
const log4j = `status = warn
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
