package outputs

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/testenv"
)

var _ Output = (*HTTP)(nil)

// request is what a test server saw of one request.
type request struct {
	at      time.Time
	id      uint64
	events  int
	ctype   string
	header  http.Header
	body    []byte
	ackedAt int // batches acknowledged when the request arrived
}

// recorder is a test server's memory of its requests. respond decides each
// answer from the request's number (1-based).
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) add(q request) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
	return len(r.reqs)
}

func (r *recorder) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// newServer starts a server on 127.0.0.1 that records each request, then
// answers with respond(n) for the n-th request.
func newServer(t *testing.T, src *fakeSource, respond func(n int, w http.ResponseWriter)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		id, _ := strconv.ParseUint(r.Header.Get("X-Pulse-Batch-Id"), 10, 64)
		events, _ := strconv.Atoi(r.Header.Get("X-Pulse-Events"))
		n := rec.add(request{
			at: time.Now(), id: id, events: events, ctype: r.Header.Get("Content-Type"),
			header: r.Header.Clone(), body: body, ackedAt: src.acked(),
		})
		respond(n, w)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func ok(int, http.ResponseWriter) {}

// httpCounters is HTTPStats without its nodes: comparable with ==.
type httpCounters struct {
	Batches, Events, Bytes, Retries, DeadBatches, DeadEvents, Failures int64
	InFlight                                                           int
}

func counters(st HTTPStats) httpCounters {
	return httpCounters{
		Batches: st.Batches, Events: st.Events, Bytes: st.Bytes, Retries: st.Retries,
		DeadBatches: st.DeadBatches, DeadEvents: st.DeadEvents, Failures: st.Failures,
		InFlight: st.InFlight,
	}
}

func newTestHTTP(t *testing.T, opts HTTPOptions) *HTTP {
	t.Helper()
	if opts.DeadLetterDir == "" {
		opts.DeadLetterDir = filepath.Join(t.TempDir(), "dead")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	if opts.RetryInitial == 0 {
		opts.RetryInitial = time.Millisecond
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 10 * time.Millisecond
	}
	h, err := NewHTTP(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPDeliversEachBatchOnce(t *testing.T) {
	batches := makeBatches(50, 20)
	src := newFakeSource(batches...)
	srv, rec := newServer(t, src, ok)
	h := newTestHTTP(t, HTTPOptions{
		Endpoints:   []string{srv.URL + "/ingest"},
		ContentType: "application/x-ndjson",
		Headers:     map[string]string{"X-Stream": "events"},
		// Each payload names its own encoding.
		ContentEncoding: oddEncoding,
		MaxInFlight:     4,
	})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "50 acks", func() bool { return src.acked() == 50 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	reqs := rec.all()
	if len(reqs) != 50 {
		t.Fatalf("server got %d requests, want 50", len(reqs))
	}
	seen := make(map[uint64]bool)
	for _, q := range reqs {
		if seen[q.id] {
			t.Errorf("batch %d delivered twice", q.id)
		}
		seen[q.id] = true
		if q.id < 1 || q.id > 50 {
			t.Fatalf("unknown batch id %d", q.id)
		}
		want := batches[q.id-1]
		if !bytes.Equal(q.body, want.Payload) {
			t.Errorf("batch %d: body differs from payload", q.id)
		}
		if q.events != want.Events {
			t.Errorf("batch %d: X-Pulse-Events %d, want %d", q.id, q.events, want.Events)
		}
		if q.ctype != "application/x-ndjson" {
			t.Errorf("Content-Type %q", q.ctype)
		}
		if got := q.header.Get("X-Stream"); got != "events" {
			t.Errorf("X-Stream header %q", got)
		}
		if got, want := q.header.Get("Content-Encoding"), oddEncoding(want.Payload); got != want {
			t.Errorf("batch %d: Content-Encoding %q, want %q", q.id, got, want)
		}
	}
	for id, n := range src.ackCalls() {
		if n != 1 {
			t.Errorf("batch %d acked %d times", id, n)
		}
	}
	var events, size int64
	for _, b := range batches {
		events += int64(b.Events)
		size += int64(len(b.Payload))
	}
	st := h.Stats()
	want := httpCounters{Batches: 50, Events: events, Bytes: size}
	if got := counters(st); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	wantNodes := []NodeStats{{Endpoint: srv.URL + "/ingest", Up: true, Batches: 50, Events: events}}
	if !slices.Equal(st.Nodes, wantNodes) {
		t.Errorf("nodes %+v, want %+v", st.Nodes, wantNodes)
	}
}

// oddEncoding names the payloads of batches 1 and 10–19 "ones", others
// nothing.
func oddEncoding(p []byte) string {
	if bytes.HasPrefix(p, []byte("batch=1")) {
		return "ones"
	}
	return ""
}

func TestHTTPRetriesUntilSuccess(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		failures int
	}{
		{"503 x3", http.StatusServiceUnavailable, 3},
		{"500 x1", http.StatusInternalServerError, 1},
		{"502 x2", http.StatusBadGateway, 2},
		{"408 x1", http.StatusRequestTimeout, 1},
		{"429 x2 without Retry-After", http.StatusTooManyRequests, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := makeBatches(1, 5)[0]
			src := newFakeSource(b)
			srv, rec := newServer(t, src, func(n int, w http.ResponseWriter) {
				if n <= tc.failures {
					w.WriteHeader(tc.status)
				}
			})
			h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}})
			start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
			testenv.WaitFor(t, 10*time.Second, "the ack", func() bool { return src.acked() == 1 })

			reqs := rec.all()
			if len(reqs) != tc.failures+1 {
				t.Fatalf("server got %d requests, want %d", len(reqs), tc.failures+1)
			}
			for i, q := range reqs {
				if q.ackedAt != 0 {
					t.Errorf("request %d: batch already acked before success", i+1)
				}
				if !bytes.Equal(q.body, b.Payload) {
					t.Errorf("request %d: body differs", i+1)
				}
			}
			st := h.Stats()
			if st.Retries != int64(tc.failures) || st.Failures != int64(tc.failures) || st.Batches != 1 || st.DeadBatches != 0 {
				t.Errorf("stats %+v, want %d retries and failures, 1 batch", st, tc.failures)
			}
		})
	}
}

func TestHTTPHonoursRetryAfter(t *testing.T) {
	src := newFakeSource(makeBatches(1, 3)...)
	srv, rec := newServer(t, src, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}})
	start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "the ack", func() bool { return src.acked() == 1 })

	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, want 2", len(reqs))
	}
	// The backoff step is 1-10ms: only Retry-After explains a 1s gap.
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second || gap > 3*time.Second {
		t.Errorf("retry came %v after the 429, want about 1s", gap)
	}
	if st := h.Stats(); st.Retries != 1 {
		t.Errorf("retries %d, want 1", st.Retries)
	}
}

func TestHTTPDeadLetter(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			b := makeBatches(1, 7)[0]
			b.ID = 42
			src := newFakeSource(b)
			srv, rec := newServer(t, src, func(_ int, w http.ResponseWriter) {
				w.WriteHeader(status)
				io.WriteString(w, "bad batch: line 3")
			})
			dir := filepath.Join(t.TempDir(), "dead")
			h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}, DeadLetterDir: dir})
			start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
			testenv.WaitFor(t, 10*time.Second, "the ack", func() bool { return src.acked() == 1 })

			if n := rec.count(); n != 1 {
				t.Errorf("server got %d requests, want 1: a rejected batch is not retried", n)
			}
			payloads, _ := filepath.Glob(filepath.Join(dir, "*-42.batch"))
			reasons, _ := filepath.Glob(filepath.Join(dir, "*-42.reason"))
			if len(payloads) != 1 || len(reasons) != 1 {
				t.Fatalf("dead letters: %v %v, want one .batch and one .reason", payloads, reasons)
			}
			got, err := os.ReadFile(payloads[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, b.Payload) {
				t.Errorf("dead letter payload differs")
			}
			reason, err := os.ReadFile(reasons[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"status: " + strconv.Itoa(status), "batch: 42", "events: 7", `body: "bad batch: line 3"`} {
				if !strings.Contains(string(reason), want) {
					t.Errorf("reason lacks %q:\n%s", want, reason)
				}
			}
			want := httpCounters{DeadBatches: 1, DeadEvents: 7, Failures: 1}
			if st := counters(h.Stats()); st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
		})
	}
}

func TestHTTPDeadLetterWriteFailureIsNotAcked(t *testing.T) {
	src := newFakeSource(makeBatches(1, 2)...)
	srv, rec := newServer(t, src, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) })
	dir := filepath.Join(t.TempDir(), "dead")
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}, DeadLetterDir: dir})
	// Make the dead-letter directory unusable (a plain file in its place).
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "3 attempts", func() bool { return rec.count() >= 3 })
	if n := src.acked(); n != 0 {
		t.Fatalf("batch acked although its dead letter was not written")
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the ack", func() bool { return src.acked() == 1 })
	if files, _ := filepath.Glob(filepath.Join(dir, "*.batch")); len(files) != 1 {
		t.Errorf("dead letters %v, want 1", files)
	}
	if st := h.Stats(); st.DeadBatches != 1 {
		t.Errorf("dead batches %d, want 1", st.DeadBatches)
	}
}

func TestHTTPFailsOverToLiveEndpoint(t *testing.T) {
	// A port nothing listens on: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	src := newFakeSource(makeBatches(20, 4)...)
	srv, rec := newServer(t, src, ok)
	h := newTestHTTP(t, HTTPOptions{
		Endpoints:    []string{dead, srv.URL},
		MaxInFlight:  2,
		RetryInitial: time.Second, // a backoff would show as a slow test
		RetryMax:     time.Second,
	})
	start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "20 acks", func() bool { return src.acked() == 20 })

	if n := rec.count(); n != 20 {
		t.Errorf("live endpoint got %d requests, want 20", n)
	}
	st := h.Stats()
	if st.Failures == 0 || st.Retries != st.Failures || st.Batches != 20 {
		t.Errorf("stats %+v: want some failures, as many retries, 20 batches", st)
	}
}

func TestHTTPCancelMidRetry(t *testing.T) {
	src := newFakeSource(makeBatches(1, 2)...)
	srv, rec := newServer(t, src, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}, RetryInitial: 20 * time.Millisecond})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "3 attempts", func() bool { return rec.count() >= 3 })

	began := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}
	if src.acked() != 0 || src.outstanding() != 1 {
		t.Errorf("acked %d, outstanding %d: want the batch left unacked", src.acked(), src.outstanding())
	}
	if st := h.Stats(); st.InFlight != 0 {
		t.Errorf("in flight %d after Run", st.InFlight)
	}
}

func TestHTTPCancelAbortsHangingRequest(t *testing.T) {
	src := newFakeSource(makeBatches(1, 2)...)
	release := make(chan struct{})
	srv, rec := newServer(t, src, func(_ int, w http.ResponseWriter) { <-release })
	t.Cleanup(func() { close(release) }) // runs before srv.Close, which waits for handlers
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}, Timeout: time.Minute})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "the request", func() bool { return rec.count() == 1 })

	began := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}
	if src.acked() != 0 {
		t.Errorf("abandoned batch was acked")
	}
}

// MaxInFlight is per node: with one node, it is the output's window. See
// TestHTTPMaxInFlightPerNode for two.
func TestHTTPMaxInFlightOneNode(t *testing.T) {
	const maxInFlight, total = 3, 12
	var active, peak atomic.Int64
	gate := make(chan struct{})
	src := newFakeSource(makeBatches(total, 2)...)
	srv, _ := newServer(t, src, func(_ int, w http.ResponseWriter) {
		n := active.Add(1)
		defer active.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-gate
	})
	var once sync.Once
	openGate := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(openGate)
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}, MaxInFlight: maxInFlight})
	start(t, func(ctx context.Context) error { return h.Run(ctx, src) })

	testenv.WaitFor(t, 10*time.Second, "a full window", func() bool {
		return active.Load() == maxInFlight && h.Stats().InFlight == maxInFlight
	})
	if n := src.outstanding(); n != maxInFlight {
		t.Errorf("%d batches taken from the source, want %d", n, maxInFlight)
	}
	openGate()
	testenv.WaitFor(t, 10*time.Second, "all acks", func() bool { return src.acked() == total })
	if p := peak.Load(); p != maxInFlight {
		t.Errorf("peak concurrency %d, want %d", p, maxInFlight)
	}
}

func TestNewHTTPRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opts HTTPOptions
	}{
		{"no endpoints", HTTPOptions{DeadLetterDir: dir}},
		{"no dead-letter dir", HTTPOptions{Endpoints: []string{"127.0.0.1:1"}}},
		{"bad scheme", HTTPOptions{Endpoints: []string{"ftp://127.0.0.1:1/"}, DeadLetterDir: dir}},
		{"no port", HTTPOptions{Endpoints: []string{"localhost"}, DeadLetterDir: dir}},
		{"unknown balance", HTTPOptions{Endpoints: []string{"127.0.0.1:1"}, Balance: "random", DeadLetterDir: dir}},
		{"endpoint twice", HTTPOptions{Endpoints: []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:1"}, DeadLetterDir: dir}},
		{"relative path", HTTPOptions{Endpoints: []string{"127.0.0.1:1"}, Path: "v1/batch", DeadLetterDir: dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHTTP(tc.opts); err == nil {
				t.Errorf("NewHTTP(%+v) = nil error", tc.opts)
			}
		})
	}
}

func TestHTTPRunTwiceAtOnce(t *testing.T) {
	src := newFakeSource()
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{"127.0.0.1:1"}})
	start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 5*time.Second, "Run to start", func() bool { return h.running.Load() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Run(ctx, src); err == nil {
		t.Error("second concurrent Run returned nil")
	}
}

func TestHTTPReconnectsAfterServerClosedIdleConnection(t *testing.T) {
	batches := makeBatches(2, 3)
	src := newFakeSource(batches[0])
	srv, rec := newServer(t, src, ok)
	h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}, MaxInFlight: 1})
	start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "the first ack", func() bool { return src.acked() == 1 })

	// The server drops the keep-alive connection the client holds idle.
	srv.CloseClientConnections()
	src.mu.Lock()
	src.queue = append(src.queue, batches[1])
	src.mu.Unlock()
	src.wake <- struct{}{}
	testenv.WaitFor(t, 10*time.Second, "the second ack", func() bool { return src.acked() == 2 })

	if n := rec.count(); n != 2 {
		t.Errorf("server got %d requests, want 2", n)
	}
	if st := h.Stats(); st.Failures != 0 {
		t.Errorf("%d failures: a stale connection should be retried at once", st.Failures)
	}
}
