package metrics

import (
	"io"
	"log/slog"
	"sync"
	"time"
)

// fakeClock is a settable clock for Aggregator.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// seqIDs hands out 1, 2, 3, ...
type seqIDs struct {
	mu   sync.Mutex
	next uint64
}

func (s *seqIDs) NextID() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return s.next, nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// t0 is a window-aligned instant for tests.
var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func key(name string, kind Kind, dims ...string) Key {
	k := Key{Name: name, Kind: kind, Unit: "ms"}
	for i := 0; i+1 < len(dims); i += 2 {
		k.Dims = append(k.Dims, Dim{Name: dims[i], Value: dims[i+1]})
	}
	SortDims(k.Dims)
	return k
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}
