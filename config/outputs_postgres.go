package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"pulse/outputs/postgres"
)

// OutputPostgres is the type of an output writing snapshots to PostgreSQL.
const OutputPostgres = "postgres"

// Defaults of a postgres output, the package's own.
const (
	DefaultPostgresBatchRows = postgres.DefaultBatchRows
	DefaultPostgresSchema    = postgres.DefaultSchema
	DefaultPostgresRetention = Days(postgres.DefaultRetention / (24 * time.Hour))
)

// PostgresOutput is a postgres output's own fields, inline in Output beside
// the ones it shares with the others: timeout (per transaction),
// retry_initial/retry_max (a failed shard's backoff) and tls (replacing
// the DSNs' sslmode).
//
//   - name: metrics-db
//     type: postgres
//     stream: snapshots
//     shards: ["postgres://pulse@db1/metrics", "postgres://pulse@db2/metrics"]
//     shard_by: [app]          # every metric of an app on one shard
//     columns: [dyno]          # more dims with columns of their own
//     batch_rows: 1024
//     schema: metrics_{yyyymmdd}
//     retention: 7d
type PostgresOutput struct {
	Shards    []string `yaml:"shards,omitempty"`   // DSNs, URL or key=value form
	ShardBy   []string `yaml:"shard_by,omitempty"` // dims placing a row; default: the whole key
	Columns   []string `yaml:"columns,omitempty"`  // dims with text columns, beside shard_by's
	BatchRows int      `yaml:"batch_rows,omitempty"`
	Schema    string   `yaml:"schema,omitempty"` // holds {yyyymmdd}
	Retention Days     `yaml:"retention,omitempty"`
	// MaxPendingBytes bounds the snapshots held in memory for shards that
	// have not written them yet (a shard is down): past it the output
	// stops reading its buffer. Default 64MiB.
	MaxPendingBytes Size `yaml:"max_pending_bytes,omitempty"`
}

// postgresDefaults fills a postgres output's unset fields.
func (o *Output) postgresDefaults() {
	pg := &o.Postgres
	if pg.BatchRows == 0 {
		pg.BatchRows = DefaultPostgresBatchRows
	}
	if pg.Schema == "" {
		pg.Schema = DefaultPostgresSchema
	}
	if pg.Retention == 0 {
		pg.Retention = DefaultPostgresRetention
	}
	if pg.MaxPendingBytes == 0 {
		pg.MaxPendingBytes = Size(postgres.DefaultMaxPendingBytes)
	}
	if o.Timeout == 0 {
		o.Timeout = Duration(postgres.DefaultTimeout)
	}
	if o.RetryInitial == 0 {
		o.RetryInitial = Duration(postgres.DefaultRetryInitial)
	}
	if o.RetryMax == 0 {
		o.RetryMax = Duration(postgres.DefaultRetryMax)
	}
}

// validatePostgres checks a postgres output's fields, and that no other
// type of output sets them.
func (o *Output) validatePostgres(ck *checker, p string) {
	pg := &o.Postgres
	if o.Type != OutputPostgres {
		ck.onlyFor(p, "postgres outputs",
			set{"shards", len(pg.Shards) > 0}, set{"shard_by", len(pg.ShardBy) > 0}, set{"columns", len(pg.Columns) > 0},
			set{"batch_rows", pg.BatchRows != 0}, set{"schema", pg.Schema != ""}, set{"retention", pg.Retention != 0},
			set{"max_pending_bytes", pg.MaxPendingBytes != 0})
		return
	}
	if o.Stream != StreamSnapshots {
		ck.addf(p+".stream", "a postgres output takes the snapshots stream only (a merger's), not %s: events and fragments have no table mapping", o.Stream)
	}
	if o.Encoding == EncodingNDJSON {
		// Snapshots are JSON already: ndjson is lines for them.
	} else if o.Encoding != EncodingLines && o.Encoding != EncodingPulse {
		ck.addf(p+".encoding", "a postgres output stores lines, ndjson or pulse batches, not %q", o.Encoding)
	}
	if len(pg.Shards) == 0 {
		ck.addf(p+".shards", "at least one DSN")
	}
	for j, dsn := range pg.Shards {
		if err := postgres.CheckDSN(dsn); err != nil {
			ck.addf(fmt.Sprintf("%s.shards[%d]", p, j), "%v", err)
		}
	}
	if err := postgres.CheckDims(pg.ShardBy, pg.Columns); err != nil {
		ck.addf(p+".shard_by", "%v", err)
	}
	if pg.BatchRows < 1 || pg.BatchRows > 1<<20 {
		ck.addf(p+".batch_rows", "must be between 1 and %d", 1<<20)
	}
	if err := postgres.CheckSchema(pg.Schema); err != nil {
		ck.addf(p+".schema", "%v", err)
	}
	if pg.Retention < 1 {
		ck.addf(p+".retention", "must be at least 1d (a day's schema is dropped whole)")
	}
	if pg.MaxPendingBytes < 1*MiB {
		ck.addf(p+".max_pending_bytes", "must be ≥ 1MiB")
	}
	if o.Timeout < Duration(time.Millisecond) {
		ck.addf(p+".timeout", "must be ≥ 1ms")
	}
	if o.RetryInitial <= 0 || o.RetryMax < o.RetryInitial {
		ck.addf(p+".retry_max", "must be ≥ retry_initial (%v), and both > 0", o.RetryInitial)
	}
	checkClientTLS(ck, p+".tls", o.TLS)
	for _, f := range []struct {
		key, msg string
		set      bool
	}{{"endpoints", "only for http outputs (use shards)", len(o.Endpoints) > 0},
		{"balance", "only for http outputs (rows are placed by shard_by)", o.Balance != ""},
		{"hash_field", "only for http outputs (use shard_by)", o.HashField != "" || o.HashBuckets != 0},
		{"hash_failover", "only for http outputs (a shard's rows always wait for it)", o.HashFailover != nil},
		{"max_in_flight", "only for http and kafka outputs", o.MaxInFlight != 0},
		{"auth_token", "only for http outputs (credentials go in the DSN)", o.AuthToken != ""},
		{"path", "only for file outputs", o.Path != ""}} {
		if f.set {
			ck.addf(p+"."+f.key, "%s", f.msg)
		}
	}
}

// Days is a whole number of days, written "7d" (or a plain 7).
type Days int

// D returns the value as a time.Duration.
func (d Days) D() time.Duration { return time.Duration(d) * 24 * time.Hour }

// String formats the value as "7d".
func (d Days) String() string { return strconv.Itoa(int(d)) + "d" }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Days) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSuffix(strings.TrimSpace(n.Value), "d")
	v, err := strconv.Atoi(s)
	if err != nil || n.Kind != yaml.ScalarNode || v < 0 || v > 100000 {
		return valueError(n, "invalid days %q (want e.g. 7d)", n.Value)
	}
	*d = Days(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Days) MarshalYAML() (any, error) { return d.String(), nil }
