package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/protocol"
)

// fragSink decodes the fragments stored in it and merges them.
type fragSink struct {
	mu     sync.Mutex
	merger *metrics.Merger
	keys   map[string]uint64 // metric key → routing key seen
}

func (s *fragSink) PutKey(_ context.Context, key uint64, p []byte, _ int) error {
	body, err := protocol.Decompress(nil, p, 1<<30)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return protocol.Each(body, protocol.Limits{}, func(r []byte) error {
		f, err := metrics.DecodeFragment(r)
		if err != nil {
			return err
		}
		if prev, ok := s.keys[f.Key.String()]; ok && prev != key {
			return fmt.Errorf("key %s in buckets %d and %d", f.Key, prev, key)
		}
		s.keys[f.Key.String()] = key
		s.merger.Add(f)
		return nil
	})
}

func TestEventsBecomeFragments(t *testing.T) {
	sink := &fragSink{merger: metrics.NewMerger(metrics.MergeOptions{FinalizeAfter: time.Hour}), keys: map[string]uint64{}}
	agg := metrics.NewAggregator(metrics.AggOptions{Agent: "host-a", Window: 10 * time.Second, LateWindows: 1000, IDs: &seqIDs{}})
	r, err := NewRouter("host-a", []OutputOptions{
		{Name: "mergers", Stream: "fragments", Encoding: Pulse, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink, Buckets: 4},
	}, &MetricsOptions{Aggregator: agg, L2met: true, Rules: []Rule{
		{Name: "router.service", Match: map[string]string{"at": "info"}, Value: "service", Kind: metrics.Measure, GroupBy: []string{"dyno"}},
		{Name: "router.requests", Match: map[string]string{"status": "*"}, Kind: metrics.Counter},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sum := map[string]float64{}
	base := time.Now().UTC().Truncate(10 * time.Second).Add(-20 * time.Second)
	for i := range 300 {
		dyno := fmt.Sprintf("web.%d", i%3+1)
		service := i % 97
		ts := base.Add(time.Duration(i%10) * time.Second).Format("2006-01-02T15:04:05.000000-07:00")
		lines = append(lines, fmt.Sprintf("%s heroku[router]: at=info method=GET dyno=%s service=%dms status=200", ts, dyno, service))
		sum[dyno] += float64(service)
	}
	lines = append(lines, base.Format(time.RFC3339)+" app[web.1]: source=web.1 count#checkout=3 measure#db.query=1.5s",
		"at=error code=H12 status=503") // no leading time: the time of receipt
	in := batchOf(lines...)
	in.Time = time.Now()
	if err := r.Emit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]metrics.Snapshot{}
	for _, s := range sink.merger.Snapshots(time.Now(), true) {
		name := s.Name
		for _, d := range s.Dims {
			name += "," + d.Name + "=" + d.Value
		}
		// Sum over windows: the lines span three.
		g := got[name]
		g.Count += s.Count
		g.Sum += s.Sum
		g.Unit = s.Unit
		got[name] = g
	}
	for dyno, want := range sum {
		s, ok := got["router.service,dyno="+dyno]
		if !ok || s.Count != 100 || s.Sum != want || s.Unit != "ms" {
			t.Errorf("router.service %s = %+v, want count 100 sum %v ms", dyno, s, want)
		}
	}
	if s := got["router.requests"]; s.Count != 301 {
		t.Errorf("router.requests count = %d, want 301 (every line with a status)", s.Count)
	}
	if s := got["checkout,source=web.1"]; s.Sum != 3 {
		t.Errorf("l2met count#checkout = %+v", s)
	}
	if s := got["db.query,source=web.1"]; s.Sum != 1500 || s.Unit != "ms" {
		t.Errorf("l2met measure#db.query = %+v (1.5s → 1500 ms)", s)
	}
}

type seqIDs struct {
	mu sync.Mutex
	n  uint64
}

func (s *seqIDs) NextID() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.n, nil
}

func TestEventTime(t *testing.T) {
	recv := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ev   string
		want time.Time
	}{
		{"2026-11-21T10:00:00.5+00:00 heroku[router]: at=info", time.Date(2026, 11, 21, 10, 0, 0, 5e8, time.UTC)},
		{"<158>1 2026-11-21T11:00:00+00:00 host heroku router - at=info", time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)},
		{"<34>Nov 21 11:30:00 mymachine su: hi", time.Date(2026, 11, 21, 11, 30, 0, 0, time.UTC)},
		{"at=info no time", recv},
		{"<garbage", recv},
	}
	for _, tt := range tests {
		if got := eventTime([]byte(tt.ev), recv); !got.Equal(tt.want) {
			t.Errorf("eventTime(%q) = %v, want %v", tt.ev, got, tt.want)
		}
	}
}
