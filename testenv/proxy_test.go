package testenv

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echo is an upstream on 127.0.0.1 that answers 201 with the request's
// body and headers mirrored in its own ("Echo-" + name), and a body
// encoding of its own, to show answers pass through untouched.
type echo struct {
	addr string
	hits atomic.Int64
}

func newEcho(t *testing.T) *echo {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{addr: l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for name, vs := range r.Header {
			w.Header()["Echo-"+name] = vs
		}
		w.Header().Set("Echo-Path", r.URL.RequestURI())
		w.Header().Set("Content-Encoding", "x-test")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return e
}

func post(t *testing.T, addr string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/batch?x=1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, got
}

func TestProxyForwardsUnchanged(t *testing.T) {
	up := newEcho(t)
	p := NewProxy(t, up.addr)
	body := bytes.Repeat([]byte("\x28\xb5\x2f\xfd binary\x00\n"), 10_000)
	header := map[string]string{
		"Content-Encoding": "zstd",
		"Authorization":    "Bearer secret",
		"X-Pulse-Stream":   "fragments",
		"X-Pulse-Batch-Id": "42",
		"X-Pulse-Events":   "7",
		"X-Pulse-Agent":    "agent4",
	}
	resp, got := post(t, p.Addr(), body, header)
	if resp.StatusCode != http.StatusCreated || !bytes.Equal(got, body) {
		t.Fatalf("status %d, %d bytes back; want 201 and the %d bytes sent", resp.StatusCode, len(got), len(body))
	}
	for k, v := range header {
		if e := resp.Header.Get("Echo-" + k); e != v {
			t.Errorf("upstream saw %s %q, want %q", k, e, v)
		}
	}
	if e := resp.Header.Get("Echo-Path"); e != "/v1/batch?x=1" {
		t.Errorf("upstream saw path %q", e)
	}
	if e := resp.Header.Get("Content-Encoding"); e != "x-test" {
		t.Errorf("answer's Content-Encoding %q, want the upstream's x-test", e)
	}
	if s := p.Stats(); s != (ProxyStats{Forwarded: 1}) {
		t.Errorf("stats %+v, want one forwarded", s)
	}
}

func TestProxyFaults(t *testing.T) {
	up := newEcho(t)
	p := NewProxy(t, up.addr)

	p.SetStatus(http.StatusServiceUnavailable)
	for range 3 {
		resp, _ := post(t, p.Addr(), []byte("x"), nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("status %d Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if up.hits.Load() != 0 {
		t.Errorf("upstream got %d requests while the proxy refused", up.hits.Load())
	}

	// Faults for one sender only.
	p.FaultOnly(func(r *http.Request) bool { return r.Header.Get("X-Pulse-Agent") == "agent4" })
	if resp, _ := post(t, p.Addr(), []byte("x"), map[string]string{"X-Pulse-Agent": "agent1"}); resp.StatusCode != http.StatusCreated {
		t.Errorf("agent1: status %d, want 201 (forwarded)", resp.StatusCode)
	}
	if resp, _ := post(t, p.Addr(), []byte("x"), map[string]string{"X-Pulse-Agent": "agent4"}); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("agent4: status %d, want 503", resp.StatusCode)
	}
	p.FaultOnly(nil)
	p.SetStatus(0)

	const lag = 300 * time.Millisecond
	p.SetLatency(lag)
	start := time.Now()
	if resp, _ := post(t, p.Addr(), []byte("x"), nil); resp.StatusCode != http.StatusCreated {
		t.Errorf("with latency: status %d, want 201", resp.StatusCode)
	}
	if d := time.Since(start); d < lag {
		t.Errorf("request took %v, want at least the %v latency", d, lag)
	}
	p.SetLatency(0)

	// Delivered, but the sender hears a 502.
	p.LoseAnswers(true)
	before := up.hits.Load()
	if resp, _ := post(t, p.Addr(), []byte("x"), nil); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("answers lost: status %d, want 502", resp.StatusCode)
	}
	if up.hits.Load() != before+1 {
		t.Errorf("answers lost: the upstream got %d requests, want 1", up.hits.Load()-before)
	}
	p.LoseAnswers(false)

	if s := p.Stats(); s != (ProxyStats{Forwarded: 3, Refused: 4, Lost: 1}) {
		t.Errorf("stats %+v, want 3 forwarded, 4 refused, 1 lost", s)
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	p := NewProxy(t, FreeAddr(t)) // nobody listens there
	resp, body := post(t, p.Addr(), []byte("x"), nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "upstream") {
		t.Fatalf("status %d %q, want 502 naming the upstream", resp.StatusCode, body)
	}
	if s := p.Stats(); s.Failed != 1 || s.Forwarded != 1 {
		t.Errorf("stats %+v, want 1 forwarded and failed", s)
	}
}

// A delayed request ends when the proxy closes, instead of holding Close.
func TestProxyCloseEndsDelays(t *testing.T) {
	up := newEcho(t)
	p := NewProxy(t, up.addr)
	p.SetLatency(time.Hour)
	errc := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: time.Minute}
		resp, err := c.Post("http://"+p.Addr()+"/", "text/plain", strings.NewReader("x"))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	WaitFor(t, 10*time.Second, "the request waiting in the proxy", func() bool { return p.Stats().Delaying == 1 })
	start := time.Now()
	p.Close()
	select {
	case <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("the delayed request still runs 10 s after Close")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}
