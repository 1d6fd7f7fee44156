package api

import (
	"context"
	"errors"
	"time"

	"pulse/metrics"
)

// Store is where the API reads stored windows from: the postgres output's
// shards (PostgresStore), or the merger's snapshot files (FileStore) for a
// machine without a database. It is the API's one seam: the handlers know
// nothing of SQL or files, and a store knows nothing of steps or points.
type Store interface {
	// Metrics lists every metric the store holds, with its dimensions
	// and time range.
	Metrics(ctx context.Context) ([]Metric, error)
	// Windows returns the stored windows of q.Name that q selects, at most
	// q.Limit of them: a store that finds more returns an error wrapping
	// ErrTooManyWindows instead, and never reads past q.Limit+1.
	Windows(ctx context.Context, q Query) ([]Window, error)
}

// ErrTooManyWindows is wrapped by a Store refusing a query that matches
// more than its Limit of stored windows.
var ErrTooManyWindows = errors.New("too many stored windows")

// Query selects stored windows of one metric.
type Query struct {
	Name string
	// From and To bound the windows' starts: From ≤ start < To.
	From, To time.Time
	// MaxLen, if > 0, leaves out windows longer than it: a step cannot
	// use them.
	MaxLen time.Duration
	// Where are dimensions each selected window has, with these values.
	Where []metrics.Dim
	// Limit is the most windows returned; more is an error (see Windows).
	Limit int
}

// Window is one stored window of one key: a merged snapshot's mergeable
// parts, what rolling windows up needs. Quantiles and unique counts are
// not stored values here but the sketches they come from.
type Window struct {
	Key    metrics.Key
	Start  time.Time
	Len    time.Duration
	Count  uint64
	Sum    float64
	SumSq  float64
	Min    float64
	Max    float64
	Sketch []byte // a measure's DDSketch (metrics.DecodeSketch); nil if not stored
	HLL    []byte // a unique key's HyperLogLog (metrics.DecodeHLL); nil if not stored
	// Last and LastTime: a sample's value with the latest event time.
	Last     float64
	LastTime time.Time
	Agents   int
	Seq      uint64 // the merger's order: of two copies of a window, the larger wins
}

// Metric is one metric in a store's catalog: a name with its kind and
// unit (a name could in principle carry two kinds: each is listed).
type Metric struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Unit string `json:"unit"`
	// Dims are the dimensions seen with the metric and, for each, its
	// values: at most MaxDimValues of them, sorted.
	Dims map[string][]string `json:"dims"`
	// Truncated names the dimensions with more values than listed.
	Truncated []string `json:"truncated,omitempty"`
	// From and To are the range held: the first window's start and the
	// last window's end.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// WindowsS are the stored window lengths, in seconds.
	WindowsS []float64 `json:"window_s"`
	// Windows counts the stored windows (key and window pairs).
	Windows int64 `json:"windows"`
}

// MaxDimValues bounds the values listed per dimension in the catalog.
const MaxDimValues = 100
