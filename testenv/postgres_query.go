package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresQueryTimeout bounds one helper query, connection included.
const postgresQueryTimeout = 30 * time.Second

// ping connects once and runs a trivial query.
func (p *Postgres) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	var one int
	return c.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// Conn opens a connection to the server, closed when the test ends.
func (p *Postgres) Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), postgresQueryTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		t.Fatalf("testenv: connect to postgres %d: %v", p.Port, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// withConn runs fn on a connection of its own, failing the test on error.
func (p *Postgres) withConn(t testing.TB, what string, fn func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), postgresQueryTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		t.Fatalf("testenv: connect to postgres %d: %v", p.Port, err)
	}
	defer c.Close(context.Background())
	if err := fn(ctx, c); err != nil {
		t.Fatalf("testenv: postgres %d: %s: %v", p.Port, what, err)
	}
}

// Exec runs sql (statements without results), failing the test on error.
func (p *Postgres) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	p.withConn(t, sql, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, sql, args...)
		return err
	})
}

// Query runs sql and returns every row, each as its column values.
func (p *Postgres) Query(t testing.TB, sql string, args ...any) [][]any {
	t.Helper()
	var out [][]any
	p.withConn(t, sql, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			out = append(out, vals)
		}
		return rows.Err()
	})
	return out
}

// Int runs sql, which returns one integer (a count(*)), and returns it.
func (p *Postgres) Int(t testing.TB, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	p.withConn(t, sql, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, sql, args...).Scan(&n)
	})
	return n
}
