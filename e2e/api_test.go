package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

// TestAPICommand runs the whole path to the Metrics API with the real
// binary: an agent tails l2met lines into 2 s fragments, a merger writes
// its snapshots to PostgreSQL, and `pulse api -config` — given the
// merger's own config file, whose api: section names its postgres output
// — answers for them: exact count, sum, min and max, the p95 of the 600
// values within the sketch's 1%, health of both processes; the token is
// required; SIGTERM stops it with status 0.
func TestAPICommand(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; run without -short")
	}
	root := t.TempDir()
	bin := testenv.Binary(t)
	pg := testenv.StartPostgres(t)
	mergerAddr, mergerAdmin, agentAdmin, apiAddr := testenv.FreeAddr(t), testenv.FreeAddr(t), testenv.FreeAddr(t), testenv.FreeAddr(t)
	merger := testenv.StartMerger(t, root, "merger", fmt.Sprintf(`data_dir: %%[1]s
admin: {listen: %q}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 500ms, finalize_after: 3s}
outputs:
  - name: db
    type: postgres
    shards: [%q]
    retry_initial: 100ms
    retry_max: 1s
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
api:
  output: db
  listen: %q
  token: e2e-token
  status:
    - {name: merger, url: "http://%s"}
    - {name: agent, url: "http://%s"}
`, mergerAdmin, mergerAddr, pg.DSN(), apiAddr, mergerAdmin, agentAdmin))
	testenv.WaitListening(t, merger.Process, mergerAddr)

	logFile := filepath.Join(root, "app.log")
	var lines strings.Builder
	for v := 1; v <= 600; v++ {
		fmt.Fprintf(&lines, "at=info source=web.%d measure#api.latency=%dms\n", 1+v%2, v)
	}
	writeFile(t, logFile, lines.String())
	agent := testenv.StartAgent(t, root, "agent", fmt.Sprintf(`id: agent1
data_dir: %%[1]s
admin: {listen: %q}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics: {window: 2s, l2met: true}
outputs:
  - name: metrics
    stream: fragments
    type: http
    endpoints: [%q]
    encoding: pulse
    balance: hash
    retry_max: 500ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, agentAdmin, logFile, mergerAddr))
	testenv.WaitListening(t, agent.Process, agentAdmin)

	api := testenv.Start(t, root, "api", bin, "api", "-config", filepath.Join(root, "merger.yaml"))
	testenv.WaitListening(t, api, apiAddr)
	base := "http://" + apiAddr
	getJSON := func(path, token string, out any) int {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		if out != nil && json.NewDecoder(resp.Body).Decode(out) != nil {
			return 0
		}
		return resp.StatusCode
	}
	type point struct {
		Count         uint64
		Sum, Min, Max float64
		P95           *float64
	}
	var a struct {
		Series []struct {
			Points []point
		}
	}
	var total point
	ok := testenv.Eventually(90*time.Second, func() bool {
		if getJSON("/v1/metrics/api.latency?from=-2h&step=1h", "e2e-token", &a) != 200 || len(a.Series) != 1 {
			return false
		}
		total = point{Min: 1e9}
		for _, p := range a.Series[0].Points {
			total.Count += p.Count
			total.Sum += p.Sum
			total.Min, total.Max = min(total.Min, p.Min), max(total.Max, p.Max)
			total.P95 = p.P95
		}
		return total.Count == 600
	})
	if !ok || total.Sum != 600*601/2 || total.Min != 1 || total.Max != 600 {
		t.Fatalf("api.latency through pulse api: %+v (ok %v), want count 600, sum 180300, min 1, max 600\n%s", total, ok, api.Tail(20))
	}
	if pts := a.Series[0].Points; len(pts) == 1 { // the run did not cross an hour
		if p95 := *pts[0].P95; p95 < 570*0.99 || p95 > 570*1.01 {
			t.Errorf("p95 %v, want 570 within 1%%", p95)
		}
	}
	if code := getJSON("/v1/metrics/api.latency", "", nil); code != 401 {
		t.Errorf("without the token: %d, want 401", code)
	}
	var st struct {
		Targets []struct {
			Name string
			Up   bool
			Role string
		}
	}
	getJSON("/v1/status", "e2e-token", &st)
	if len(st.Targets) != 2 || !st.Targets[0].Up || st.Targets[0].Role != "merger" || !st.Targets[1].Up || st.Targets[1].Role != "agent" {
		t.Errorf("status %+v: want the merger and the agent up", st.Targets)
	}
	api.Signal(syscall.SIGTERM)
	if err := api.Wait(30 * time.Second); err != nil {
		t.Errorf("pulse api after SIGTERM: %v\n%s", err, api.Tail(20))
	}
	if b, _ := os.ReadFile(filepath.Join(root, "api.log")); !strings.Contains(string(b), "dashboard at http://"+apiAddr) {
		t.Errorf("pulse api did not say where it listens:\n%s", b)
	}
}
