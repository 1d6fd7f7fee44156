package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"pulse/metrics"
)

// column is one column of the snapshots table: its name and SQL type.
type column struct {
	name, typ string
}

// fixedHead and fixedTail are the columns every table has; the configured
// dimensions' own columns go between them. The primary key is (key,
// window_start, window_len): one row per metric key and window.
var (
	fixedHead = []column{
		{"key", "text NOT NULL"}, // the canonical key: name|kind|unit|dims
		{"name", "text NOT NULL"},
		{"kind", "text NOT NULL"},
		{"unit", "text NOT NULL"},
	}
	fixedTail = []column{
		{"dims", "jsonb NOT NULL"}, // the dimensions without a column of their own
		{"window_start", "timestamptz NOT NULL"},
		{"window_len", "interval NOT NULL"},
		{"count", "bigint NOT NULL"},
		{"sum", "double precision"},
		{"sumsq", "double precision"},
		{"min", "double precision"},
		{"max", "double precision"},
		{"mean", "double precision"},
		{"stddev", "double precision"},
		{"p50", "double precision"}, // p50..p99, sketch: measures only
		{"p90", "double precision"},
		{"p95", "double precision"},
		{"p99", "double precision"},
		{"sketch", "bytea"},
		{"uniq", "bigint"}, // uniq, hll: unique keys only ("unique" is reserved in SQL)
		{"hll", "bytea"},
		{"last", "double precision"}, // last, last_time: samples only
		{"last_time", "timestamptz"},
		{"agents", "integer NOT NULL"},
		{"final", "boolean NOT NULL"},
		{"seq", "bigint NOT NULL"}, // the merger's order of a key and window's snapshots
	}
)

// dimColumnPrefix names a configured dimension's column: dim_<name>, so
// that no dimension's name can clash with a fixed column.
const dimColumnPrefix = "dim_"

// layout is the table's columns for a configuration: the fixed ones and
// one text column per configured dimension, in order.
type layout struct {
	dims []string // dimensions with columns of their own
	cols []column
}

func newLayout(dims []string) layout {
	l := layout{dims: dims}
	l.cols = append(l.cols, fixedHead...)
	for _, d := range dims {
		l.cols = append(l.cols, column{dimColumnPrefix + d, "text"})
	}
	l.cols = append(l.cols, fixedTail...)
	return l
}

// names returns the column names, in order.
func (l layout) names() []string {
	out := make([]string, len(l.cols))
	for i, c := range l.cols {
		out[i] = c.name
	}
	return out
}

// row is one snapshot as the table's values, in the layout's order, with
// where it goes and the record it came from (for dead letters).
type row struct {
	day    time.Time // the UTC day of the window start: its schema
	shard  int
	key    string
	window [2]int64 // start (Unix ns) and length: with key, the row's identity
	seq    uint64
	vals   []any
	rec    []byte // the snapshot's record
	batch  uint64 // the buffer batch it came in
}

// errInvalid marks a snapshot that cannot be a row at all (found before
// PostgreSQL sees it): it goes to the dead letters, as PostgreSQL's own
// rejections do.
var errInvalid = errors.New("invalid snapshot")

// toRow maps a snapshot to its row. Values that do not apply to the kind
// are NULL; NaN stays NaN (double precision has it). Text PostgreSQL would
// refuse (a NUL byte, invalid UTF-8) is left for PostgreSQL to reject, as
// the test of dead letters relies on.
func (l layout) toRow(s *metrics.Snapshot, rec []byte) (row, error) {
	if s.Name == "" {
		return row{}, fmt.Errorf("%w: no name", errInvalid)
	}
	if s.Window <= 0 {
		return row{}, fmt.Errorf("%w: window length %v", errInvalid, s.Window)
	}
	if s.Count > math.MaxInt64 || s.Seq > math.MaxInt64 || s.Unique > math.MaxInt64 {
		return row{}, fmt.Errorf("%w: count %d, seq %d or unique %d beyond bigint", errInvalid, s.Count, s.Seq, s.Unique)
	}
	k := metrics.Key{Name: s.Name, Unit: s.Unit, Kind: s.Kind, Dims: s.Dims}
	r := row{
		day:    dayOf(s.WindowStart),
		key:    k.String(),
		window: [2]int64{s.WindowStart.UnixNano(), int64(s.Window)},
		seq:    s.Seq,
		rec:    rec,
		vals:   make([]any, 0, len(l.cols)),
	}
	rest := make(map[string]string, len(s.Dims))
	own := make([]any, len(l.dims)) // nil: the snapshot lacks that dimension
	for _, d := range s.Dims {
		if i := slices.Index(l.dims, d.Name); i >= 0 {
			own[i] = d.Value
		} else {
			rest[d.Name] = d.Value
		}
	}
	dims, err := marshalDims(rest)
	if err != nil {
		return row{}, err
	}
	r.vals = append(r.vals, r.key, s.Name, s.Kind.String(), s.Unit)
	r.vals = append(r.vals, own...)
	r.vals = append(r.vals, dims, s.WindowStart.UTC(), s.Window, int64(s.Count),
		s.Sum, s.SumSq, s.Min, s.Max, s.Mean, s.Stddev)
	if s.Kind == metrics.Measure {
		r.vals = append(r.vals, s.P50, s.P90, s.P95, s.P99, bytesOrNil(s.Sketch))
	} else {
		r.vals = append(r.vals, nil, nil, nil, nil, nil)
	}
	if s.Kind == metrics.Unique {
		r.vals = append(r.vals, int64(s.Unique), bytesOrNil(s.HLL))
	} else {
		r.vals = append(r.vals, nil, nil)
	}
	if s.Kind == metrics.Sample {
		r.vals = append(r.vals, s.Last, s.LastTime.UTC())
	} else {
		r.vals = append(r.vals, nil, nil)
	}
	r.vals = append(r.vals, int32(min(s.Agents, math.MaxInt32)), s.Final, int64(s.Seq))
	return r, nil
}

// marshalDims renders the dimensions without a column as a JSON object
// (keys sorted, as encoding/json sorts map keys). Invalid UTF-8 would be
// replaced silently by encoding/json: refuse it instead, the value would
// not be the snapshot's.
func marshalDims(dims map[string]string) ([]byte, error) {
	for k, v := range dims {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: dimension %q=%q is not UTF-8", errInvalid, k, v)
		}
	}
	b, err := json.Marshal(dims)
	if err != nil {
		return nil, fmt.Errorf("%w: dimensions: %w", errInvalid, err)
	}
	return b, nil
}

// bytesOrNil makes an absent sketch NULL rather than an empty bytea.
func bytesOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// dayOf returns the UTC midnight starting t's day.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
