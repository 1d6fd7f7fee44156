// Package kafka is the kafka output: it produces every record of the
// batches in its disk buffer (one Kafka record per event, fragment or
// snapshot) to a topic of an Apache Kafka cluster with franz-go, and
// acknowledges a batch to its buffer only once the brokers acknowledged
// every record of it.
//
// What the buffer holds. The agent stores a kafka output's batches in the
// pulse framing without compression (the records exact whatever bytes they
// hold, a varint of framing each, no CPU spent on compressing for the disk:
// Kafka compresses on the wire), except with encoding: ndjson, stored as
// NDJSON, one JSON object per line, which JSON escaping keeps exact too. A
// payload tells its own framing (it starts with protocol.Magic or a zstd
// frame, else it is lines), so batches stored before a configuration change
// still decode.
//
// Delivery. Up to MaxInFlight batches are produced at once. A record that
// fails for a reason that may pass (brokers down, leader moving, not enough
// in-sync replicas) is failed back by the client after Timeout and produced
// again, alone of its batch, after a backoff: the batch stays out of the
// buffer's reach meanwhile, and no further batch is taken beyond
// MaxInFlight, so during an outage the buffer fills to its cap and pushes
// back as it does for an HTTP cluster. A record the brokers refuse for good
// (too large, invalid, corrupt) is produced once more on its own, so that
// the records batched with it are not blamed for it, and then set aside in
// the dead-letter directory and counted, never retried forever. When Run
// starts it reads the topic's max.message.bytes (a fixed topic, or the
// default one) and keeps record batches within it, so that a topic with a
// small limit does not send every batch down that slow path; a record
// larger than the limit before compression is then refused by the client
// itself, as the Java producer does with max.request.size.
package kafka

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"pulse/kafkaclient"
	"pulse/lograte"
	"pulse/outputs"
	"pulse/protocol"
)

// Acknowledgements a produce request waits for.
const (
	AcksAll    = "all"    // every in-sync replica (the default; with the idempotent producer)
	AcksLeader = "leader" // the partition leader only; not idempotent
	AcksNone   = "none"   // none at all: a record may be lost without notice; not idempotent
)

// Compressions of produced record batches.
const (
	CompressionZstd   = "zstd"
	CompressionLZ4    = "lz4"
	CompressionSnappy = "snappy"
	CompressionNone   = "none"
)

// Defaults of Options, taken where a field is zero.
const (
	DefaultAcks         = AcksAll
	DefaultCompression  = CompressionZstd
	DefaultMaxInFlight  = 16               // batches produced at once: fewer leave a 2-core agent at half kcat's rate (docs/kafka.md)
	DefaultTimeout      = 30 * time.Second // a record's delivery timeout
	DefaultRetryInitial = 500 * time.Millisecond
	DefaultRetryMax     = 10 * time.Second
)

// Options configure a kafka output. Zero values take the defaults.
type Options struct {
	Name string // output name, for logs and dead letters; default "kafka"
	// Stream is what the records are: protocol.StreamEvents (default),
	// StreamFragments or StreamSnapshots. It fills {stream} in Topic and
	// picks the default key (fragments: the metric key).
	Stream protocol.Stream

	Brokers []string // seed brokers, host:port; at least one
	// Topic names the topic of each record. {stream} stands for Stream;
	// any other {field} for the value of that field of the record (see
	// Key for what a field is), e.g. "logs-{app}". A record without the
	// field, or whose value is empty, holds a character a topic name
	// cannot (only letters, digits, '.', '_' and '-'), or makes the name
	// longer than 249 bytes, goes to DefaultTopic, and is counted.
	Topic        string
	DefaultTopic string // required when Topic has a {field}
	// Key names the field whose value is each record's key, so that
	// records of one value share a partition, in order. An event's field
	// is a logfmt key or a JSON field (a dotted path); in the NDJSON
	// encoding, a field of the wrapping object (host, input, source) or
	// else of the message. A fragment's is a dimension. A snapshot's is a
	// JSON field. Empty, or missing in a record: no key, except for
	// fragments, keyed by their metric key so that a key's fragments meet
	// at one partition (and one merger of a consumer group), and for
	// snapshots, keyed by metric key and window so that a compacted topic
	// keeps the latest snapshot of each (snapshot_key.go).
	Key string

	Acks        string // AcksAll (default), AcksLeader or AcksNone
	Compression string // CompressionZstd (default), CompressionLZ4, CompressionSnappy or CompressionNone
	MaxInFlight int    // batches produced at once; default DefaultMaxInFlight
	// Timeout is how long a record may wait for its acknowledgement,
	// retried by the client meanwhile, before it fails back to the output
	// (franz-go's RecordDeliveryTimeout); default DefaultTimeout.
	Timeout      time.Duration
	RetryInitial time.Duration // first pause before producing failed records again; default DefaultRetryInitial
	RetryMax     time.Duration // cap of that backoff; default DefaultRetryMax

	TLS  *tls.Config       // nil: plaintext
	SASL *kafkaclient.SASL // nil: no authentication
	// ClientID is sent to the brokers; default "pulse".
	ClientID string

	DeadLetterDir string       // required: where records refused for good are set aside
	Logger        *slog.Logger // default slog.Default()
}

// Stats counts what a kafka output did since it was created.
type Stats struct {
	Batches      int64            // batches done with (every record acknowledged or set aside) and acknowledged
	Records      int64            // records the brokers acknowledged
	Bytes        int64            // key and value bytes of those records
	Retries      int64            // records produced again after a failure
	Failures     int64            // failed record attempts, of any reason
	DeadRecords  int64            // records refused for good and set aside
	DefaultTopic int64            // records sent to DefaultTopic for want of a field
	InFlight     int              // batches taken from the buffer and not yet done with
	Errors       map[string]int64 // failed record attempts by reason (Kafka's error name in lower case, record_timeout, ...)
}

// Kafka is the kafka output.
type Kafka struct {
	opts    Options
	log     *slog.Logger
	client  kafkaclient.Options
	topic   *TopicTemplate
	dead    *outputs.DeadLetters
	running atomic.Bool

	failLog, deadLog, badLog lograte.Limiter

	batches, records, bytes     atomic.Int64
	retries, failures, deadRecs atomic.Int64
	defaultTopic, inFlight      atomic.Int64
	errMu                       sync.Mutex
	errs                        map[string]int64
}

// logEvery is how often a repeated failure is logged, per output and kind.
const logEvery = 5 * time.Second

// New checks opts and returns a kafka output; it creates DeadLetterDir if
// needed. It does not connect: Run does.
func New(opts Options) (*Kafka, error) {
	if opts.Name == "" {
		opts.Name = "kafka"
	}
	fail := func(err error) (*Kafka, error) { return nil, fmt.Errorf("kafka output %q: %w", opts.Name, err) }
	if opts.Stream == "" {
		opts.Stream = protocol.StreamEvents
	}
	switch opts.Stream {
	case protocol.StreamEvents, protocol.StreamFragments, protocol.StreamSnapshots:
	default:
		return fail(fmt.Errorf("unknown stream %q", opts.Stream))
	}
	opts.Acks = cmp.Or(opts.Acks, DefaultAcks)
	if err := CheckAcks(opts.Acks); err != nil {
		return fail(err)
	}
	opts.Compression = cmp.Or(opts.Compression, DefaultCompression)
	if _, err := codec(opts.Compression); err != nil {
		return fail(err)
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = DefaultRetryInitial
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	opts.RetryMax = max(opts.RetryMax, opts.RetryInitial)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	tmpl, err := ParseTopic(opts.Topic, opts.Stream)
	if err != nil {
		return fail(err)
	}
	if tmpl.static == "" {
		if opts.DefaultTopic == "" {
			return fail(fmt.Errorf("topic %q names a field: a default topic is required for records without it", opts.Topic))
		}
		if err := CheckTopicName(opts.DefaultTopic); err != nil {
			return fail(fmt.Errorf("default topic: %w", err))
		}
	}
	tmpl.fallback = opts.DefaultTopic
	client := kafkaclient.Options{
		Brokers: opts.Brokers, TLS: opts.TLS, SASL: opts.SASL, ClientID: opts.ClientID,
		Logger: opts.Logger, Component: "output", Name: opts.Name,
	}
	if _, err := client.ClientOpts(); err != nil {
		return fail(err)
	}
	dead, err := outputs.NewDeadLetters(opts.DeadLetterDir, opts.Name)
	if err != nil {
		return fail(err)
	}
	return &Kafka{
		opts:    opts,
		log:     opts.Logger.With("output", opts.Name),
		client:  client,
		topic:   tmpl,
		dead:    dead,
		failLog: lograte.Limiter{Every: logEvery},
		deadLog: lograte.Limiter{Every: logEvery},
		badLog:  lograte.Limiter{Every: logEvery},
		errs:    map[string]int64{},
	}, nil
}

// CheckAcks reports whether a is one of the acks values.
func CheckAcks(a string) error {
	switch a {
	case AcksAll, AcksLeader, AcksNone:
		return nil
	}
	return fmt.Errorf("acks must be %s, %s or %s, not %q", AcksAll, AcksLeader, AcksNone, a)
}

// CheckCompression reports whether c is one of the compressions.
func CheckCompression(c string) error {
	_, err := codec(c)
	return err
}

// Stats returns the output's counters.
func (k *Kafka) Stats() Stats {
	k.errMu.Lock()
	errs := make(map[string]int64, len(k.errs))
	for r, n := range k.errs {
		errs[r] = n
	}
	k.errMu.Unlock()
	return Stats{
		Batches:      k.batches.Load(),
		Records:      k.records.Load(),
		Bytes:        k.bytes.Load(),
		Retries:      k.retries.Load(),
		Failures:     k.failures.Load(),
		DeadRecords:  k.deadRecs.Load(),
		DefaultTopic: k.defaultTopic.Load(),
		InFlight:     int(k.inFlight.Load()),
		Errors:       errs,
	}
}

// countFailure counts n failed record attempts of one reason.
func (k *Kafka) countFailure(reason string, n int) {
	k.failures.Add(int64(n))
	k.errMu.Lock()
	k.errs[reason] += int64(n)
	k.errMu.Unlock()
}
