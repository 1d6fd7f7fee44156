package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// TestSyslogAndLogplexIntoAgent: the agent's syslog (TCP) and Logplex
// drain inputs, configured from YAML, take messages from real clients
// (logger, an HTTP drain post) into the file output.
func TestSyslogAndLogplexIntoAgent(t *testing.T) {
	logger := testenv.NeedTool(t, "logger", "bsdutils")
	dir := t.TempDir()
	syslogAddr, drainAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	out := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "pulse.yaml")
	writeFile(t, cfg, fmt.Sprintf(`data_dir: %s
admin: {listen: "off"}
inputs:
  - {name: syslog, type: syslog, listen: "tcp://%s", parse: syslog}
  - {name: drain, type: http, listen: %q, format: logplex}
outputs:
  - {name: out, type: file, path: %s, batch: {max_events: 100, max_bytes: 1MiB, max_wait: 20ms}}
`, filepath.Join(dir, "data"), syslogAddr, drainAddr, out))
	p := testenv.Start(t, dir, "agent", testenv.Binary(t), "agent", "-config", cfg)
	testenv.WaitListening(t, p, syslogAddr)
	testenv.WaitListening(t, p, drainAddr)

	host, port, _ := strings.Cut(syslogAddr, ":")
	for i := range 20 {
		cmd := exec.Command(logger, "--tcp", "--octet-count", "-n", host, "-P", port, "-t", "myapp", fmt.Sprintf("hello id=%d", i))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logger: %v %s", err, b)
		}
	}
	frames := []string{
		"<158>1 2026-11-21T10:00:00.000000+00:00 host heroku router - at=info method=GET path=\"/\" id=20",
		"<190>1 2026-11-21T10:00:01.000000+00:00 host app web.1 - hello from the drain id=21",
	}
	var body strings.Builder
	for _, f := range frames {
		fmt.Fprintf(&body, "%d %s", len(f), f)
	}
	req, _ := http.NewRequest("POST", "http://"+drainAddr+"/logs", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", "application/logplex-1")
	req.Header.Set("Logplex-Msg-Count", "2")
	req.Header.Set("Logplex-Frame-Id", "frame-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("drain post: %d", resp.StatusCode)
	}
	var ids *testenv.IDs
	testenv.WaitFor(t, 20*time.Second, "every syslog and drain message in the file output", func() bool {
		ids, _ = testenv.ScanDir(out, 22)
		return ids.Complete()
	})
	all, _ := os.ReadFile(mustGlob(t, filepath.Join(out, "*.log")))
	if !strings.Contains(string(all), "myapp") || !strings.Contains(string(all), "hello from the drain") {
		t.Errorf("messages not kept as received:\n%s", all)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("file output: %s", ids.Report())
}

func mustGlob(t *testing.T, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(pattern)
	if len(m) == 0 {
		t.Fatalf("nothing matches %s", pattern)
	}
	return m[0]
}
