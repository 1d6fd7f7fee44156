package api_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"pulse/admin"
	"pulse/api"
	"pulse/testenv"
)

// chartPoint is one plotted point as the dashboard's DOM holds it.
type chartPoint struct {
	Series string `json:"series"`
	T      string `json:"t"`
	V      string `json:"v"`
}

// readPoints returns the circles of the chart svg#id.
const readPoints = `return [...document.querySelectorAll('#' + arguments[0] + ' circle.pt')].map(c => ({series: c.dataset.series, t: c.dataset.t, v: c.dataset.v}))`

// TestDashboard loads the dashboard in headless Chromium over a file
// store holding the known data set, picks metrics, range and step as a
// user would, and checks the plotted points against the API and the raw
// values: the 10-minute p95s, the counts by status class, the counter's
// rate. The health table shows a healthy agent, a degraded merger and a
// target that is down. A screenshot is left as an artifact.
func TestDashboard(t *testing.T) {
	b := testenv.StartBrowser(t)
	ds := newDataSet(time.Now().UTC().Truncate(time.Hour).Add(-time.Hour))
	dir := t.TempDir()
	writeSnapshotFiles(t, dir, ds.snapshots(10))
	st, err := api.NewFiles(api.FileOptions{Dirs: []string{dir}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	agentAdmin := startAdmin(t, admin.Status{ID: "agent-1", Inputs: []admin.InputStatus{{Name: "app", Events: 12345}},
		Outputs: []admin.OutputStatus{{Name: "metrics", Events: 12000, Nodes: []admin.NodeStatus{{Endpoint: "m1", Up: true}}}}})
	mergerAdmin := startAdmin(t, admin.Status{ID: "merger-1", Merger: &admin.MergerStatus{FragmentsIn: 99},
		Outputs: []admin.OutputStatus{{Name: "db", Nodes: []admin.NodeStatus{{Endpoint: "db1:5432/metrics", Up: false}}}}})
	base := serve(t, api.Options{Store: st, Status: []api.StatusTarget{
		{Name: "agent-1", URL: "http://" + agentAdmin}, {Name: "merger-1", URL: "http://" + mergerAdmin},
		{Name: "gone", URL: "http://" + testenv.FreeAddr(t)},
	}})

	b.Navigate(base + "/")
	b.WaitTrue(30*time.Second, "the first render", `return document.body.dataset.state === 'ready' && document.body.dataset.renders >= 1`)

	// The counter: its rate chart, at the default 1m over the last hour.
	b.Click(`#metric option[value="router.requests"]`)
	b.Click(`#range option[value="6h"]`)
	b.WaitTrue(30*time.Second, "router.requests drawn", `return document.body.dataset.state === 'ready' &&
		document.getElementById('rate-title').textContent.startsWith('router.requests') &&
		document.getElementById('chart-rate').dataset.points === '60'`)
	var pts []chartPoint
	b.Eval(&pts, readPoints, "chart-rate")
	want := ds.expected("router.requests", time.Minute, nil)
	for _, p := range pts {
		e := want[parseT(t, p.T)]
		if e == nil || parseV(t, p.V) != e.sum/60 {
			t.Errorf("router.requests rate at %s: %s, want %v", p.T, p.V, e)
		}
	}

	// The measure at 10m: percentiles and counts by status class.
	b.Click(`#metric option[value="router.service"]`)
	b.Click(`#steps button[data-step="10m"]`)
	b.WaitTrue(30*time.Second, "router.service drawn at 10m", `return document.body.dataset.state === 'ready' &&
		document.getElementById('rate-title').textContent.startsWith('router.service') &&
		document.getElementById('meta').textContent.includes('10m steps') &&
		document.getElementById('chart-latency').dataset.points === '24' &&
		document.getElementById('chart-groups').dataset.points === '12'`)
	var a answer
	get(t, base, seriesPath("router.service", ds.base, ds.base.Add(time.Hour), "step", "10m"), "", &a)
	apiP95 := map[time.Time]float64{}
	for _, p := range a.Series[0].Points {
		apiP95[p.T] = *p.P95
	}
	b.Eval(&pts, readPoints, "chart-latency")
	p95s := 0
	for _, p := range pts {
		if p.Series != "p95" {
			continue
		}
		p95s++
		tm := parseT(t, p.T)
		exact := exactQuantile(ds.expected("router.service", 10*time.Minute, nil)[tm].values, 0.95)
		if v := parseV(t, p.V); v != apiP95[tm] {
			t.Errorf("plotted p95 at %s: %v, the API says %v (exact %v)", p.T, v, apiP95[tm], exact)
		}
	}
	if p95s != 6 {
		t.Errorf("%d p95 points, want 6", p95s)
	}
	b.Eval(&pts, readPoints, "chart-groups")
	for _, p := range pts {
		st := p.Series
		e := ds.expected("router.service", 10*time.Minute, func(o obs) bool { return dimValue(o.dims, "status") == st })[parseT(t, p.T)]
		if e == nil || parseV(t, p.V) != float64(e.count) {
			t.Errorf("count of %s at %s: %s, want %v", st, p.T, p.V, e)
		}
	}
	// The hidden table holds the same points.
	var rows int
	b.Eval(&rows, `return document.querySelectorAll('#points tbody tr[data-chart="latency"]').length`)
	if rows != 24 {
		t.Errorf("%d latency rows in #points, want 24", rows)
	}

	b.WaitTrue(30*time.Second, "the health table", `return document.querySelectorAll('#health tr[data-target]').length === 3`)
	var health map[string]string
	b.Eval(&health, `const o = {}; for (const r of document.querySelectorAll('#health tr[data-target]')) o[r.dataset.target] = r.dataset.state; return o`)
	if health["agent-1"] != "up" || health["merger-1"] != "degraded" || health["gone"] != "down" {
		t.Errorf("health %v: want agent-1 up, merger-1 degraded (every node down), gone down", health)
	}
	b.Screenshot("dashboard")
}

// startAdmin serves st on a real admin endpoint until the test ends.
func startAdmin(t *testing.T, st admin.Status) string {
	t.Helper()
	s, err := admin.Listen("127.0.0.1:0", func() admin.Status { return st }, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s.Addr()
}

func parseT(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("data-t %q: %v", s, err)
	}
	return tm.UTC()
}

func parseV(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("data-v %q: %v", s, err)
	}
	return v
}
