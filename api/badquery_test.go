package api_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// checkCatalog: GET /v1/metrics lists the data set's metrics with their
// dimensions' values and the hour held.
func checkCatalog(t *testing.T, ds *dataSet, base, token string) {
	var list struct {
		Metrics []struct {
			Name     string              `json:"name"`
			Kind     string              `json:"kind"`
			Unit     string              `json:"unit"`
			Dims     map[string][]string `json:"dims"`
			From     time.Time           `json:"from"`
			To       time.Time           `json:"to"`
			WindowsS []float64           `json:"window_s"`
		} `json:"metrics"`
		From      time.Time `json:"from"`
		To        time.Time `json:"to"`
		MaxPoints int       `json:"max_points"`
	}
	if code := get(t, base, "/v1/metrics", token, &list); code != 200 {
		t.Fatalf("GET /v1/metrics: %d", code)
	}
	var names []string
	for _, m := range list.Metrics {
		names = append(names, m.Name+"/"+m.Kind)
		if !m.From.Equal(ds.base) || !m.To.Equal(ds.base.Add(time.Hour)) || !slices.Equal(m.WindowsS, []float64{60}) {
			t.Errorf("%s: range %v–%v windows %v, want the hour from %v of 60 s windows", m.Name, m.From, m.To, m.WindowsS, ds.base)
		}
		if m.Name == "router.service" {
			if !slices.Equal(m.Dims["status"], []string{"2xx", "5xx"}) || !slices.Equal(m.Dims["dyno"], []string{"web.1", "web.2"}) || !slices.Equal(m.Dims["app"], []string{"shop"}) || m.Unit != "ms" {
				t.Errorf("router.service dims %v unit %q", m.Dims, m.Unit)
			}
		}
	}
	if !slices.Equal(names, []string{"router.requests/counter", "router.service/measure", "router.users/unique"}) {
		t.Errorf("metrics %v", names)
	}
	if !list.From.Equal(ds.base) || list.MaxPoints != 1440 {
		t.Errorf("list from %v max_points %d", list.From, list.MaxPoints)
	}
}

// checkBadQueries: each bad query gets its status and a reason naming the
// parameter; the token is required.
func checkBadQueries(t *testing.T, ds *dataSet, base, token string) {
	from, to := ds.base, ds.base.Add(time.Hour)
	for _, tc := range []struct {
		what, path, token string
		code              int
		param, reason     string
	}{
		{"unknown metric", seriesPath("no.such.metric", from, to), token, 404, "name", `unknown metric "no.such.metric"`},
		{"from after to", seriesPath("router.service", to, from), token, 400, "from", "is not before to"},
		{"from equals to", seriesPath("router.service", from, from), token, 400, "from", "is not before to"},
		{"step too fine for the range", seriesPath("router.service", to.Add(-48*time.Hour), to, "step", "1m"), token, 400, "step", "2880 points, more than max_points 1440"},
		{"range over max_range", seriesPath("router.service", to.Add(-30*24*time.Hour), to, "step", "1h"), token, 400, "from", "more than max_range 168h0m0s"},
		{"step not offered", seriesPath("router.service", from, to, "step", "5m"), token, 400, "step", "want 1m, 10m or 1h"},
		{"where without a value", seriesPath("router.service", from, to, "where", "status"), token, 400, "where", `"status": want dim:value`},
		{"where without a dimension", seriesPath("router.service", from, to, "where", ":5xx"), token, 400, "where", "want dim:value"},
		{"where with a bad name", seriesPath("router.service", from, to, "where", "st atus:5xx"), token, 400, "where", "want dim:value"},
		{"two group_by", seriesPath("router.service", from, to, "group_by", "status", "group_by", "dyno"), token, 400, "group_by", "one dimension only"},
		{"bad from", "/v1/metrics/router.service?from=yesterday", token, 400, "from", "want RFC 3339"},
		{"unknown parameter", seriesPath("router.service", from, to, "stpe", "1m"), token, 400, "stpe", "unknown parameter"},
		{"no token", seriesPath("router.service", from, to), "", 401, "", "bearer token"},
		{"wrong token", seriesPath("router.service", from, to), "s3cret-tokeN", 401, "", "bearer token"},
		{"token prefix", "/v1/metrics", "s3cret", 401, "", "bearer token"},
		{"unknown endpoint", "/v1/nothing", token, 404, "", "no such endpoint"},
	} {
		if tc.code == 401 && token == "" {
			continue // no token configured: nothing to refuse
		}
		var e errAnswer
		code := get(t, base, tc.path, tc.token, &e)
		if code != tc.code || e.Param != tc.param || !strings.Contains(e.Error, tc.reason) {
			t.Errorf("%s: %d param %q %q; want %d param %q with %q", tc.what, code, e.Param, e.Error, tc.code, tc.param, tc.reason)
		}
	}
	// A metric known but without data in the range: 200, no series.
	var a answer
	if code := get(t, base, seriesPath("router.service", from.Add(-24*time.Hour), from.Add(-23*time.Hour)), token, &a); code != 200 || len(a.Series) != 0 {
		t.Errorf("empty range: %d %+v", code, a)
	}
	// The page and its assets need no token; /v1/status does.
	for _, p := range []string{"/", "/assets/app.js", "/assets/style.css", "/health"} {
		if code := get(t, base, p, "", nil); code != 200 {
			t.Errorf("GET %s without token: %d", p, code)
		}
	}
	if code := get(t, base, "/v1/status", "", nil); token != "" && code != 401 {
		t.Errorf("GET /v1/status without token: %d", code)
	}
}
