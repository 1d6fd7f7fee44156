package testenv

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestBrowser drives a real headless Chromium: a page from a loopback
// server, an option picked and a button clicked as a user would, the DOM
// read back by script, a screenshot written; the session's browser is
// gone once the test ends.
func TestBrowser(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><body>
<select id="s"><option value="a">a</option><option value="b">b</option></select>
<button id="go" onclick="document.getElementById('out').textContent = 'picked ' + document.getElementById('s').value">go</button>
<p id="out"></p></body>`))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	b := StartBrowser(t)
	b.Navigate("http://" + ln.Addr().String() + "/")
	b.Click(`#s option[value="b"]`)
	b.Click("#go")
	b.WaitTrue(10*time.Second, "the click's effect", `return document.getElementById('out').textContent === 'picked ' + arguments[0]`, "b")
	var n int
	b.Eval(&n, "return arguments[0] + arguments[1]", 2, 3)
	if n != 5 {
		t.Errorf("Eval: %d", n)
	}
	png, err := os.ReadFile(b.Screenshot("page"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot: %v, %d bytes", err, len(png))
	}
}
