package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"pulse/outputs/postgres"
)

// DefaultMaxConns is PostgresOptions.MaxConns when it is zero.
const DefaultMaxConns = 4

// PostgresOptions configure a PostgresStore. Zero values take the
// defaults.
type PostgresOptions struct {
	// Shards are the DSNs of the postgres output's shards: every one is
	// read, since a metric's keys are spread over them.
	Shards []string
	Schema string      // the output's day schema template; default postgres.DefaultSchema
	TLS    *tls.Config // replaces the DSNs' sslmode when set, as in the output
	// Timeout is each statement's statement_timeout on the server, and
	// the connect timeout; default DefaultTimeout.
	Timeout  time.Duration
	MaxConns int32        // per shard; default DefaultMaxConns
	Logger   *slog.Logger // default slog.Default()
}

// PostgresStore reads the postgres output's tables: a schema per UTC day
// (metrics_{yyyymmdd}.snapshots), a row per key and window, on every
// shard. It only reads.
type PostgresStore struct {
	opts           PostgresOptions
	prefix, suffix string // of the schema template, around the day
	shards         []*pgShard
}

type pgShard struct {
	id   string // host:port/database, as the output names it
	pool *pgxpool.Pool
}

// NewPostgres checks opts and returns the store. Connections are opened
// as queries need them.
func NewPostgres(opts PostgresOptions) (*PostgresStore, error) {
	if len(opts.Shards) == 0 {
		return nil, errors.New("api: postgres store: no shards")
	}
	if opts.Schema == "" {
		opts.Schema = postgres.DefaultSchema
	}
	if err := postgres.CheckSchema(opts.Schema); err != nil {
		return nil, fmt.Errorf("api: postgres store: %w", err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	st := &PostgresStore{opts: opts}
	st.prefix, st.suffix, _ = strings.Cut(opts.Schema, postgres.DayPlaceholder)
	for i, dsn := range opts.Shards {
		if err := postgres.CheckDSN(dsn); err != nil {
			st.Close()
			return nil, fmt.Errorf("api: postgres store: shards[%d]: %w", i, err)
		}
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("api: postgres store: shards[%d]: not a valid DSN", i)
		}
		cc := cfg.ConnConfig
		if opts.TLS != nil {
			cc.TLSConfig = opts.TLS.Clone()
			if cc.TLSConfig.ServerName == "" {
				cc.TLSConfig.ServerName = cc.Host
			}
			cc.Fallbacks = nil
		}
		cc.ConnectTimeout = opts.Timeout
		// The server ends a statement past the timeout by itself, even if
		// this process is gone; read-only too, belt and braces.
		cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.Timeout.Milliseconds(), 10)
		cc.RuntimeParams["default_transaction_read_only"] = "on"
		cc.RuntimeParams["application_name"] = "pulse-api"
		cfg.MaxConns = opts.MaxConns
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("api: postgres store: shards[%d]: %w", i, err)
		}
		st.shards = append(st.shards, &pgShard{id: fmt.Sprintf("%s:%d/%s", cc.Host, cc.Port, cc.Database), pool: pool})
	}
	return st, nil
}

// Close closes every shard's connections.
func (st *PostgresStore) Close() {
	for _, sh := range st.shards {
		sh.pool.Close()
	}
}

// dayTable is one day's snapshots table on a shard, with its dimension
// columns (dim_<name>: the output's shard_by and columns when that day's
// table was made, or later added).
type dayTable struct {
	schema  string
	day     time.Time
	dimCols []string // dimension names with a column
}

// dimColumnPrefix is the output's prefix of a dimension's own column.
const dimColumnPrefix = "dim_"

// tables lists a shard's day tables, oldest first: one catalog query.
func (st *PostgresStore) tables(ctx context.Context, sh *pgShard) ([]dayTable, error) {
	esc := strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`)
	rows, err := sh.pool.Query(ctx, `SELECT n.nspname::text, array_agg(a.attname::text ORDER BY a.attnum)
FROM pg_namespace n
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $2 AND c.relkind IN ('r', 'p')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname LIKE $1
GROUP BY n.nspname`, esc.Replace(st.prefix)+"________"+esc.Replace(st.suffix), postgres.Table)
	if err != nil {
		return nil, st.queryErr(sh, "list day schemas", err)
	}
	var out []dayTable
	for rows.Next() {
		var t dayTable
		var cols []string
		if err := rows.Scan(&t.schema, &cols); err != nil {
			rows.Close()
			return nil, st.queryErr(sh, "list day schemas", err)
		}
		day, ok := st.day(t.schema)
		if !ok {
			continue
		}
		t.day = day
		for _, c := range cols {
			if d, ok := strings.CutPrefix(c, dimColumnPrefix); ok {
				t.dimCols = append(t.dimCols, d)
			}
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, st.queryErr(sh, "list day schemas", err)
	}
	slices.SortFunc(out, func(a, b dayTable) int { return a.day.Compare(b.day) })
	return out, nil
}

// day parses a schema name into its day, as the output names them.
func (st *PostgresStore) day(schema string) (time.Time, bool) {
	mid, ok := strings.CutPrefix(schema, st.prefix)
	if !ok {
		return time.Time{}, false
	}
	mid, ok = strings.CutSuffix(mid, st.suffix)
	if !ok || len(mid) != 8 {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", mid)
	return d, err == nil && d.Format("20060102") == mid
}

// queryErr names the shard, and makes the server's statement timeout
// (SQLSTATE 57014) a context.DeadlineExceeded, which it is.
func (st *PostgresStore) queryErr(sh *pgShard, what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" {
		return fmt.Errorf("shard %s: %s: %w (%w)", sh.id, what, context.DeadlineExceeded, err)
	}
	return fmt.Errorf("shard %s: %s: %w", sh.id, what, err)
}

// eachShard runs fn on every shard at once and returns the first error.
func (st *PostgresStore) eachShard(ctx context.Context, fn func(ctx context.Context, i int, sh *pgShard) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(st.shards))
	var wg sync.WaitGroup
	for i, sh := range st.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = fn(ctx, i, sh); errs[i] != nil {
				cancel() // the answer needs every shard: stop the others
			}
		}()
	}
	wg.Wait()
	// The first error that is not the others' cancellation.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// Windows implements Store: one statement per shard over the day tables
// the range touches, LIMIT q.Limit+1 in all, the shards at once.
func (st *PostgresStore) Windows(ctx context.Context, q Query) ([]Window, error) {
	if q.Limit <= 0 || !q.From.Before(q.To) {
		return nil, fmt.Errorf("api: postgres store: query without a limit or a range")
	}
	parts := make([][]Window, len(st.shards))
	err := st.eachShard(ctx, func(ctx context.Context, i int, sh *pgShard) error {
		ts, err := st.tables(ctx, sh)
		if err != nil {
			return err
		}
		var in []dayTable
		for _, t := range ts {
			if t.day.Before(q.To) && t.day.Add(24*time.Hour).After(q.From) {
				in = append(in, t)
			}
		}
		if len(in) == 0 {
			return nil
		}
		sql, args := windowsSQL(in, q)
		parts[i], err = st.readWindows(ctx, sh, sql, args, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := slices.Concat(parts...)
	if len(out) > q.Limit {
		return nil, fmt.Errorf("%w: more than %d", ErrTooManyWindows, q.Limit)
	}
	return out, nil
}

// readWindows runs a windowsSQL statement and scans its rows, at most
// q.Limit+1 of them (the statement's own LIMIT).
func (st *PostgresStore) readWindows(ctx context.Context, sh *pgShard, sql string, args []any, q Query) ([]Window, error) {
	rows, err := sh.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, st.queryErr(sh, "read windows", err)
	}
	defer rows.Close()
	var out []Window
	for rows.Next() {
		w, err := scanWindow(rows, q.Name)
		if err != nil {
			return nil, st.queryErr(sh, "read windows", err)
		}
		if out = append(out, w); len(out) > q.Limit {
			return nil, fmt.Errorf("%w: more than %d on shard %s", ErrTooManyWindows, q.Limit, sh.id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, st.queryErr(sh, "read windows", err)
	}
	return out, nil
}

// Metrics implements Store: every day table of every shard, aggregated
// by the server (one statement per shard for the ranges, one for the
// dimensions' values, each bounded).
func (st *PostgresStore) Metrics(ctx context.Context) ([]Metric, error) {
	parts := make([][]Metric, len(st.shards))
	err := st.eachShard(ctx, func(ctx context.Context, i int, sh *pgShard) error {
		ts, err := st.tables(ctx, sh)
		if err != nil || len(ts) == 0 {
			return err
		}
		parts[i], err = st.catalog(ctx, sh, ts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return mergeCatalogs(parts...), nil
}

// pgxRows is what scanWindow needs of pgx.Rows.
type pgxRows interface{ Scan(dest ...any) error }

var _ pgxRows = pgx.Rows(nil)
