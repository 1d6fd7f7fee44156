package inputs

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/event"
	"pulse/protocol"
	"pulse/testenv"
)

// httpServer is an HTTP input running on 127.0.0.1 in the background.
type httpServer struct {
	h      *HTTP
	url    string // scheme://host:port
	cancel context.CancelFunc
	done   chan error
}

// startHTTP runs an HTTP input with opts (Listen defaults to
// 127.0.0.1:0) and emit until the test ends.
func startHTTP(t testing.TB, opts HTTPOptions, emit event.Emit) *httpServer {
	t.Helper()
	opts.Listen = cmp.Or(opts.Listen, "127.0.0.1:0")
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	h, err := NewHTTP(opts)
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &httpServer{h: h, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- h.Run(ctx, emit) }()
	select {
	case <-h.Ready():
	case err := <-s.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("HTTP input not ready")
	}
	scheme := "http"
	if opts.TLSCertFile != "" {
		scheme = "https"
	}
	s.url = scheme + "://" + h.Addr()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the input down and checks that Run returned nil in time.
func (s *httpServer) stop(t testing.TB) {
	t.Helper()
	if s.done == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	s.done = nil
}

// reply is a response, read whole.
type reply struct {
	status     int
	body       string
	retryAfter string
}

// post sends a request and reads the reply. headers are name, value pairs.
func post(t testing.TB, client *http.Client, method, url string, body []byte, headers ...string) reply {
	t.Helper()
	r, err := send(client, method, url, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func send(client *http.Client, method, url string, body []byte, headers ...string) (reply, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, body: string(b), retryAfter: resp.Header.Get("Retry-After")}, nil
}

// pulseBody encodes records as a protocol batch.
func pulseBody(records ...string) []byte {
	var w protocol.Writer
	w.Reset(nil)
	for _, r := range records {
		w.Append([]byte(r))
	}
	return w.Bytes()
}

func gzipped(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// laterCommitter is an Emit that records batches and commits each one from
// a goroutine of its own, usually after Emit has returned: a 200 must wait
// for it (TestHTTPAnswersOnlyAfterCommit holds a Commit back for certain).
type laterCommitter struct {
	rec recorder
	wg  sync.WaitGroup
}

func newLaterCommitter(t testing.TB) *laterCommitter {
	c := &laterCommitter{rec: recorder{hold: true}}
	t.Cleanup(c.wg.Wait)
	return c
}

func (c *laterCommitter) emit(ctx context.Context, b *event.Batch) error {
	if err := c.rec.emit(ctx, b); err != nil {
		return err
	}
	commit := b.Commit
	c.wg.Go(commit)
	return nil
}

func TestHTTPFormats(t *testing.T) {
	events := []string{`{"a":1}`, `{"msg":"two words","n":[1,2]}`, `{}`}
	lineBody := "first line\r\nsecond line\n\n  third, with spaces  \nlast without newline"
	lineEvents := []string{"first line", "second line", "  third, with spaces  ", "last without newline"}
	tests := []struct {
		name    string
		format  string
		path    string
		body    []byte
		headers []string
		want    []string
	}{
		{"pulse", FormatPulse, protocol.Path, pulseBody(events...),
			[]string{"Content-Type", protocol.ContentType, protocol.HeaderEvents, "3"}, events},
		{"pulse zstd", FormatPulse, protocol.Path, protocol.Compress(nil, pulseBody(events...)),
			[]string{"Content-Encoding", "zstd", protocol.HeaderStream, "events", protocol.HeaderBatchID, "b-1"}, events},
		{"pulse s2", FormatPulse, protocol.Path, protocol.CompressS2Block(nil, pulseBody(events...)),
			[]string{"Content-Encoding", "s2", protocol.HeaderStream, "events"}, events},
		{"pulse zstd unlabelled", FormatPulse, protocol.Path, protocol.Compress(nil, pulseBody(events...)),
			[]string{"Content-Type", protocol.ContentType}, events},
		{"pulse gzip", FormatPulse, protocol.Path, gzipped(t, pulseBody(events...)),
			[]string{"Content-Encoding", "gzip"}, events},
		{"pulse empty record kept", FormatPulse, protocol.Path, pulseBody("x", "", "y"), nil, []string{"x", "", "y"}},
		{"lines", FormatLines, "/", []byte(lineBody), nil, lineEvents},
		{"lines any path gzip", FormatLines, "/logs/app", gzipped(t, []byte(lineBody)),
			[]string{"Content-Encoding", "GZIP"}, lineEvents},
		{"ndjson", FormatNDJSON, "/", []byte(strings.Join(events, "\n") + "\n"), nil, events},
		{"ndjson crlf zstd", FormatNDJSON, "/x", protocol.Compress(nil, []byte(strings.Join(events, "\r\n"))),
			[]string{"Content-Encoding", "zstd"}, events},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lc := newLaterCommitter(t)
			s := startHTTP(t, HTTPOptions{Name: "in", Format: tc.format}, lc.emit)
			r := post(t, nil, "POST", s.url+tc.path, tc.body, tc.headers...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d %q, want 200", r.status, r.body)
			}
			equal(t, "events", lc.rec.events(), tc.want)
			if n := lc.rec.numBatches(); n != 1 {
				t.Errorf("%d batches, want 1", n)
			}
			if src := lc.rec.batch(0).source; !strings.HasPrefix(src, "127.0.0.1:") {
				t.Errorf("source %q, want the client's address", src)
			}
			var size int64
			for _, ev := range tc.want {
				size += int64(len(ev))
			}
			st := s.h.Stats()
			if st.Requests != 1 || st.Events != int64(len(tc.want)) || st.Bytes != size || st.Rejected.Total() != 0 {
				t.Errorf("stats %+v, want 1 request, %d events, %d bytes", st, len(tc.want), size)
			}
		})
	}
}

func TestHTTPEmptyBodyAccepted(t *testing.T) {
	rec := &recorder{}
	s := startHTTP(t, HTTPOptions{Format: FormatLines}, rec.emit)
	for _, body := range []string{"", "\n\r\n\n"} {
		if r := post(t, nil, "POST", s.url+"/", []byte(body)); r.status != http.StatusOK {
			t.Errorf("body %q: status %d %q, want 200", body, r.status, r.body)
		}
	}
	if n := rec.numBatches(); n != 0 {
		t.Errorf("%d batches emitted for empty bodies, want 0", n)
	}
}

func TestHTTPRejects(t *testing.T) {
	const token = "s3cret"
	const maxBody = 4096
	auth := []string{"Authorization", "Bearer " + token}
	good := pulseBody("one", "two", "three")
	truncated := good[:len(good)-2]
	withAuth := func(h ...string) []string { return append(h, auth...) }

	rec := &recorder{}
	servers := map[string]*httpServer{
		FormatPulse:  startHTTP(t, HTTPOptions{Format: FormatPulse, AuthToken: token, MaxBodyBytes: maxBody, MaxEvents: 50}, rec.emit),
		FormatNDJSON: startHTTP(t, HTTPOptions{Format: FormatNDJSON, AuthToken: token, MaxBodyBytes: maxBody}, rec.emit),
	}
	many := make([]string, 51)
	tests := []struct {
		name    string
		format  string
		method  string
		path    string
		body    []byte
		headers []string
		status  int
		count   func(HTTPRejected) int64
		msg     string // in the reply body
	}{
		{"oversized", FormatPulse, "POST", protocol.Path, pulseBody(strings.Repeat("x", maxBody)), auth,
			413, func(r HTTPRejected) int64 { return r.TooLarge }, "exceeds the limit of 4096 bytes"},
		{"truncated pulse body", FormatPulse, "POST", protocol.Path, truncated, auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, "record 2 at byte 12: length 5 exceeds the 3 bytes left"},
		{"bad magic", FormatPulse, "POST", protocol.Path, append([]byte("PLS2"), good[4:]...), auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, `missing "PLS1" magic`},
		{"not pulse at all", FormatPulse, "POST", protocol.Path, []byte("hello\n"), auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, "magic"},
		{"wrong X-Pulse-Events", FormatPulse, "POST", protocol.Path, good, withAuth(protocol.HeaderEvents, "4"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "X-Pulse-Events is 4 but the body has 3 records"},
		{"X-Pulse-Events not a number", FormatPulse, "POST", protocol.Path, good, withAuth(protocol.HeaderEvents, "three"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "not a count"},
		{"fragments stream", FormatPulse, "POST", protocol.Path, good, withAuth(protocol.HeaderStream, "fragments"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, `X-Pulse-Stream "fragments": this input takes the "events" stream`},
		{"too many records", FormatPulse, "POST", protocol.Path, pulseBody(many...), auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, "more than 50 records"},
		{"invalid zstd", FormatPulse, "POST", protocol.Path, good, withAuth("Content-Encoding", "zstd"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "zstd"},
		{"invalid s2", FormatPulse, "POST", protocol.Path, good, withAuth("Content-Encoding", "s2"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "s2"},
		{"s2 bomb", FormatPulse, "POST", protocol.Path, protocol.CompressS2Block(nil, pulseBody(strings.Repeat("x", 100000))), withAuth("Content-Encoding", "s2"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "decompressed body exceeds 4096 bytes"},
		{"invalid gzip", FormatNDJSON, "POST", "/", []byte(`{"a":1}`), withAuth("Content-Encoding", "gzip"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "gzip"},
		{"gzip bomb", FormatNDJSON, "POST", "/", gzipped(t, bytes.Repeat([]byte(`{"a":1}`+"\n"), 10000)), withAuth("Content-Encoding", "gzip"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "decompressed body exceeds 4096 bytes"},
		{"zstd bomb", FormatPulse, "POST", protocol.Path, protocol.Compress(nil, pulseBody(strings.Repeat("x", 100000))), withAuth("Content-Encoding", "zstd"),
			400, func(r HTTPRejected) int64 { return r.BadBody }, "decompressed body exceeds 4096 bytes"},
		{"unknown Content-Encoding", FormatPulse, "POST", protocol.Path, good, withAuth("Content-Encoding", "br"),
			415, func(r HTTPRejected) int64 { return r.WrongEncoding }, `unsupported Content-Encoding "br"`},
		{"non-JSON ndjson line", FormatNDJSON, "POST", "/", []byte("{\"a\":1}\n\nnot json\n{\"b\":2}\n"), auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, "line 3: not a JSON object"},
		{"ndjson array line", FormatNDJSON, "POST", "/", []byte("{\"a\":1}\n[1,2]\n"), auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, "line 2: not a JSON object"},
		{"ndjson unterminated object", FormatNDJSON, "POST", "/", []byte("{\"a\":1\n"), auth,
			400, func(r HTTPRejected) int64 { return r.BadBody }, "line 1: not a JSON object"},
		{"wrong token", FormatPulse, "POST", protocol.Path, good, []string{"Authorization", "Bearer s3cres"},
			401, func(r HTTPRejected) int64 { return r.Unauthorized }, "bearer token"},
		{"token with another scheme", FormatPulse, "POST", protocol.Path, good, []string{"Authorization", "Basic " + token},
			401, func(r HTTPRejected) int64 { return r.Unauthorized }, "bearer token"},
		{"missing token", FormatNDJSON, "POST", "/", []byte(`{"a":1}`), nil,
			401, func(r HTTPRejected) int64 { return r.Unauthorized }, "bearer token"},
		{"GET", FormatPulse, "GET", protocol.Path, nil, auth,
			405, func(r HTTPRejected) int64 { return r.Method }, "method GET not allowed"},
		{"PUT", FormatNDJSON, "PUT", "/", []byte(`{"a":1}`), auth,
			405, func(r HTTPRejected) int64 { return r.Method }, "method PUT not allowed"},
		{"pulse wrong path", FormatPulse, "POST", "/", good, auth,
			404, func(r HTTPRejected) int64 { return r.NotFound }, "/v1/batch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := servers[tc.format]
			before := s.h.Stats()
			r := post(t, nil, tc.method, s.url+tc.path, tc.body, tc.headers...)
			if r.status != tc.status || !strings.Contains(r.body, tc.msg) {
				t.Errorf("got %d %q, want %d with %q", r.status, r.body, tc.status, tc.msg)
			}
			after := s.h.Stats()
			if got := tc.count(after.Rejected) - tc.count(before.Rejected); got != 1 {
				t.Errorf("reason counted %d times, want 1 (%+v)", got, after.Rejected)
			}
			if got := after.Rejected.Total() - before.Rejected.Total(); got != 1 {
				t.Errorf("%d rejections counted, want 1 (%+v)", got, after.Rejected)
			}
			if n := rec.numBatches(); n != 0 {
				t.Fatalf("%d batches emitted for a rejected request, want 0: %q", n, rec.events())
			}

			// The server keeps serving good requests.
			body, path := good, protocol.Path
			if tc.format == FormatNDJSON {
				body, path = []byte(`{"ok":true}`), "/"
			}
			if r := post(t, nil, "POST", s.url+path, body, auth...); r.status != 200 {
				t.Fatalf("good request after: %d %q", r.status, r.body)
			}
			rec.mu.Lock()
			rec.batches = nil
			rec.mu.Unlock()
		})
	}
}

// Bodies over the limit found while reading (chunked) or announced with
// "Expect: 100-continue" are refused too.
func TestHTTPOversizedStreams(t *testing.T) {
	rec := &recorder{}
	s := startHTTP(t, HTTPOptions{Format: FormatNDJSON, MaxBodyBytes: 4096}, rec.emit)

	r := postChunked(t, s.url+"/", 4097)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "exceeds the limit of 4096 bytes") {
		t.Errorf("chunked: got %d %q, want 413", r.status, r.body)
	}

	// Announced: refused before the client sends the body.
	body := &byteCounter{r: bytes.NewReader(bytes.Repeat([]byte(`{"a":1}`+"\n"), 1000))}
	req, err := http.NewRequest("POST", s.url+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 8000
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body.n.Load() != 0 {
		t.Errorf("100-continue: got %d after sending %d body bytes, want 413 before any", resp.StatusCode, body.n.Load())
	}

	if st := s.h.Stats(); st.Requests != 2 || st.Rejected.TooLarge != 2 || st.Rejected.Total() != 2 || rec.numBatches() != 0 {
		t.Errorf("stats %+v, %d batches; want two requests rejected, too large, and nothing emitted", st, rec.numBatches())
	}
	if r := post(t, nil, "POST", s.url+"/", []byte(`{"ok":1}`)); r.status != 200 {
		t.Errorf("good request after: %d %q", r.status, r.body)
	}
}

// byteCounter counts the bytes read from it, from any goroutine.
type byteCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// postChunked sends a chunked body of n bytes (no Content-Length), so that
// the limit is found while reading rather than from the header.
func postChunked(t testing.TB, url string, n int, headers ...string) reply {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		line := []byte(`{"a":"` + strings.Repeat("x", 100) + `"}` + "\n")
		for sent := 0; sent < n; sent += len(line) {
			if _, err := pw.Write(line); err != nil {
				return // the server answered and closed: fine
			}
		}
		pw.Close()
	}()
	defer pr.Close()
	req, err := http.NewRequest("POST", url, pr)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("chunked POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: string(b)}
}

func TestHTTPPushBack(t *testing.T) {
	var calls sync.WaitGroup
	blocked := func(ctx context.Context, b *event.Batch) error {
		calls.Add(1)
		defer calls.Done()
		<-ctx.Done() // a buffer that stays full
		return fmt.Errorf("buffer full: %w", ctx.Err())
	}
	s := startHTTP(t, HTTPOptions{Format: FormatLines, PushBackAfter: 50 * time.Millisecond, RetryAfter: 2500 * time.Millisecond}, blocked)
	start := time.Now()
	r := post(t, nil, "POST", s.url+"/", []byte("a\nb\n"))
	if r.status != http.StatusServiceUnavailable || r.retryAfter != "3" {
		t.Errorf("got %d Retry-After %q (%q), want 503 with Retry-After 3", r.status, r.retryAfter, r.body)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered after %v, before PushBackAfter", d)
	}
	st := s.h.Stats()
	if st.Rejected.Full != 1 || st.Rejected.Total() != 1 || st.Events != 0 {
		t.Errorf("stats %+v, want one rejection, full", st)
	}
	calls.Wait()
}

func TestHTTPUnavailable(t *testing.T) {
	closed := func(context.Context, *event.Batch) error { return errors.New("pipeline closed") }
	s := startHTTP(t, HTTPOptions{Format: FormatLines}, closed)
	r := post(t, nil, "POST", s.url+"/", []byte("a\n"))
	if r.status != http.StatusServiceUnavailable || r.retryAfter != "1" {
		t.Errorf("got %d Retry-After %q, want 503 with Retry-After 1", r.status, r.retryAfter)
	}
	if st := s.h.Stats(); st.Rejected.Unavailable != 1 || st.Rejected.Total() != 1 {
		t.Errorf("stats %+v, want one rejection, unavailable", st)
	}
}

func TestHTTPAnswersOnlyAfterCommit(t *testing.T) {
	rec := &recorder{hold: true}
	s := startHTTP(t, HTTPOptions{Format: FormatPulse}, rec.emit)
	replies := make(chan reply, 1)
	go func() {
		r, err := send(nil, "POST", s.url+protocol.Path, pulseBody("e1", "e2"))
		if err != nil {
			r.body = err.Error()
		}
		replies <- r
	}()
	testenv.WaitFor(t, 5*time.Second, "the batch emitted", func() bool { return rec.numBatches() == 1 })
	// Emit has returned; the answer must still wait for Commit.
	select {
	case r := <-replies:
		t.Fatalf("answered %d %q before Commit", r.status, r.body)
	case <-time.After(100 * time.Millisecond):
	}
	rec.batch(0).commit()
	select {
	case r := <-replies:
		if r.status != http.StatusOK {
			t.Fatalf("after Commit: %d %q, want 200", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after Commit")
	}
	if st := s.h.Stats(); st.Events != 2 || st.Bytes != 4 {
		t.Errorf("stats %+v, want 2 events, 4 bytes", st)
	}
}

func TestHTTPShutdownWhileWaiting(t *testing.T) {
	rec := &recorder{hold: true} // never commits
	s := startHTTP(t, HTTPOptions{Format: FormatLines}, rec.emit)
	replies := make(chan reply, 1)
	go func() {
		r, err := send(nil, "POST", s.url+"/", []byte("a\n"))
		if err != nil {
			r.body = err.Error()
		}
		replies <- r
	}()
	testenv.WaitFor(t, 5*time.Second, "the batch emitted", func() bool { return rec.numBatches() == 1 })
	s.stop(t)
	select {
	case r := <-replies:
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("got %d %q, want 503", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after shutdown")
	}
	if st := s.h.Stats(); st.Rejected.Shutdown != 1 || st.Events != 0 {
		t.Errorf("stats %+v, want one rejection, shutdown", st)
	}
	// A late Commit of the abandoned request is harmless.
	rec.batch(0).commit()
}

func TestHTTPConcurrentClients(t *testing.T) {
	const clients, requests, perRequest = 8, 20, 50
	lc := newLaterCommitter(t)
	s := startHTTP(t, HTTPOptions{Format: FormatLines}, lc.emit)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			for r := range requests {
				body := numbered(fmt.Sprintf("c%d-r%d", c, r), 1, perRequest)
				rep, err := send(nil, "POST", s.url+"/", []byte(body))
				if err == nil && rep.status != 200 {
					err = fmt.Errorf("status %d %q", rep.status, rep.body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = clients * requests * perRequest
	if n := lc.rec.count(); n != total {
		t.Errorf("%d events received, want %d", n, total)
	}
	if st := s.h.Stats(); st.Requests != clients*requests || st.Events != total {
		t.Errorf("stats %+v, want %d requests, %d events", st, clients*requests, total)
	}
}

func TestNewHTTPOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts HTTPOptions
	}{
		{"no listen", HTTPOptions{}},
		{"bad listen", HTTPOptions{Listen: "localhost"}},
		{"bad format", HTTPOptions{Listen: ":0", Format: "xml"}},
		{"negative body", HTTPOptions{Listen: ":0", MaxBodyBytes: -1}},
		{"huge body", HTTPOptions{Listen: ":0", MaxBodyBytes: 1 << 40}},
		{"cert without key", HTTPOptions{Listen: ":0", TLSCertFile: "x.pem"}},
		{"missing cert", HTTPOptions{Listen: ":0", TLSCertFile: dir + "/no.pem", TLSKeyFile: dir + "/no.key"}},
	}
	for _, tc := range tests {
		if _, err := NewHTTP(tc.opts); err == nil {
			t.Errorf("%s: NewHTTP(%+v) = nil error", tc.name, tc.opts)
		}
	}
	h, err := NewHTTP(HTTPOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	o := h.opts
	if o.Name != "http" || o.Format != FormatPulse || o.MaxBodyBytes != 64<<20 || o.PushBackAfter != 2*time.Second ||
		o.RetryAfter != time.Second || o.MaxEvents != 1<<20 || h.Addr() != "" {
		t.Errorf("defaults: %+v", o)
	}
}

func TestHTTPListenError(t *testing.T) {
	s := startHTTP(t, HTTPOptions{Format: FormatLines}, (&recorder{}).emit)
	h, err := NewHTTP(HTTPOptions{Listen: s.h.Addr(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Run(context.Background(), (&recorder{}).emit); err == nil {
		t.Fatal("Run on a busy port: nil error")
	}
}
