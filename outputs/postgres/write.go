package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pulse/outputs"
)

// writeRows writes rows, which are at most BatchRows, and returns nil once
// each of them is in its table, was superseded there, is past retention, or
// was set aside. Rows PostgreSQL rejects as invalid (SQLSTATE class 22,
// data exception, or 23, integrity constraint violation) fail their whole
// transaction: the rows are then halved and each half written on its own,
// down to the single rows at fault, which go to the dead letters. Any other
// error is returned, for the whole to be tried again: rows written
// meanwhile are written again, which the upsert makes harmless.
func (s *shard) writeRows(ctx context.Context, rows []row) error {
	err := s.tx(ctx, rows)
	if !isRejection(err) {
		return err
	}
	if len(rows) == 1 {
		return s.setAside(rows[0], err)
	}
	half := len(rows) / 2
	if err := s.writeRows(ctx, rows[:half]); err != nil {
		return err
	}
	return s.writeRows(ctx, rows[half:])
}

// isRejection reports whether err is PostgreSQL refusing the rows
// themselves: SQLSTATE class 22 or 23, outside DDL.
func isRejection(err error) bool {
	var pe *pgconn.PgError
	var ddl errDDL
	if err == nil || errors.As(err, &ddl) || !errors.As(err, &pe) {
		return false
	}
	return strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")
}

// setAside writes one rejected row's snapshot to the dead letters, with
// PostgreSQL's error, and counts it.
func (s *shard) setAside(r row, cause error) error {
	o := s.o
	now := time.Now()
	path, err := o.dead.Write(outputs.Batch{ID: r.batch, Payload: r.rec, Events: 1}, s.id, cause, now)
	if err != nil {
		return fmt.Errorf("%s: set aside a rejected row: %w", s.id, err)
	}
	o.deadRows.Add(1)
	if ok, suppressed := o.deadLog.Allow(now); ok {
		o.log.Error("snapshot rejected by postgres: set aside", "shard", s.id, "key", r.key, "file", path, "err", cause, "suppressed", suppressed)
	}
	return nil
}

// tx writes rows in one transaction: per day, COPY into the staging table
// and upsert from it into that day's table. Rows of days past retention
// are skipped and counted.
func (s *shard) tx(ctx context.Context, rows []row) error {
	o := s.o
	now := o.opts.Now()
	var days []time.Time
	byDay := map[time.Time][]row{}
	live := 0
	for _, r := range rows {
		if expired(r.day, now, o.opts.Retention) {
			continue
		}
		if _, ok := byDay[r.day]; !ok {
			days = append(days, r.day)
		}
		byDay[r.day] = append(byDay[r.day], r)
		live++
	}
	if live == 0 {
		o.expired.Add(int64(len(rows)))
		return nil
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })

	ctx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	defer cancel()
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	for _, d := range days {
		if err := s.ensureDay(ctx, c, o.schema.name(d)); err != nil {
			return err
		}
	}
	var affected int64
	cols := o.layout.names()
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		for i, d := range days {
			g := byDay[d]
			if i > 0 {
				if _, err := tx.Exec(ctx, "TRUNCATE "+stageTable); err != nil {
					return err
				}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageTable}, cols,
				pgx.CopyFromSlice(len(g), func(i int) ([]any, error) { return g[i].vals, nil })); err != nil {
				return fmt.Errorf("copy: %w", err)
			}
			tag, err := tx.Exec(ctx, s.upsert(o.schema.name(d)))
			if err != nil {
				return fmt.Errorf("upsert into %s: %w", o.schema.name(d), err)
			}
			affected += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", s.id, err)
	}
	s.txs.Add(1)
	s.rows.Add(affected)
	o.rows.Add(affected)
	o.stale.Add(int64(live) - affected)
	o.expired.Add(int64(len(rows) - live))
	return nil
}

// upsert returns the upsert statement of a schema, built once.
func (s *shard) upsert(schema string) string {
	if s.upserts == nil {
		s.upserts = map[string]string{}
	}
	q, ok := s.upserts[schema]
	if !ok {
		q = s.o.layout.upsertSQL(schema)
		s.upserts[schema] = q
	}
	return q
}
