// Package postgres is the snapshots stream's PostgreSQL output: merged
// snapshots as rows, one per metric key and window, in a schema per day,
// over shards placed by consistent hashing, written in COPY batches and
// upserted so that the newest snapshot of a key and window wins.
//
// It follows the Heroku metrics pipeline's sink (the seed of issue 14):
// batches of 1024 rows by COPY, a schema per day so that retention is a
// DROP SCHEMA, sum and sum of squares beside count, min and max for
// downsampling — and the serialized sketches as well, so quantiles and
// unique counts can be merged again when windows are rolled up.
package postgres

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pulse/lograte"
	"pulse/outputs"
)

// Defaults of Options, taken where a field is zero.
const (
	DefaultBatchRows       = 1024 // the seed's COPY batch
	DefaultSchema          = "metrics_" + DayPlaceholder
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultTimeout         = 10 * time.Second // per transaction, connecting included
	DefaultRetryInitial    = 200 * time.Millisecond
	DefaultRetryMax        = 10 * time.Second
	DefaultMaxPendingBytes = 64 << 20
	DefaultRetentionEvery  = time.Hour
)

// Options configure a PostgreSQL output. Zero values take the defaults.
type Options struct {
	Name string // output name, for logs; default "postgres"
	// Shards are the DSNs of the databases rows are spread over (URL or
	// key=value form, as libpq takes them). A shard is known on the ring
	// by host:port/database, so a DSN's other settings (password, options)
	// may change without moving any key.
	Shards []string
	// ShardBy are the dimensions whose values place a snapshot on a shard:
	// every metric of one app (shard_by: [app]) on one shard. Empty, the
	// whole metric key is hashed.
	ShardBy []string
	// Columns are dimensions, beyond ShardBy, with a text column of their
	// own (dim_<name>); the others go in the dims jsonb column.
	Columns   []string
	BatchRows int           // rows per COPY transaction; default DefaultBatchRows
	Schema    string        // day schema template; default DefaultSchema
	Retention time.Duration // day schemas older are dropped; at least a day; default DefaultRetention
	// TLS, if set, is the client TLS configuration for every shard,
	// replacing what the DSNs' sslmode says.
	TLS          *tls.Config
	Timeout      time.Duration // per transaction; default DefaultTimeout
	RetryInitial time.Duration // a failed shard's first pause; default DefaultRetryInitial
	RetryMax     time.Duration // its longest; default DefaultRetryMax
	// MaxPendingBytes bounds the snapshots held in memory for shards not
	// done with them (the batches stay in the buffer until every shard
	// is): past it, no more batches are read. Default DefaultMaxPendingBytes.
	MaxPendingBytes int64
	// RetentionEvery is how often each shard drops expired days; default
	// DefaultRetentionEvery (and once when it is first reached).
	RetentionEvery time.Duration
	// Encoding of the payloads: EncodingLines (default) or EncodingPulse.
	Encoding      string
	DeadLetterDir string           // required: where rejected snapshots are set aside
	Logger        *slog.Logger     // default slog.Default()
	Now           func() time.Time // the clock of retention; default time.Now
}

// Stats count what the output did since it was created.
type Stats struct {
	Batches  int64 // buffer batches done with on every shard, and acknowledged
	Rows     int64 // rows inserted or updated
	Stale    int64 // snapshots not written: the table held a newer (or the same) one
	Expired  int64 // snapshots of days past retention, not written
	DeadRows int64 // snapshots set aside: rejected by PostgreSQL (SQLSTATE class 22 or 23) or undecodable
	Retries  int64 // transactions tried again after a failure
	Failures int64 // failed transactions, of any kind
	Dropped  int64 // day schemas dropped by retention
	Pending  int64 // snapshots waiting for their shard
	Shards   []ShardStats
}

// ShardStats is the state of one shard.
type ShardStats struct {
	ID        string // host:port/database
	Up        bool   // the last transaction succeeded (or none was tried yet)
	Pending   int    // rows waiting for it
	Txs       int64  // transactions committed
	Rows      int64  // rows inserted or updated
	Failures  int64  // failed transactions
	LastError string // of the last failure, "" once it succeeds again
}

// Output writes the snapshots stream into PostgreSQL shards.
type Output struct {
	opts    Options
	log     *slog.Logger
	layout  layout
	schema  schemaTemplate
	ring    outputs.Ring
	shards  []*shard
	dead    *outputs.DeadLetters
	running atomic.Bool

	deadLog lograte.Limiter

	batches, rows, stale, expired, deadRows atomic.Int64
	retries, failures, dropped, pending     atomic.Int64
}

// New checks opts and returns the output. It connects to nothing yet.
func New(opts Options) (*Output, error) {
	if opts.Name == "" {
		opts.Name = "postgres"
	}
	fail := func(format string, args ...any) (*Output, error) {
		return nil, fmt.Errorf("postgres output %q: "+format, append([]any{opts.Name}, args...)...)
	}
	if len(opts.Shards) == 0 {
		return fail("no shards")
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = DefaultBatchRows
	}
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Retention < 24*time.Hour {
		return fail("retention %v: at least a day (a day's schema is dropped whole)", opts.Retention)
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
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if opts.RetentionEvery <= 0 {
		opts.RetentionEvery = DefaultRetentionEvery
	}
	switch opts.Encoding {
	case "":
		opts.Encoding = EncodingLines
	case EncodingLines, EncodingPulse:
	default:
		return fail("encoding %q: want %s or %s", opts.Encoding, EncodingLines, EncodingPulse)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	st, err := parseSchema(opts.Schema)
	if err != nil {
		return fail("%v", err)
	}
	dims, err := columnDims(opts.ShardBy, opts.Columns)
	if err != nil {
		return fail("%v", err)
	}
	dead, err := outputs.NewDeadLetters(opts.DeadLetterDir, opts.Name)
	if err != nil {
		return fail("%v", err)
	}
	o := &Output{
		opts:    opts,
		log:     opts.Logger.With("output", opts.Name),
		layout:  newLayout(dims),
		schema:  st,
		dead:    dead,
		deadLog: lograte.Limiter{Every: logEvery},
	}
	var ids []string
	for i, dsn := range opts.Shards {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			// pgx's message may quote the DSN, password and all.
			return fail("shards[%d]: not a valid DSN: %v", i, redact(err))
		}
		if opts.TLS != nil {
			cfg.TLSConfig = opts.TLS.Clone()
			if cfg.TLSConfig.ServerName == "" {
				cfg.TLSConfig.ServerName = cfg.Host
			}
			cfg.Fallbacks = nil
		}
		id := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
		if slices.Contains(ids, id) {
			return fail("shards[%d]: %s listed twice", i, id)
		}
		ids = append(ids, id)
		o.shards = append(o.shards, newShard(o, i, id, cfg))
	}
	o.ring = ringOf(ids)
	return o, nil
}

// columnDims is ShardBy then Columns, each once.
func columnDims(shardBy, columns []string) ([]string, error) {
	var out []string
	for _, d := range append(slices.Clone(shardBy), columns...) {
		if d == "" || len(dimColumnPrefix)+len(d) > maxIdent {
			return nil, fmt.Errorf("dimension %q: want 1 to %d bytes", d, maxIdent-len(dimColumnPrefix))
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// redact keeps an error about a DSN from quoting it: pgx's message does,
// its password removed only on a best-effort basis.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return inner
		}
	}
	return errors.New("cannot parse it (details withheld: it may hold a password)")
}

// Stats returns the output's counters and its shards' state.
func (o *Output) Stats() Stats {
	s := Stats{
		Batches: o.batches.Load(), Rows: o.rows.Load(), Stale: o.stale.Load(),
		Expired: o.expired.Load(), DeadRows: o.deadRows.Load(), Retries: o.retries.Load(),
		Failures: o.failures.Load(), Dropped: o.dropped.Load(), Pending: o.pending.Load(),
	}
	for _, sh := range o.shards {
		s.Shards = append(s.Shards, sh.stats())
	}
	return s
}

// logEvery is how often a repeated failure is logged, per shard and kind.
const logEvery = 5 * time.Second

// ringOf is the shards' ring, by their ids.
func ringOf(ids []string) outputs.Ring { return outputs.NewRing(ids) }

// CheckSchema reports whether tmpl is a valid Schema template.
func CheckSchema(tmpl string) error {
	_, err := parseSchema(tmpl)
	return err
}

// CheckDSN reports whether dsn parses as a shard's DSN, without quoting it
// (it may hold a password).
func CheckDSN(dsn string) error {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return fmt.Errorf("not a valid DSN: %w", redact(err))
	}
	return nil
}

// CheckDims reports whether shardBy and columns can name columns.
func CheckDims(shardBy, columns []string) error {
	_, err := columnDims(shardBy, columns)
	return err
}
