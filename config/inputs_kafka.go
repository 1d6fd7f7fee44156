package config

import (
	"fmt"
	"time"

	kafkain "pulse/inputs/kafka"
)

// InputKafka is the type of an input that consumes Kafka topics as a
// member of a consumer group; its start offsets are the kafka input's, its
// formats those of an http input (lines, ndjson, pulse).
const (
	InputKafka = "kafka"

	StartOffsetEarliest = kafkain.StartEarliest
	StartOffsetLatest   = kafkain.StartLatest
)

// KafkaInput is a kafka input's own fields, inline in Input beside the
// ones it shares with the http input: format (lines, ndjson, or pulse for a
// merger's fragments) and tls.
//
//   - name: bus
//     type: kafka
//     brokers: [kafka-1:9092]
//     topics: [logs]
//     group: pulse-archive
//     start_offset: earliest
type KafkaInput struct {
	Topics []string `yaml:"topics,omitempty"`
	Group  string   `yaml:"group,omitempty"`
	// StartOffset is where a partition the group never committed starts:
	// earliest (default) or latest.
	StartOffset string `yaml:"start_offset,omitempty"`
	// SessionTimeout is how long the group waits for a member gone silent
	// (a kill -9) before moving its partitions; default 10s.
	SessionTimeout Duration `yaml:"session_timeout,omitempty"`
	// DrainTimeout bounds the wait for a revoked partition's batches to be
	// stored before it is committed and let go; default 10s.
	DrainTimeout Duration `yaml:"drain_timeout,omitempty"`
	// Brokers and SASL as for a kafka output.
	Brokers []string `yaml:"brokers,omitempty"`
	SASL    *SASL    `yaml:"sasl,omitempty"`
}

// kafkaDefaults fills a kafka input's unset fields; a merger's takes
// fragments in the pulse format.
func (in *Input) kafkaDefaults(merger bool) {
	if in.Format == "" {
		in.Format = kafkain.DefaultFormat
		if merger {
			in.Format = FormatPulse
		}
	}
	if in.Kafka.StartOffset == "" {
		in.Kafka.StartOffset = kafkain.DefaultStartOffset
	}
	if in.Kafka.SessionTimeout == 0 {
		in.Kafka.SessionTimeout = Duration(kafkain.DefaultSessionTimeout)
	}
	if in.Kafka.DrainTimeout == 0 {
		in.Kafka.DrainTimeout = Duration(kafkain.DefaultDrainTimeout)
	}
}

// validateKafka checks a kafka input's fields, and that no other type of
// input sets them.
func (in *Input) validateKafka(ck *checker, p string) {
	k := &in.Kafka
	if in.Type != InputKafka {
		ck.onlyFor(p, "kafka inputs",
			set{"brokers", len(k.Brokers) > 0}, set{"topics", len(k.Topics) > 0}, set{"group", k.Group != ""},
			set{"start_offset", k.StartOffset != ""}, set{"session_timeout", k.SessionTimeout != 0},
			set{"drain_timeout", k.DrainTimeout != 0}, set{"sasl", k.SASL != nil})
		return
	}
	checkBrokers(ck, p+".brokers", k.Brokers)
	if len(k.Topics) == 0 {
		ck.addf(p+".topics", "at least one topic")
	}
	for j, t := range k.Topics {
		if t == "" {
			ck.addf(fmt.Sprintf("%s.topics[%d]", p, j), "empty topic name")
		}
	}
	if k.Group == "" {
		ck.addf(p+".group", "a kafka input needs its consumer group")
	}
	if err := kafkain.CheckFormat(in.Format); err != nil {
		ck.addf(p+".format", "must be lines, ndjson or pulse, not %q", in.Format)
	}
	if err := kafkain.CheckStartOffset(k.StartOffset); err != nil {
		ck.addf(p+".start_offset", "must be earliest or latest, not %q", k.StartOffset)
	}
	if k.SessionTimeout < Duration(time.Second) {
		ck.addf(p+".session_timeout", "must be ≥ 1s")
	}
	if k.DrainTimeout < Duration(time.Millisecond) {
		ck.addf(p+".drain_timeout", "must be ≥ 1ms")
	}
	checkClientTLS(ck, p+".tls", in.TLS)
	checkSASL(ck, p+".sasl", k.SASL)
	if in.Listen != "" {
		ck.addf(p+".listen", "only for http and syslog inputs")
	}
	if len(in.Paths) > 0 {
		ck.addf(p+".paths", "only for file inputs")
	}
}
