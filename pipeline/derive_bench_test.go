package pipeline

import (
	"testing"
	"time"

	"pulse/gen"
	"pulse/metrics"
)

// BenchmarkDeriveRouter measures the agent's aggregation: Heroku router
// lines from gen through l2met scanning, rule matching and fragment
// updates (the rules of the accuracy test, e2e/accuracy_test.go, with
// router.service grouped by dyno and status as in issue 5), reported as
// events per second on one goroutine, as one input drives it.
func BenchmarkDeriveRouter(b *testing.B) {
	const lines = 100_000
	now := time.Now()
	window := 10 * time.Second
	// Ten seconds of lines, from the start of the previous window: the
	// windows stay open, so the fragments are updated, not created.
	g, err := gen.New(gen.Options{Seed: 1, Mix: gen.Mix{Router: 100}, Start: now.Truncate(window).Add(-window), Step: window / lines})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([][]byte, lines)
	bytes := 0
	for i := range evs {
		evs[i] = g.Next(nil)
		bytes += len(evs[i])
	}
	agg := metrics.NewAggregator(metrics.AggOptions{Agent: "bench", Window: window, LateWindows: 1000})
	d, err := newDeriver(MetricsOptions{Aggregator: agg, L2met: true, Rules: []Rule{
		{Name: "router.service", Match: map[string]string{"at": "info"}, Value: "service", Kind: metrics.Measure, GroupBy: []string{"dyno", "status"}},
		{Name: "router.connect", Match: map[string]string{"at": "*"}, Value: "connect", Kind: metrics.Measure, GroupBy: []string{"dyno"}},
		{Name: "router.errors", Match: map[string]string{"at": "error"}, Kind: metrics.Counter, GroupBy: []string{"code"}},
		{Name: "router.clients", Match: map[string]string{"at": "*"}, Value: "fwd", Kind: metrics.Unique},
	}})
	if err != nil {
		b.Fatal(err)
	}
	d.observeAll(evs, now) // keys interned, sketches grown: the steady state
	sc := new(scratch)
	b.SetBytes(int64(bytes / lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := d.observe(sc, evs[i%lines], now); !ok {
			b.Fatalf("line %d observed nothing: %s", i%lines, evs[i%lines])
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if st := agg.Stats(); st.DroppedLate != 0 || st.Invalid != 0 {
		b.Fatalf("aggregator dropped observations: %+v", st)
	}
}
