package gen

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/protocol"
	"pulse/testenv"
)

// receiver is an HTTP server on 127.0.0.1 that decodes what gen sends and
// records the ids, failing the first failFirst requests with 503.
type receiver struct {
	t         testing.TB
	format    string
	ids       *idSet
	requests  atomic.Int64
	failFirst int64
	retryHdr  string

	mu       sync.Mutex
	arrivals []time.Time
	paths    map[string]int
	frameIDs map[string]int
}

func newReceiver(t testing.TB, format string) (*receiver, *httptest.Server) {
	r := &receiver{t: t, format: format, ids: newIDSet(), paths: map[string]int{}, frameIDs: map[string]int{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.requests.Add(1)
	r.mu.Lock()
	r.arrivals = append(r.arrivals, time.Now())
	r.paths[req.URL.Path]++
	r.mu.Unlock()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n <= r.failFirst {
		if r.retryHdr != "" {
			w.Header().Set("Retry-After", r.retryHdr)
		}
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if err := r.decode(req, body); err != nil {
		r.t.Errorf("request %d: %v", n, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

func (r *receiver) decode(req *http.Request, body []byte) error {
	h := req.Header
	switch r.format {
	case FormatPulse:
		if h.Get("Content-Type") != protocol.ContentType || h.Get("Content-Encoding") != "zstd" || h.Get(protocol.HeaderStream) != "events" || h.Get(protocol.HeaderBatchID) == "" {
			return decodeError("pulse headers: " + strings.Join([]string{h.Get("Content-Type"), h.Get("Content-Encoding"), h.Get(protocol.HeaderStream)}, " "))
		}
		raw, err := protocol.Decompress(nil, body, 64<<20)
		if err != nil {
			return err
		}
		n := 0
		err = protocol.Each(raw, protocol.Limits{}, func(rec []byte) error {
			n++
			id, err := parseID(rec)
			r.ids.add(id)
			return err
		})
		if err != nil {
			return err
		}
		if h.Get(protocol.HeaderEvents) != strconv.Itoa(n) {
			return decodeError("X-Pulse-Events " + h.Get(protocol.HeaderEvents) + ", records " + strconv.Itoa(n))
		}
	case FormatLogplex:
		if h.Get("Content-Type") != "application/logplex-1" {
			return decodeError("Content-Type " + h.Get("Content-Type"))
		}
		r.mu.Lock()
		r.frameIDs[h.Get("Logplex-Frame-Id")]++
		r.mu.Unlock()
		n := 0
		for p := body; len(p) > 0; n++ {
			sp := bytes.IndexByte(p, ' ')
			size, err := strconv.Atoi(string(p[:max(sp, 0)]))
			if sp < 0 || err != nil || size > len(p)-sp-1 {
				return decodeError("bad octet count at " + strconv.Quote(string(p[:min(20, len(p))])))
			}
			frame := p[sp+1 : sp+1+size]
			p = p[sp+1+size:]
			msg, ok := bytes.CutSuffix(frame, []byte("\n"))
			if !ok {
				return decodeError("frame without its newline")
			}
			app, proc, text, err := parseSyslog(msg, true)
			if err != nil {
				return err
			}
			if app != "heroku" && app != "app" || proc == "" {
				return decodeError("APP " + app + " PROCID " + proc)
			}
			id, err := parseID([]byte(text))
			if err != nil {
				return err
			}
			r.ids.add(id)
		}
		if h.Get("Logplex-Msg-Count") != strconv.Itoa(n) {
			return decodeError("Logplex-Msg-Count " + h.Get("Logplex-Msg-Count") + ", frames " + strconv.Itoa(n))
		}
	default:
		if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !bytes.HasSuffix(body, []byte("\n")) {
			return decodeError("lines: Content-Type " + h.Get("Content-Type"))
		}
		for _, l := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			id, err := parseID(l)
			if err != nil {
				return err
			}
			r.ids.add(id)
		}
	}
	return nil
}

func TestHTTPFormats(t *testing.T) {
	tests := []struct {
		format, path, wantPath string
	}{
		{FormatLines, "", "/"},
		{FormatLines, "/ingest", "/ingest"},
		{FormatPulse, "", protocol.Path},
		{FormatLogplex, "/drain", "/drain"},
	}
	const count, batch = 2500, 300
	for _, tt := range tests {
		t.Run(tt.format+tt.path, func(t *testing.T) {
			r, srv := newReceiver(t, tt.format)
			st, _ := run(t, context.Background(), Options{Seed: 2, Count: count, Out: srv.URL + tt.path, Format: tt.format, Batch: batch})
			r.ids.check(t, count)
			wantReqs := int64((count + batch - 1) / batch)
			if st.Events != count || st.Requests != wantReqs || r.requests.Load() != wantReqs || st.Retries != 0 {
				t.Fatalf("%d events in %d requests (%d received, %d retries), want %d in %d",
					st.Events, st.Requests, r.requests.Load(), st.Retries, count, wantReqs)
			}
			if r.paths[tt.wantPath] != int(wantReqs) {
				t.Fatalf("paths %v, want %s", r.paths, tt.wantPath)
			}
			if tt.format == FormatLogplex && len(r.frameIDs) != int(wantReqs) {
				t.Fatalf("%d distinct Logplex-Frame-Ids for %d requests", len(r.frameIDs), wantReqs)
			}
		})
	}
}

func TestHTTPRetryLosesNothing(t *testing.T) {
	for _, format := range []string{FormatLines, FormatPulse, FormatLogplex} {
		t.Run(format, func(t *testing.T) {
			r, srv := newReceiver(t, format)
			r.failFirst = 4
			st, _ := run(t, context.Background(), Options{Count: 1000, Batch: 250, Out: srv.URL, Format: format, Timeout: 30 * time.Second})
			r.ids.check(t, 1000)
			if st.Retries != 4 || st.Requests != 8 {
				t.Fatalf("%d requests, %d retries; want 8 and 4", st.Requests, st.Retries)
			}
			if format == FormatLogplex && len(r.frameIDs) != 4 {
				t.Fatalf("a retry changed its Logplex-Frame-Id: %v", r.frameIDs)
			}
		})
	}
}

func TestHTTPHonoursRetryAfter(t *testing.T) {
	r, srv := newReceiver(t, FormatLines)
	r.failFirst = 1
	r.retryHdr = "1"
	run(t, context.Background(), Options{Count: 10, Out: srv.URL, Timeout: 30 * time.Second})
	r.ids.check(t, 10)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.arrivals) != 2 {
		t.Fatalf("%d requests, want 2", len(r.arrivals))
	}
	if gap := r.arrivals[1].Sub(r.arrivals[0]); gap < 900*time.Millisecond {
		t.Fatalf("retried after %v despite Retry-After: 1", gap)
	}
}

func TestHTTPGivesUp(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		maxTime time.Duration
		want    string
	}{
		{"keeps failing", http.StatusServiceUnavailable, 10 * time.Second, "giving up"},
		{"bad request", http.StatusBadRequest, 5 * time.Second, "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				requests.Add(1)
				http.Error(w, "no", tt.status)
			}))
			defer srv.Close()
			start := time.Now()
			st, err := Run(context.Background(), Options{Count: 10, Out: srv.URL, Timeout: 300 * time.Millisecond}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if el := time.Since(start); el > tt.maxTime {
				t.Fatalf("gave up after %v", el)
			}
			if tt.status == http.StatusBadRequest && requests.Load() != 1 {
				t.Fatalf("400 retried: %d requests", requests.Load())
			}
			if st.Events != 10 {
				t.Fatalf("%d events generated, want 10", st.Events)
			}
		})
	}
}

// A server that is down at first: gen retries refused connections until
// it comes up, and nothing is lost.
func TestHTTPConnectionRefusedThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on

	var logs testenv.SyncBuffer
	done := make(chan error, 1)
	var st Stats
	go func() {
		var err error
		st, err = Run(context.Background(), Options{
			Count: 50, Batch: 10, Out: "http://" + addr, Timeout: 20 * time.Second,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		}, nil)
		done <- err
	}()
	testenv.WaitFor(t, 10*time.Second, "a refused attempt", func() bool { return strings.Contains(logs.String(), "retrying batch") })

	r := &receiver{t: t, format: FormatLines, ids: newIDSet(), paths: map[string]int{}, frameIDs: map[string]int{}}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: r}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() { srv.Close(); <-served }()

	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not finish")
	}
	r.ids.check(t, 50)
	if st.Retries == 0 || !strings.Contains(logs.String(), "connection refused") {
		t.Fatalf("%d retries; log:\n%s", st.Retries, logs.String())
	}
}

// Cancelled while a batch is being retried, Run still delivers it, under
// the same batch id, and returns nil.
func TestHTTPCancelFlushes(t *testing.T) {
	r, srv := newReceiver(t, FormatPulse)
	r.failFirst = 2
	var batchIDs sync.Map
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		batchIDs.Store(req.Header.Get(protocol.HeaderBatchID), true)
		r.ServeHTTP(w, req)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Run(ctx, Options{Count: 1_000_000, Rate: 2000, Batch: 50, Out: srv.URL, Format: FormatPulse, Timeout: 30 * time.Second}, nil)
		done <- result{st, err}
	}()
	testenv.WaitFor(t, 10*time.Second, "the first request", func() bool { return r.requests.Load() >= 1 })
	cancel()
	var res result
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.st.Events != 50 {
		t.Fatalf("%d events generated, want the one batch of 50", res.st.Events)
	}
	r.ids.check(t, 50)
	n := 0
	batchIDs.Range(func(k, v any) bool { n++; return k == "1" })
	if n != 1 || r.requests.Load() != 3 {
		t.Fatalf("%d batch ids over %d requests, want 1 over 3", n, r.requests.Load())
	}
}
