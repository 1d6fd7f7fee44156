package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"pulse/api"
	"pulse/metrics"
	"pulse/outputs"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// obs is one raw observation of the data set.
type obs struct {
	name  string
	kind  metrics.Kind
	unit  string
	dims  []metrics.Dim
	t     time.Time
	v     float64
	raw   string // a unique key's value
	agent string
}

// dataSet is a known hour of 1-minute windows: router.service (a measure
// in ms, by status, dyno and app), router.requests (a counter) and
// router.users (unique). Latencies are integers, so that every sum is
// exact in any order; every tenth minute's third is a slow spike, so that
// the mean of 1-minute p95s is far from a 10-minute p95.
type dataSet struct {
	base time.Time // the first window's start, on an hour
	obs  []obs
}

func newDataSet(base time.Time) *dataSet {
	ds := &dataSet{base: base}
	r := rand.New(rand.NewPCG(1, 2))
	for minute := 0; minute < 60; minute++ {
		for i := 0; i < 40; i++ {
			t := base.Add(time.Duration(minute)*time.Minute + time.Duration(i)*1500*time.Millisecond)
			status := "2xx"
			if i%10 == 7 || i%10 == 8 {
				status = "5xx"
			}
			dyno := fmt.Sprintf("web.%d", 1+i%2)
			v := float64(20 + r.IntN(80))
			if minute%10 == 3 {
				v = float64(2000 + r.IntN(3000)) // the spike
			}
			agent := "a" + dyno[4:]
			dims := []metrics.Dim{{Name: "app", Value: "shop"}, {Name: "dyno", Value: dyno}, {Name: "status", Value: status}}
			ds.obs = append(ds.obs,
				obs{name: "router.service", kind: metrics.Measure, unit: "ms", dims: dims, t: t, v: v, agent: agent},
				obs{name: "router.requests", kind: metrics.Counter, dims: dims[2:], t: t, v: 1, agent: agent},
				obs{name: "router.users", kind: metrics.Unique, dims: dims[:1], t: t, v: 1, raw: fmt.Sprintf("user%d", r.IntN(300)), agent: agent})
		}
	}
	return ds
}

// snapshots merges the data set as mergers do: an aggregator per agent
// making 1-minute fragments, one merger, every window final, with seq.
func (ds *dataSet) snapshots(seq uint64) []metrics.Snapshot { return ds.snapshotsOf(seq, time.Minute) }

// snapshotsOf is snapshots with windows of length win.
func (ds *dataSet) snapshotsOf(seq uint64, win time.Duration) []metrics.Snapshot {
	now := ds.base.Add(3 * time.Hour)
	aggs := map[string]*metrics.Aggregator{}
	for _, o := range ds.obs {
		a := aggs[o.agent]
		if a == nil {
			a = metrics.NewAggregator(metrics.AggOptions{Agent: o.agent, Window: win, LateWindows: 1 << 20,
				Now: func() time.Time { return now }, Logger: quietLogger()})
			aggs[o.agent] = a
		}
		a.Observe(metrics.Key{Name: o.name, Kind: o.kind, Unit: o.unit, Dims: slices.Clone(o.dims)}, o.v, o.t, []byte(o.raw))
	}
	m := metrics.NewMerger(metrics.MergeOptions{Logger: quietLogger()})
	for _, a := range aggs {
		for _, f := range a.FlushAll() {
			if !m.Add(f) {
				panic("fragment not merged: " + f.String())
			}
		}
	}
	snaps := m.Snapshots(now, true)
	for i := range snaps {
		snaps[i].Seq = seq
	}
	return snaps
}

// expect is the exact roll-up of the raw observations selected by keep,
// bucketed by step: what the API must answer.
type expect struct {
	count              uint64
	sum, sumSq         float64
	min, max           float64
	values             []float64
	uniques            map[string]bool
	minuteP95s         []float64 // the exact p95 of each 1-minute window in the step
	minuteUniquesTotal int
}

func (ds *dataSet) expected(name string, step time.Duration, keep func(o obs) bool) map[time.Time]*expect {
	out := map[time.Time]*expect{}
	minutes := map[time.Time][]float64{}
	minuteUniq := map[time.Time]map[string]bool{}
	for _, o := range ds.obs {
		if o.name != name || (keep != nil && !keep(o)) {
			continue
		}
		b := o.t.Truncate(step)
		e := out[b]
		if e == nil {
			e = &expect{min: math.Inf(1), max: math.Inf(-1), uniques: map[string]bool{}}
			out[b] = e
		}
		e.count++
		e.sum += o.v
		e.sumSq += o.v * o.v
		e.min, e.max = min(e.min, o.v), max(e.max, o.v)
		e.values = append(e.values, o.v)
		e.uniques[o.raw] = true
		m := o.t.Truncate(time.Minute)
		minutes[m] = append(minutes[m], o.v)
		if minuteUniq[m] == nil {
			minuteUniq[m] = map[string]bool{}
		}
		minuteUniq[m][o.raw] = true
	}
	for m, vs := range minutes {
		e := out[m.Truncate(step)]
		e.minuteP95s = append(e.minuteP95s, exactQuantile(vs, 0.95))
		e.minuteUniquesTotal += len(minuteUniq[m])
	}
	return out
}

// exactQuantile is the lower quantile the sketch approximates: the value
// at rank floor(q*(n-1)) of the sorted values.
func exactQuantile(vs []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	return s[int(q*float64(len(s)-1))]
}

// memSource hands batches of snapshots to an output and records acks.
type memSource struct {
	ch    chan outputs.Batch
	mu    sync.Mutex
	acked int
}

func newMemSource() *memSource { return &memSource{ch: make(chan outputs.Batch, 64)} }

// put queues snaps as batches of at most 500 snapshot lines.
func (m *memSource) put(snaps []metrics.Snapshot) int {
	n := 0
	for chunk := range slices.Chunk(snaps, 500) {
		var payload []byte
		for i := range chunk {
			payload = append(chunk[i].AppendJSON(payload), '\n')
		}
		n++
		m.ch <- outputs.Batch{ID: uint64(time.Now().UnixNano()), Payload: payload, Events: len(chunk)}
	}
	return n
}

func (m *memSource) Next(ctx context.Context) (outputs.Batch, error) {
	select {
	case b := <-m.ch:
		return b, nil
	case <-ctx.Done():
		return outputs.Batch{}, ctx.Err()
	}
}

func (m *memSource) Ack(uint64) error {
	m.mu.Lock()
	m.acked++
	m.mu.Unlock()
	return nil
}

func (m *memSource) ackedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acked
}

// serve runs an API server over st on a loopback port until the test
// ends, and returns its base URL.
func serve(t testing.TB, opts api.Options) string {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := api.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// get fetches base+path with the token (if any), returning the status
// and decoding a JSON body into out (if non-nil).
func get(t testing.TB, base, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %d %s: %v", path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// seriesPath is /v1/metrics/name with from and to as RFC 3339 and the
// other parameters as given ("step", "1m", "where", "status:5xx", ...).
func seriesPath(name string, from, to time.Time, kv ...string) string {
	v := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return "/v1/metrics/" + url.PathEscape(name) + "?" + v.Encode()
}

// answer is GET /v1/metrics/{name}, decoded.
type answer struct {
	Name    string    `json:"name"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	StepS   float64   `json:"step_s"`
	WindowS []float64 `json:"window_s"`
	Windows int       `json:"windows"`
	Skipped int       `json:"skipped"`
	Series  []struct {
		Kind   string            `json:"kind"`
		Unit   string            `json:"unit"`
		Group  map[string]string `json:"group"`
		Points []api.Point       `json:"points"`
	} `json:"series"`
}

// errAnswer is an error's body.
type errAnswer struct {
	Error string `json:"error"`
	Param string `json:"param"`
}
