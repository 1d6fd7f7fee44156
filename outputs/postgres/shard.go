package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/jackc/pgx/v5"

	"pulse/lograte"
)

// shard is one database and the goroutine writing to it. The output's loop
// pushes parts (its rows of a batch) onto the queue without ever waiting;
// the shard's goroutine takes up to BatchRows rows from the head, writes
// them in one transaction, and hands back each part it has finished. A
// shard that fails keeps its queue and tries again after a backoff of its
// own, while the other shards go on with theirs: a down shard delays only
// the acknowledgement of the batches it has rows of, which stay in the
// output's disk buffer meanwhile (the seed's RETRY topic).
type shard struct {
	o     *Output
	index int
	id    string // host:port/database
	cfg   *pgx.ConnConfig

	mu     sync.Mutex
	queue  []*part
	queued int           // rows in queue not yet written
	wake   chan struct{} // cap 1: the queue grew

	up                  atomic.Bool
	txs, rows, failures atomic.Int64
	lastErr             atomic.Pointer[string]
	downLog             lograte.Limiter

	// Owned by run's goroutine.
	conn     *pgx.Conn
	ensured  map[string]bool   // day schemas made (or found) on this shard
	upserts  map[string]string // upsert statement per schema
	retained time.Time         // when retention last ran
}

// part is one batch's rows for one shard.
type part struct {
	b    *pending
	rows []row
	off  int // rows[:off] are written
}

// pending is a batch taken from the source, not done with on every shard.
type pending struct {
	id    uint64
	parts int   // not yet done
	bytes int64 // held in memory, against MaxPendingBytes
}

func newShard(o *Output, index int, id string, cfg *pgx.ConnConfig) *shard {
	s := &shard{o: o, index: index, id: id, cfg: cfg, wake: make(chan struct{}, 1),
		downLog: lograte.Limiter{Every: logEvery}}
	s.up.Store(true)
	return s
}

// push queues p; it never blocks.
func (s *shard) push(p *part) {
	s.mu.Lock()
	s.queue = append(s.queue, p)
	s.queued += len(p.rows)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// head returns up to n rows from the head of the queue, across parts.
func (s *shard) head(n int) []row {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []row
	for _, p := range s.queue {
		take := min(n-len(out), len(p.rows)-p.off)
		out = append(out, p.rows[p.off:p.off+take]...)
		if len(out) == n {
			break
		}
	}
	return out
}

// advance marks the first n queued rows written and returns the parts
// that are now whole, removed from the queue.
func (s *shard) advance(n int) []*part {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued -= n
	var done []*part
	for n > 0 || (len(s.queue) > 0 && s.queue[0].off == len(s.queue[0].rows)) {
		p := s.queue[0]
		take := min(n, len(p.rows)-p.off)
		p.off += take
		n -= take
		if p.off < len(p.rows) {
			break
		}
		done = append(done, p)
		s.queue[0] = nil
		s.queue = s.queue[1:]
	}
	return done
}

// reset forgets the queue of an earlier Run: its batches stay
// unacknowledged in the source.
func (s *shard) reset() {
	s.mu.Lock()
	s.queue, s.queued = nil, 0
	s.mu.Unlock()
}

func (s *shard) stats() ShardStats {
	s.mu.Lock()
	queued := s.queued
	s.mu.Unlock()
	st := ShardStats{ID: s.id, Up: s.up.Load(), Pending: queued, Txs: s.txs.Load(), Rows: s.rows.Load(), Failures: s.failures.Load()}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// run writes the queue until ctx ends, handing finished parts to done.
func (s *shard) run(ctx context.Context, done chan<- *part) {
	defer s.disconnect()
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.MaxElapsedTime = s.o.opts.RetryInitial, s.o.opts.RetryMax, 0
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	failed := false
	for {
		if s.retentionDue() {
			// A failed retention is tried again next period; it never
			// holds up the rows.
			if err := s.retain(ctx); err != nil && ctx.Err() == nil {
				s.o.failures.Add(1)
				s.disconnect()
				s.o.log.Warn("retention failed: tried again later", "shard", s.id, "next", s.o.opts.RetentionEvery, "err", err)
			}
			s.retained = s.o.opts.Now()
		}
		rows := s.head(s.o.opts.BatchRows)
		if len(rows) == 0 {
			idle.Reset(max(time.Millisecond, s.retained.Add(s.o.opts.RetentionEvery).Sub(s.o.opts.Now())))
			select {
			case <-s.wake:
			case <-idle.C:
			case <-ctx.Done():
				return
			}
			if !idle.Stop() {
				select { // drained, for the next Reset
				case <-idle.C:
				default:
				}
			}
			continue
		}
		if failed {
			s.o.retries.Add(1)
		}
		err := s.writeRows(ctx, rows)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			if failed {
				s.o.log.Info("shard back", "shard", s.id)
			}
			failed = false
			s.up.Store(true)
			s.lastErr.Store(nil)
			bo.Reset()
			for _, p := range s.advance(len(rows)) {
				select {
				case done <- p:
				case <-ctx.Done():
					return
				}
			}
			continue
		}
		failed = true
		s.fail(err)
		pause := bo.NextBackOff()
		if ok, suppressed := s.downLog.Allow(time.Now()); ok {
			s.o.log.Warn("shard failed: its rows kept, retrying", "shard", s.id, "retry_in", pause,
				"pending_rows", s.stats().Pending, "err", err, "suppressed", suppressed)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// fail records a failed transaction and drops the connection, which may be
// broken or in an unknown state: the next attempt connects again.
func (s *shard) fail(err error) {
	s.o.failures.Add(1)
	s.failures.Add(1)
	s.up.Store(false)
	msg := err.Error()
	s.lastErr.Store(&msg)
	s.disconnect()
}

func (s *shard) retentionDue() bool {
	return s.retained.IsZero() || s.o.opts.Now().Sub(s.retained) >= s.o.opts.RetentionEvery
}

// connect opens the connection if there is none, with its staging table.
func (s *shard) connect(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.disconnect()
	ctx, cancel := context.WithTimeout(ctx, s.o.opts.Timeout)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.id, err)
	}
	if _, err := c.Exec(ctx, s.o.layout.stageDDL()); err != nil {
		c.Close(context.Background())
		return nil, fmt.Errorf("%s: staging table: %w", s.id, err)
	}
	s.conn = c
	s.ensured = map[string]bool{} // a schema may have been dropped meanwhile
	return c, nil
}

func (s *shard) disconnect() {
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.conn.Close(ctx)
		cancel()
		s.conn = nil
	}
}

// ensureDay makes a day's schema and table, once per connection, under
// the DDL lock.
func (s *shard) ensureDay(ctx context.Context, c *pgx.Conn, schema string) error {
	if s.ensured[schema] {
		return nil
	}
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlLockKey); err != nil {
			return err
		}
		for _, stmt := range s.o.layout.createDDL(schema) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: create %s.%s: %w", s.id, schema, Table, errDDL{err})
	}
	s.ensured[schema] = true
	return nil
}

// errDDL wraps a failure of DDL: never a rejection of rows, whatever its
// SQLSTATE (a unique violation there is two writers' race).
type errDDL struct{ err error }

func (e errDDL) Error() string { return e.err.Error() }
func (e errDDL) Unwrap() error { return e.err }

// retain drops the day schemas past retention.
func (s *shard) retain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.opts.Timeout)
	defer cancel()
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	rows, err := c.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, s.o.schema.likePattern())
	if err != nil {
		return fmt.Errorf("%s: list day schemas: %w", s.id, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("%s: list day schemas: %w", s.id, err)
	}
	now := s.o.opts.Now()
	for _, name := range names {
		day, ok := s.o.schema.day(name)
		if !ok || !expired(day, now, s.o.opts.Retention) {
			continue
		}
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlLockKey); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: drop %s: %w", s.id, name, errDDL{err})
		}
		delete(s.ensured, name)
		s.o.dropped.Add(1)
		s.o.log.Info("day schema dropped: past retention", "shard", s.id, "schema", name, "retention", s.o.opts.Retention)
	}
	return nil
}
