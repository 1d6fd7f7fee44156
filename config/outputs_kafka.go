package config

import (
	"fmt"
	"time"

	"pulse/kafkaclient"
	kafkaout "pulse/outputs/kafka"
	"pulse/protocol"
)

// OutputKafka is the type of an output that produces to Kafka; its acks and
// compressions are the kafka output's.
const (
	OutputKafka = "kafka"

	AcksAll    = kafkaout.AcksAll
	AcksLeader = kafkaout.AcksLeader
	AcksNone   = kafkaout.AcksNone

	KafkaCompressionZstd   = kafkaout.CompressionZstd
	KafkaCompressionLZ4    = kafkaout.CompressionLZ4
	KafkaCompressionSnappy = kafkaout.CompressionSnappy
	KafkaCompressionNone   = kafkaout.CompressionNone

	// DefaultKafkaTopic is a kafka output's topic when none is set.
	DefaultKafkaTopic = "pulse-{stream}"
)

// KafkaOutput is a kafka output's own fields, inline in Output beside the
// ones it shares with the others: compression (here Kafka's codec: zstd,
// lz4, snappy or none), timeout (a record's delivery timeout), max_in_flight
// (batches produced at once), retry_initial/retry_max (the pause before
// failed records are produced again) and tls.
//
//   - name: bus
//     type: kafka
//     stream: events
//     brokers: [kafka-1:9092, kafka-2:9092]
//     topic: logs-{app}        # {stream}, or any event field
//     default_topic: logs-other # for records without app
//     key: app
type KafkaOutput struct {
	Brokers []string `yaml:"brokers,omitempty"`
	// Topic may hold {stream} and {field} (a field's value per record).
	Topic string `yaml:"topic,omitempty"`
	// DefaultTopic takes the records whose field is missing, empty, or not
	// a legal part of a topic name; required when Topic has a field.
	DefaultTopic string `yaml:"default_topic,omitempty"`
	// Key is the event field whose value keys each record (fragments: a
	// dimension; by default their metric key).
	Key  string `yaml:"key,omitempty"`
	Acks string `yaml:"acks,omitempty"` // all (default, idempotent) | leader | none
	SASL *SASL  `yaml:"sasl,omitempty"`
}

// SASL authenticates a Kafka client.
type SASL struct {
	Mechanism string `yaml:"mechanism"` // plain | scram-sha-256 | scram-sha-512
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// Client returns s as the Kafka client takes it; nil for nil.
func (s *SASL) Client() *kafkaclient.SASL {
	if s == nil {
		return nil
	}
	return &kafkaclient.SASL{Mechanism: s.Mechanism, Username: s.Username, Password: s.Password}
}

// kafkaDefaults fills a kafka output's unset fields.
func (o *Output) kafkaDefaults() {
	if o.Kafka.Topic == "" {
		o.Kafka.Topic = DefaultKafkaTopic
	}
	if o.Kafka.Acks == "" {
		o.Kafka.Acks = kafkaout.DefaultAcks
	}
	if o.Compression == "" {
		o.Compression = kafkaout.DefaultCompression
	}
	if o.Timeout == 0 {
		o.Timeout = Duration(kafkaout.DefaultTimeout)
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = kafkaout.DefaultMaxInFlight
	}
	if o.RetryInitial == 0 {
		o.RetryInitial = Duration(kafkaout.DefaultRetryInitial)
	}
	if o.RetryMax == 0 {
		o.RetryMax = Duration(kafkaout.DefaultRetryMax)
	}
}

// validateKafka checks a kafka output's fields, and that no other type of
// output sets them.
func (o *Output) validateKafka(ck *checker, p string) {
	k := &o.Kafka
	if o.Type != OutputKafka {
		ck.onlyFor(p, "kafka outputs",
			set{"brokers", len(k.Brokers) > 0}, set{"topic", k.Topic != ""}, set{"default_topic", k.DefaultTopic != ""},
			set{"key", k.Key != ""}, set{"acks", k.Acks != ""}, set{"sasl", k.SASL != nil})
		return
	}
	checkBrokers(ck, p+".brokers", k.Brokers)
	if tmpl, err := kafkaout.ParseTopic(k.Topic, protocol.Stream(o.Stream)); err != nil {
		ck.addf(p+".topic", "%v", err)
	} else if tmpl.Fixed() == "" && k.DefaultTopic == "" {
		ck.addf(p+".default_topic", "topic %q names a field: set the topic of records without it", k.Topic)
	}
	if k.DefaultTopic != "" {
		if err := kafkaout.CheckTopicName(k.DefaultTopic); err != nil {
			ck.addf(p+".default_topic", "%v", err)
		}
	}
	if err := kafkaout.CheckAcks(k.Acks); err != nil {
		ck.addf(p+".acks", "must be all, leader or none, not %q", k.Acks)
	}
	if err := kafkaout.CheckCompression(o.Compression); err != nil {
		ck.addf(p+".compression", "a kafka output takes zstd, lz4, snappy or none, not %q", o.Compression)
	}
	if o.Timeout < Duration(time.Millisecond) {
		ck.addf(p+".timeout", "must be ≥ 1ms")
	}
	if o.MaxInFlight < 1 || o.MaxInFlight > 1024 {
		ck.addf(p+".max_in_flight", "must be between 1 and 1024")
	}
	if o.RetryInitial <= 0 || o.RetryMax < o.RetryInitial {
		ck.addf(p+".retry_max", "must be ≥ retry_initial (%v), and both > 0", o.RetryInitial)
	}
	checkClientTLS(ck, p+".tls", o.TLS)
	checkSASL(ck, p+".sasl", k.SASL)
	for _, f := range []struct {
		key, msg string
		set      bool
	}{{"endpoints", "only for http outputs (use brokers)", len(o.Endpoints) > 0},
		{"balance", "only for http outputs (records are partitioned by key)", o.Balance != ""},
		{"hash_field", "only for http outputs (use key)", o.HashField != "" || o.HashBuckets != 0},
		{"hash_failover", "only for http outputs", o.HashFailover != nil},
		{"auth_token", "only for http outputs (use sasl)", o.AuthToken != ""},
		{"path", "only for file outputs", o.Path != ""}} {
		if f.set {
			ck.addf(p+"."+f.key, "%s", f.msg)
		}
	}
}

// checkClientTLS checks the tls block of a client (an http or kafka
// output, a kafka input).
func checkClientTLS(ck *checker, p string, t *TLS) {
	if t == nil {
		return
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		ck.addf(p, "cert_file and key_file go together")
	}
	checkFiles(ck, p, t)
}

// checkBrokers checks a kafka client's broker list.
func checkBrokers(ck *checker, p string, brokers []string) {
	if len(brokers) == 0 {
		ck.addf(p, "at least one broker")
	}
	for j, b := range brokers {
		if err := kafkaclient.CheckBroker(b); err != nil {
			ck.addf(fmt.Sprintf("%s[%d]", p, j), "%v", err)
		}
	}
}

func checkSASL(ck *checker, p string, s *SASL) {
	if s == nil {
		return
	}
	if field, err := kafkaclient.CheckSASL(*s.Client()); err != nil {
		ck.addf(p+"."+field, "%v", err)
	}
}
