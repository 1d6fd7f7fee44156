// Package kafka is the kafka input: a member of a Kafka consumer group
// that emits the records of its partitions as event batches, and commits a
// partition's offset only past records that are stored in every output's
// buffer (the same rule as a file input's checkpoint).
//
// Each fetched run of a partition's records becomes one event.Batch
// (Replayable: Kafka gives them again until the offset moves past them),
// whose Commit the pipeline calls once the batch is stored everywhere.
// Commits may come out of order; a partition's offset moves only over a
// contiguous run of stored batches, and is committed to the group within
// about commitEvery. A record that does not decode in the input's format is
// counted, logged with its topic, partition and offset, and skipped: the
// offset moves past it with its batch.
//
// Rebalances. Polls block rebalances until the polled records are emitted
// (kgo.BlockRebalanceOnPoll). A partition revoked from this member is
// drained first: the revocation waits, up to DrainTimeout, for the Commit
// of every batch emitted from it, commits its offset, and only then lets
// the partition go, so that its next owner starts exactly past what this
// member stored. A partition lost (the session expired, the member was
// fenced) cannot be committed any more: its uncommitted records are read
// again by the next owner.
package kafka

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"pulse/kafkaclient"
	"pulse/lograte"
)

// Formats of record values, as the HTTP input names them.
const (
	FormatLines  = "lines"  // a value is one event, as is (a trailing newline dropped)
	FormatNDJSON = "ndjson" // a value is one JSON object
	// FormatPulse: a value is one record of the pulse stream, as the kafka
	// output produces it: a metric fragment (Stream fragments, a merger's
	// input) or a raw event.
	FormatPulse = "pulse"
)

// Streams a pulse-format input takes.
const (
	StreamEvents    = "events"
	StreamFragments = "fragments"
)

// Where a group with no committed offset for a partition starts.
const (
	StartEarliest = "earliest" // the oldest record the partition keeps (the default)
	StartLatest   = "latest"   // records produced from now on
)

// Defaults of Options.
const (
	DefaultFormat         = FormatLines
	DefaultStartOffset    = StartEarliest
	DefaultSessionTimeout = 10 * time.Second
	DefaultDrainTimeout   = 10 * time.Second
	DefaultMaxBatchEvents = 5000
	DefaultMaxBatchBytes  = 1 << 20
)

// Options configure a kafka input. Zero values take the defaults.
type Options struct {
	Name    string   // input name (goes into event.Batch.Input); default "kafka"
	Brokers []string // seed brokers, host:port; at least one
	Topics  []string // topics to consume; at least one
	Group   string   // consumer group; required
	Format  string   // FormatLines (default), FormatNDJSON or FormatPulse
	Stream  string   // with FormatPulse: StreamEvents (default) or StreamFragments
	// StartOffset is where a partition without a committed offset in the
	// group starts: StartEarliest (default) or StartLatest.
	StartOffset string

	TLS      *tls.Config
	SASL     *kafkaclient.SASL
	ClientID string // default "pulse"

	// SessionTimeout is how long the group waits for a silent member (a
	// kill -9) before its partitions move; default 10s (the brokers bound
	// it by group.min/max.session.timeout.ms).
	SessionTimeout time.Duration
	// DrainTimeout bounds the wait for the batches of a revoked partition,
	// and of every partition when Run stops, to be stored; default 10s.
	DrainTimeout time.Duration
	// MaxBatchEvents and MaxBatchBytes bound one emitted batch.
	MaxBatchEvents int
	MaxBatchBytes  int

	Logger *slog.Logger // default slog.Default()
}

// Stats counts what a kafka input did since it was created.
type Stats struct {
	Records      int64            // records emitted as events
	Bytes        int64            // their value bytes
	Batches      int64            // batches emitted
	Bad          map[string]int64 // records skipped, by reason (empty, not_json, bad_fragment, rejected)
	Commits      int64            // offset commits that succeeded
	CommitErrors int64            // offset commits that failed (tried again)
	FetchErrors  int64            // errors fetches reported
	Revoked      int64            // partitions revoked from this member
	Undrained    int64            // of those, released before all their batches were stored (DrainTimeout)
	Lost         int64            // partitions lost without a commit
	// TurnedAway counts the connections the brokers turned away for the
	// input's TLS or SASL settings, by reason (tls_certificate,
	// sasl_authentication_failed, ...): the client keeps trying, and
	// nothing else tells that it cannot read.
	TurnedAway map[string]int64
}

// Input is the kafka input.
type Input struct {
	opts    Options
	log     *slog.Logger
	client  kafkaclient.Options
	running atomic.Bool

	badLog, errLog lograte.Limiter

	records, bytes, batches      atomic.Int64
	commits, commitErrs, fetchEr atomic.Int64
	revoked, undrained, lost     atomic.Int64
	badMu                        sync.Mutex
	bad                          map[string]int64
	turnedAway                   map[string]int64 // under badMu
}

// logEvery bounds the lines a stream of bad records or failing commits
// logs.
const logEvery = 5 * time.Second

// New checks opts and returns a kafka input. It does not connect: Run does.
func New(opts Options) (*Input, error) {
	opts.Name = cmp.Or(opts.Name, "kafka")
	fail := func(err error) (*Input, error) { return nil, fmt.Errorf("kafka input %q: %w", opts.Name, err) }
	opts.Format = cmp.Or(opts.Format, DefaultFormat)
	opts.Stream = cmp.Or(opts.Stream, StreamEvents)
	opts.StartOffset = cmp.Or(opts.StartOffset, DefaultStartOffset)
	opts.SessionTimeout = cmp.Or(opts.SessionTimeout, DefaultSessionTimeout)
	opts.DrainTimeout = cmp.Or(opts.DrainTimeout, DefaultDrainTimeout)
	opts.MaxBatchEvents = cmp.Or(opts.MaxBatchEvents, DefaultMaxBatchEvents)
	opts.MaxBatchBytes = cmp.Or(opts.MaxBatchBytes, DefaultMaxBatchBytes)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := CheckFormat(opts.Format); err != nil {
		return fail(err)
	}
	if opts.Stream != StreamEvents && opts.Stream != StreamFragments {
		return fail(fmt.Errorf("unknown stream %q", opts.Stream))
	}
	client, err := opts.groupClient()
	if err != nil {
		return fail(err)
	}
	in := &Input{
		opts:       opts,
		log:        opts.Logger.With("input", opts.Name),
		badLog:     lograte.Limiter{Every: logEvery},
		errLog:     lograte.Limiter{Every: logEvery},
		bad:        map[string]int64{},
		turnedAway: map[string]int64{},
	}
	client.OnTurnedAway = func(reason string) {
		in.badMu.Lock()
		in.turnedAway[reason]++
		in.badMu.Unlock()
	}
	in.client = client
	return in, nil
}

// groupClient checks what a group member needs (a start offset, topics,
// a group) and returns its client's options, checked too.
func (opts *Options) groupClient() (kafkaclient.Options, error) {
	if err := CheckStartOffset(opts.StartOffset); err != nil {
		return kafkaclient.Options{}, err
	}
	if len(opts.Topics) == 0 {
		return kafkaclient.Options{}, errors.New("no topics")
	}
	if opts.Group == "" {
		return kafkaclient.Options{}, errors.New("no group")
	}
	client := kafkaclient.Options{
		Brokers: opts.Brokers, TLS: opts.TLS, SASL: opts.SASL, ClientID: opts.ClientID,
		Logger: opts.Logger, Component: "input", Name: opts.Name,
	}
	if _, err := client.ClientOpts(); err != nil {
		return kafkaclient.Options{}, err
	}
	return client, nil
}

// CheckFormat reports whether f is one of the formats.
func CheckFormat(f string) error {
	switch f {
	case FormatLines, FormatNDJSON, FormatPulse:
		return nil
	}
	return fmt.Errorf("format must be %s, %s or %s, not %q", FormatLines, FormatNDJSON, FormatPulse, f)
}

// CheckStartOffset reports whether s is one of the start offsets.
func CheckStartOffset(s string) error {
	switch s {
	case StartEarliest, StartLatest:
		return nil
	}
	return fmt.Errorf("start_offset must be %s or %s, not %q", StartEarliest, StartLatest, s)
}

// Stats returns the input's counters.
func (in *Input) Stats() Stats {
	in.badMu.Lock()
	bad := maps.Clone(in.bad)
	turnedAway := maps.Clone(in.turnedAway)
	in.badMu.Unlock()
	return Stats{
		Records: in.records.Load(), Bytes: in.bytes.Load(), Batches: in.batches.Load(), Bad: bad,
		Commits: in.commits.Load(), CommitErrors: in.commitErrs.Load(), FetchErrors: in.fetchEr.Load(),
		Revoked: in.revoked.Load(), Undrained: in.undrained.Load(), Lost: in.lost.Load(),
		TurnedAway: turnedAway,
	}
}

// skip counts and logs a record that is not emitted.
func (in *Input) skip(topic string, partition int32, offset int64, reason string, err error) {
	in.badMu.Lock()
	in.bad[reason]++
	in.badMu.Unlock()
	if ok, suppressed := in.badLog.Allow(time.Now()); ok {
		in.log.Warn("record skipped", "topic", topic, "partition", partition, "offset", offset,
			"reason", reason, "err", err, "suppressed", suppressed)
	}
}
