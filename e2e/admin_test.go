package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"pulse/testenv"
)

// TestAdminEndpoint: /metrics parses with the Prometheus text parser and
// its counters match what the test sent; /health turns 503 with a reason
// when the cluster is down; /status is JSON.
func TestAdminEndpoint(t *testing.T) {
	const lines = 50_000
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	if _, err := testenv.WriteLines(logFile, lines, 200); err != nil {
		t.Fatal(err)
	}
	sink := testenv.NewSink(t, lines)
	adminAddr := testenv.FreeAddr(t)
	cfg := filepath.Join(dir, "pulse.yaml")
	writeFile(t, cfg, fmt.Sprintf(`data_dir: %s
admin: {listen: %q}
shutdown_timeout: 1s
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
outputs:
  - name: archive
    type: http
    endpoints: [%q]
    retry_max: 200ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, filepath.Join(dir, "data"), adminAddr, logFile, sink.Addr))
	p := testenv.Start(t, dir, "agent", testenv.Binary(t), "agent", "-config", cfg)
	testenv.WaitListening(t, p, adminAddr)
	testenv.WaitFor(t, 30*time.Second, "every line at the sink", sink.IDs.Complete)

	var fams map[string]*dto.MetricFamily
	testenv.WaitFor(t, 10*time.Second, "metrics show every event delivered", func() bool {
		fams = scrape(t, "http://"+adminAddr+"/metrics")
		return value(fams, "pulse_output_events_total", "output", "archive") == lines
	})
	for _, c := range []struct {
		name, label, lv string
		want            float64
	}{
		{"pulse_input_events_total", "input", "app", lines},
		{"pulse_output_events_in_total", "output", "archive", lines},
		{"pulse_output_events_total", "output", "archive", lines},
		{"pulse_buffer_events", "output", "archive", 0},
		{"pulse_buffer_max_bytes", "output", "archive", 256 << 20},
		{"pulse_node_up", "endpoint", sink.Addr, 1},
	} {
		if got := value(fams, c.name, c.label, c.lv); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.lv, got, c.want)
		}
	}
	if code, body := get(t, "http://"+adminAddr+"/health"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/health = %d %q, want 200 ok", code, body)
	}
	var st struct {
		ID      string
		Outputs []struct {
			Name            string
			EventsDelivered int64 `json:"events_delivered"`
		}
	}
	_, body := get(t, "http://"+adminAddr+"/status")
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Outputs) != 1 || st.Outputs[0].EventsDelivered != lines {
		t.Errorf("/status: %v %+v\n%s", err, st, body)
	}

	// The cluster goes down: health says so once a batch fails.
	sink.SetStatus(http.StatusServiceUnavailable)
	if err := appendLines(logFile, "id=999999 after the sink went down"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "/health 503", func() bool {
		code, body := get(t, "http://"+adminAddr+"/health")
		return code == 503 && strings.Contains(body, "output archive: every node is down")
	})
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

func value(fams map[string]*dto.MetricFamily, name, label, lv string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == lv {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				}
			}
		}
	}
	return -1
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
