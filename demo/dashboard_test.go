package demo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

// TestDemoDashboardKeep: pulse demo -keep ends by printing the dashboard's
// URL and serves it until SIGINT: its API answers with the demo's own
// metrics — router.service counts every router line gen wrote, once the
// mergers have merged them all — and the page is there; on SIGINT the
// demo exits 0 and reaps its children.
func TestDemoDashboardKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight processes; run without -short")
	}
	dir := t.TempDir()
	cmd := exec.Command(pulseBin, "demo", "-events", "20000", "-keep", "-q", "-dir", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out strings.Builder
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	stdout := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-scanned
			_ = cmd.Wait()
		}
	}()
	urlRE := regexp.MustCompile(`dashboard of the demo's metrics: (http://\S+) \(serving until Ctrl-C\)`)
	testenv.WaitFor(t, 2*time.Minute, "the demo's last line, the dashboard's URL", func() bool { return urlRE.MatchString(stdout()) })
	page := urlRE.FindStringSubmatch(stdout())[1]
	base := strings.TrimSuffix(page[:strings.Index(page, "#")], "/")

	log, err := os.ReadFile(filepath.Join(dir, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The demo's rule: router.service from lines with at=info.
	want := uint64(bytes.Count(log, []byte("heroku[router]: at=info")))
	var got uint64
	ok := testenv.Eventually(60*time.Second, func() bool {
		resp, err := http.Get(base + "/v1/metrics/router.service?from=-2h&step=1h")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var a struct {
			Series []struct {
				Points []struct {
					Count uint64 `json:"count"`
				} `json:"points"`
			} `json:"series"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&a) != nil {
			return false
		}
		got = 0
		for _, s := range a.Series {
			for _, p := range s.Points {
				got += p.Count
			}
		}
		return got == want
	})
	if !ok || want == 0 {
		t.Fatalf("router.service counts %d through the dashboard's API, gen wrote %d router lines", got, want)
	}
	resp, err := http.Get(base + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /: %v %v", err, resp)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-scanned
	err = cmd.Wait()
	exited = true
	if err != nil || !strings.Contains(stdout(), "stopped and reaped") {
		t.Fatalf("after SIGINT: %v\nstdout:\n%s\nstderr:\n%s", err, stdout(), stderr.String())
	}
	t.Logf("%d router lines, all counted through the dashboard at %s", want, page)
}
