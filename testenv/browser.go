package testenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Browser is a headless Chromium of a test's own, driven through
// chromedriver with the W3C WebDriver protocol: JSON over HTTP on a
// loopback port, spoken here with net/http — no npm, no Selenium client.
// The browser runs --headless --no-sandbox --disable-gpu (root in a
// container has no sandbox, and there is no display), with a profile in
// the test's temp dir. The session is closed and chromedriver stopped
// when the test ends.
type Browser struct {
	t       testing.TB
	base    string // http://127.0.0.1:PORT/session/ID
	driver  *Process
	hc      *http.Client
	session string
}

// webElement is the W3C key of an element reference.
const webElement = "element-6066-11e4-a52e-4f735466cecf"

// browserTimeout bounds one WebDriver command (a page load included).
const browserTimeout = 60 * time.Second

// StartBrowser starts chromedriver and a Chromium session. Without
// chromium or chromedriver the test skips, or fails under CI=1
// (scripts/test.sh installs Debian's chromium and chromium-driver).
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	chromium := NeedTool(t, "chromium", "chromium")
	driver := NeedTool(t, "chromedriver", "chromium-driver")
	dir := t.TempDir()
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	b := &Browser{t: t, hc: &http.Client{Timeout: browserTimeout}}
	b.driver = Start(t, dir, "chromedriver", driver, "--port="+port, "--allowed-ips=127.0.0.1", "--log-path="+filepath.Join(dir, "chromedriver-verbose.log"))
	root := "http://" + addr
	if !Eventually(30*time.Second, func() bool {
		var st struct {
			Ready bool `json:"ready"`
		}
		return b.call(http.MethodGet, root+"/status", nil, &st) == nil && st.Ready
	}) {
		t.Fatalf("testenv: chromedriver not ready on %s after 30s:\n%s", addr, b.driver.Tail(20))
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--window-size=1280,1000", "--user-data-dir=" + filepath.Join(dir, "profile"),
				"--no-first-run", "--disable-extensions", "--disable-background-networking"},
		},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(http.MethodPost, root+"/session", caps, &sess); err != nil {
		t.Fatalf("testenv: new browser session: %v\n%s", err, b.driver.Tail(20))
	}
	b.session, b.base = sess.SessionID, root+"/session/"+sess.SessionID
	t.Cleanup(b.close)
	return b
}

// close ends the session (Chromium exits with it), then chromedriver.
func (b *Browser) close() {
	if b.session != "" {
		if err := b.call(http.MethodDelete, b.base, nil, nil); err != nil {
			b.t.Logf("testenv: close browser session: %v", err)
		}
		b.session = ""
	}
	b.driver.Stop(10 * time.Second)
}

// wdError is a WebDriver error's value.
type wdError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// call sends one command and decodes its value into out (if non-nil).
func (b *Browser) call(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: %s: %w", method, url, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e wdError
		_ = json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%s %s: %s: %s: %s", method, url, resp.Status, e.Error, firstLine(e.Message))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Value, out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// cmd runs a command of the session, failing the test on error.
func (b *Browser) cmd(method, path string, body, out any) {
	b.t.Helper()
	if err := b.call(method, b.base+path, body, out); err != nil {
		b.t.Fatalf("testenv: browser: %v", err)
	}
}

// Navigate loads url and waits for the page's load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.cmd(http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

// Find returns the reference of the first element matching css, failing
// the test if there is none.
func (b *Browser) Find(css string) string {
	b.t.Helper()
	var el map[string]string
	b.cmd(http.MethodPost, "/element", map[string]string{"using": "css selector", "value": css}, &el)
	return el[webElement]
}

// Click clicks the first element matching css, as a user would (an
// <option> so clicked is selected, firing change).
func (b *Browser) Click(css string) {
	b.t.Helper()
	b.cmd(http.MethodPost, "/element/"+b.Find(css)+"/click", map[string]any{}, nil)
}

// Eval runs script (a function body: arguments[0].., return ...) in the
// page and decodes what it returns into out (if non-nil).
func (b *Browser) Eval(out any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.cmd(http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// WaitTrue polls script until it returns true, failing the test with msg
// (and the page's text) after timeout.
func (b *Browser) WaitTrue(timeout time.Duration, msg, script string, args ...any) {
	b.t.Helper()
	ok := Eventually(timeout, func() bool {
		var v bool
		err := b.call(http.MethodPost, b.base+"/execute/sync", map[string]any{"script": script, "args": append([]any{}, args...)}, &v)
		return err == nil && v
	})
	if !ok {
		var text string
		_ = b.call(http.MethodPost, b.base+"/execute/sync", map[string]any{"script": "return document.body.innerText.slice(0, 2000)", "args": []any{}}, &text)
		b.t.Fatalf("timed out after %v: %s; the page says:\n%s", timeout, msg, text)
	}
}

// Screenshot saves a PNG of the window as name.png in ArtifactDir and
// logs where; it returns the path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	var enc string
	b.cmd(http.MethodGet, "/screenshot", nil, &enc)
	png, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		b.t.Fatalf("testenv: screenshot: %v", err)
	}
	path := filepath.Join(ArtifactDir(b.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("testenv: screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", path, len(png))
	return path
}

// ArtifactDir is where a test leaves files for people to look at:
// $PULSE_ARTIFACTS/<test name> if that is set (kept), else a directory in
// the test's temp dir (removed with it).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	var dir string
	if root := os.Getenv("PULSE_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	} else {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
