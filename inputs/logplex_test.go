package inputs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/event"
	"pulse/parse"
	"pulse/testenv"
)

// logplexFrame returns msg as a Logplex frame: "LEN SP MSG\n", LEN
// counting the newline.
func logplexFrame(msg string) string {
	return strconv.Itoa(len(msg)+1) + " " + msg + "\n"
}

// logplexBody returns msgs as a drain body.
func logplexBody(msgs ...string) []byte {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(logplexFrame(m))
	}
	return []byte(b.String())
}

// logplexMsgs returns n app messages numbered from first.
func logplexMsgs(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("<190>1 2026-03-14T09:26:%02d.000000+00:00 host app web.1 - hello id=%d", (first+i)%60, first+i)
	}
	return out
}

// drainHeaders returns the headers Logplex sends with a body of n frames.
func drainHeaders(n int, frameID string) []string {
	return []string{
		"Content-Type", "application/logplex-1",
		"User-Agent", "Logplex/v72",
		headerLogplexMsgCount, strconv.Itoa(n),
		headerLogplexFrameID, frameID,
		headerLogplexDrainToken, "d.fc6b856b-3332-4546-93de-7d0ee272c3bd",
	}
}

// Heroku-shaped bodies: every frame arrives, as its RFC 5424 message.
func TestLogplexSampleBodies(t *testing.T) {
	files, err := filepath.Glob("testdata/logplex/*.txt")
	if err != nil || len(files) < 4 {
		t.Fatalf("sample bodies: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range lines(string(body)) {
				n, msg, _ := strings.Cut(line, " ")
				if l, _ := strconv.Atoi(n); l != len(msg)+1 {
					t.Fatalf("sample frame length %s for %d bytes", n, len(msg)+1)
				}
				want = append(want, msg)
			}
			lc := newLaterCommitter(t)
			s := startHTTP(t, HTTPOptions{Name: "drain", Format: FormatLogplex}, lc.emit)
			r := post(t, nil, "POST", s.url+"/logs", body, drainHeaders(len(want), "09C557EAFCFB6CF2740EE62F62971098")...)
			if r.status != http.StatusOK || r.body != "" {
				t.Fatalf("got %d %q, want 200 and no body", r.status, r.body)
			}
			equal(t, "events", lc.rec.events(), want)
			if src := lc.rec.batch(0).source; src != "d.fc6b856b-3332-4546-93de-7d0ee272c3bd" {
				t.Errorf("source %q, want the drain token", src)
			}
			for _, ev := range lc.rec.events() {
				m, err := parse.RFC5424([]byte(ev))
				if err != nil {
					t.Fatalf("%q: %v", ev, err)
				}
				if string(m.Hostname) != "host" || (string(m.AppName) != "app" && string(m.AppName) != "heroku") ||
					m.Timestamp.Year() != 2026 || len(m.Message) == 0 || m.StructuredData != nil {
					t.Errorf("%q: parsed as host %q app %q time %v sd %q msg %q", ev, m.Hostname, m.AppName, m.Timestamp, m.StructuredData, m.Message)
				}
			}
			st := s.h.Stats()
			if st.Events != int64(len(want)) || st.Rejected.Total() != 0 || st.Duplicates != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// A retried Logplex-Frame-Id is answered 200 and emits nothing again.
func TestLogplexDuplicateFrameID(t *testing.T) {
	rec := &recorder{}
	s := startHTTP(t, HTTPOptions{Format: FormatLogplex}, rec.emit)
	first := logplexMsgs(0, 5)
	body := logplexBody(first...)
	for i := range 3 {
		if r := post(t, nil, "POST", s.url+"/", body, drainHeaders(5, "frame-a")...); r.status != http.StatusOK {
			t.Fatalf("post %d: %d %q", i, r.status, r.body)
		}
	}
	equal(t, "events after three posts of frame-a", rec.events(), first)

	second := logplexMsgs(5, 3)
	if r := post(t, nil, "POST", s.url+"/", logplexBody(second...), drainHeaders(3, "frame-b")...); r.status != http.StatusOK {
		t.Fatalf("frame-b: %d %q", r.status, r.body)
	}
	equal(t, "events", rec.events(), append(first, second...))
	// No frame id: nothing to deduplicate by.
	for range 2 {
		if r := post(t, nil, "POST", s.url+"/", logplexBody(second[0])); r.status != http.StatusOK {
			t.Fatalf("no id: %d %q", r.status, r.body)
		}
	}
	if got := rec.count(); got != 10 {
		t.Errorf("%d events, want 10", got)
	}
	st := s.h.Stats()
	if st.Requests != 6 || st.Events != 10 || st.Duplicates != 2 || st.Rejected.Total() != 0 {
		t.Errorf("stats %+v, want 6 requests, 10 events, 2 duplicates", st)
	}
}

// A truncated last frame: 400 naming it, and the frames before it stored.
// A retry of the same body stores nothing twice.
func TestLogplexTruncatedFrame(t *testing.T) {
	lc := newLaterCommitter(t)
	s := startHTTP(t, HTTPOptions{Format: FormatLogplex}, lc.emit)
	good := logplexMsgs(0, 3)
	body := logplexBody(append(good, "<190>1 2026-03-14T09:26:03.000000+00:00 host app web.1 - cut short")...)
	body = body[:len(body)-10]
	r := post(t, nil, "POST", s.url+"/", body, drainHeaders(4, "frame-t")...)
	wantMsg := fmt.Sprintf("frame 4 at byte %d: length 67 exceeds the 57 bytes left (truncated); the 3 frames before it stored", len(logplexBody(good...)))
	if r.status != http.StatusBadRequest || strings.TrimSpace(r.body) != wantMsg {
		t.Fatalf("got %d %q, want 400 %q", r.status, r.body, wantMsg)
	}
	equal(t, "events kept", lc.rec.events(), good)
	st := s.h.Stats()
	if st.Events != 3 || st.Rejected.BadBody != 1 || st.Rejected.Total() != 1 {
		t.Errorf("stats %+v, want 3 events and one bad body", st)
	}
	if r := post(t, nil, "POST", s.url+"/", body, drainHeaders(4, "frame-t")...); r.status != http.StatusOK {
		t.Errorf("retry: %d %q, want 200", r.status, r.body)
	}
	if got := lc.rec.count(); got != 3 {
		t.Errorf("%d events after the retry, want 3", got)
	}
}

// Requests rejected whole: nothing is emitted, and a frame id is not
// remembered, so that a corrected retry goes through.
func TestLogplexRejects(t *testing.T) {
	rec := &recorder{}
	s := startHTTP(t, HTTPOptions{Format: FormatLogplex, MaxEvents: 10}, rec.emit)
	three := logplexBody(logplexMsgs(0, 3)...)
	tests := []struct {
		name    string
		body    []byte
		headers []string
		status  int
		msg     string
	}{
		{"count mismatch", three, drainHeaders(4, "id-1"), 400, "Logplex-Msg-Count is 4 but the body has 3 frames"},
		{"count not a number", three, []string{headerLogplexMsgCount, "three", headerLogplexFrameID, "id-2"}, 400, "not a count"},
		{"bad length first", []byte("8x <190>1 - - - - - x\n"), drainHeaders(1, "id-3"), 400, "frame 1 at byte 0: MSG-LEN is not a number without leading zeros (bad_length); the 0 frames before it stored"},
		{"too many frames", logplexBody(logplexMsgs(0, 11)...), drainHeaders(11, "id-4"), 400, "more than 10 frames"},
		{"frame id too long", three, drainHeaders(3, strings.Repeat("f", 129)), 400, "Logplex-Frame-Id is longer than 128 bytes"},
		{"zstd that is not", three, append(drainHeaders(3, "id-5"), "Content-Encoding", "zstd"), 400, "zstd"},
		{"GET", nil, nil, 405, "not allowed"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.body == nil {
				method = "GET"
			}
			r := post(t, nil, method, s.url+"/logs", tc.body, tc.headers...)
			if r.status != tc.status || !strings.Contains(r.body, tc.msg) {
				t.Fatalf("got %d %q, want %d with %q", r.status, r.body, tc.status, tc.msg)
			}
			if n := rec.count(); n != 0 {
				t.Fatalf("%d events emitted, want 0", n)
			}
			if st := s.h.Stats(); st.Rejected.Total() != int64(i+1) || st.Events != 0 {
				t.Errorf("stats %+v, want %d rejections", st, i+1)
			}
		})
	}
	// id-1 was not remembered: the corrected request is stored.
	if r := post(t, nil, "POST", s.url+"/logs", three, drainHeaders(3, "id-1")...); r.status != 200 {
		t.Fatalf("corrected retry: %d %q", r.status, r.body)
	}
	if n := rec.count(); n != 3 {
		t.Errorf("%d events, want 3", n)
	}
}

// While a request waits for its commit, a retry with its frame id gets 503
// (the first may still fail); once it is answered 200, the retry gets 200
// and emits nothing. A request whose events could not be stored leaves
// its id free.
func TestLogplexFrameIDInProgress(t *testing.T) {
	rec := &recorder{hold: true}
	var failing atomic.Bool
	emit := func(ctx context.Context, b *event.Batch) error {
		if failing.Load() {
			return errors.New("test: pipeline closed")
		}
		return rec.emit(ctx, b)
	}
	s := startHTTP(t, HTTPOptions{Format: FormatLogplex}, emit)
	body := logplexBody(logplexMsgs(0, 2)...)
	first := make(chan reply, 1)
	go func() {
		r, err := send(nil, "POST", s.url+"/", body, drainHeaders(2, "slow")...)
		if err != nil {
			r.body = err.Error()
		}
		first <- r
	}()
	testenv.WaitFor(t, 5*time.Second, "the first request's batch", func() bool { return rec.numBatches() == 1 })
	r := post(t, nil, "POST", s.url+"/", body, drainHeaders(2, "slow")...)
	if r.status != http.StatusServiceUnavailable || r.retryAfter != "1" || !strings.Contains(r.body, "in progress") {
		t.Fatalf("retry while in progress: %d %q (Retry-After %q), want 503", r.status, r.body, r.retryAfter)
	}
	rec.batch(0).commit()
	select {
	case r := <-first:
		if r.status != http.StatusOK {
			t.Fatalf("first: %d %q", r.status, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first request not answered after its commit")
	}
	if r := post(t, nil, "POST", s.url+"/", body, drainHeaders(2, "slow")...); r.status != http.StatusOK {
		t.Fatalf("retry after: %d %q", r.status, r.body)
	}
	if n := rec.numBatches(); n != 1 {
		t.Fatalf("%d batches, want 1", n)
	}

	failing.Store(true)
	if r := post(t, nil, "POST", s.url+"/", body, drainHeaders(2, "unstored")...); r.status != http.StatusServiceUnavailable {
		t.Fatalf("failing emit: %d %q, want 503", r.status, r.body)
	}
	failing.Store(false)
	rec.mu.Lock()
	rec.hold = false
	rec.mu.Unlock()
	if r := post(t, nil, "POST", s.url+"/", body, drainHeaders(2, "unstored")...); r.status != http.StatusOK {
		t.Fatalf("retry once emit works: %d %q", r.status, r.body)
	}
	if n := rec.numBatches(); n != 2 {
		t.Errorf("%d batches, want 2", n)
	}
}

// Drains with credentials in their URL send basic auth.
func TestLogplexBasicAuth(t *testing.T) {
	rec := &recorder{}
	s := startHTTP(t, HTTPOptions{Format: FormatLogplex, BasicAuth: "drain:pa:ss"}, rec.emit)
	host := strings.TrimPrefix(s.url, "http://")
	body := logplexBody(logplexMsgs(0, 1)...)
	tests := []struct {
		name   string
		url    string
		header []string
		status int
	}{
		{"credentials in the URL", "http://drain:pa%3Ass@" + host + "/logs", nil, 200},
		{"wrong password", "http://drain:pass@" + host + "/logs", nil, 401},
		{"wrong user", "http://drains:pa%3Ass@" + host + "/logs", nil, 401},
		{"none", s.url + "/logs", nil, 401},
		{"bearer", s.url + "/logs", []string{"Authorization", "Bearer drain:pa:ss"}, 401},
		{"not base64", s.url + "/logs", []string{"Authorization", "Basic drain:pa:ss"}, 401},
		{"lower-case scheme", s.url + "/logs", []string{"Authorization", "basic ZHJhaW46cGE6c3M="}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, nil, "POST", tc.url, body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("got %d %q, want %d", r.status, r.body, tc.status)
			}
		})
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	if st := s.h.Stats(); st.Rejected.Unauthorized != 5 {
		t.Errorf("%d unauthorized, want 5", st.Rejected.Unauthorized)
	}
}

func TestLogplexOptions(t *testing.T) {
	tests := []struct {
		name string
		opts HTTPOptions
		err  string
	}{
		{"basic auth without password", HTTPOptions{BasicAuth: "user"}, "want user:password"},
		{"basic auth without user", HTTPOptions{BasicAuth: ":pass"}, "want user:password"},
		{"basic auth and token", HTTPOptions{BasicAuth: "u:p", AuthToken: "t"}, "exclude each other"},
		{"fragments", HTTPOptions{Stream: StreamFragments}, `needs format "pulse"`},
		{"negative window", HTTPOptions{DedupWindow: -time.Second}, "negative"},
		{"ok", HTTPOptions{BasicAuth: "u:p"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format, tc.opts.Listen = FormatLogplex, "127.0.0.1:0"
			_, err := NewHTTP(tc.opts)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("NewHTTP: %v, want %q", err, tc.err)
			}
		})
	}
}

// Frame ids are forgotten after the window, and the oldest first when
// there are too many.
func TestFrameIDs(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	f := newFrameIDs(10*time.Minute, 3)
	f.now = func() time.Time { return now }
	accept := func(id string) {
		t.Helper()
		if st := f.begin(id); st != frameNew {
			t.Fatalf("begin(%s) = %d, want new", id, st)
		}
		f.end(id, true)
	}
	state := func(id string, want frameState) {
		t.Helper()
		st := f.begin(id)
		if st == frameNew {
			f.end(id, false)
		}
		if st != want {
			t.Fatalf("begin(%s) = %d, want %d", id, st, want)
		}
	}
	accept("a")
	now = now.Add(5 * time.Minute)
	accept("b")
	state("a", frameSeen)
	now = now.Add(5 * time.Minute) // a is 10m old
	state("a", frameNew)
	state("b", frameSeen)
	accept("c")
	accept("d")
	accept("e") // over 3: b goes
	state("b", frameNew)
	state("c", frameSeen)
	if f.len() != 3 || len(f.seen) != 3 {
		t.Errorf("%d ids kept (%d in the map), want 3", f.len(), len(f.seen))
	}

	// Many ids through a small table: memory stays bounded.
	for i := range 10_000 {
		accept(strconv.Itoa(i))
		if i%100 == 0 {
			now = now.Add(time.Second)
		}
	}
	if f.len() != 3 || len(f.seen) != 3 || cap(f.order) > 16 {
		t.Errorf("after 10000 ids: %d kept, map %d, slice cap %d", f.len(), len(f.seen), cap(f.order))
	}
	if st := f.begin("x"); st != frameNew || f.begin("x") != frameBusy {
		t.Error("an id in progress is not busy")
	}
	f.end("x", false)
	if len(f.pending) != 0 {
		t.Errorf("%d pending after end", len(f.pending))
	}
}

// copyingEmit copies every event, as the pipeline does, and commits.
type copyingEmit struct {
	buf    []byte
	events atomic.Int64
}

func (c *copyingEmit) emit(_ context.Context, b *event.Batch) error {
	c.buf = c.buf[:0]
	for _, ev := range b.Events {
		c.buf = append(c.buf, ev...)
	}
	c.events.Add(int64(len(b.Events)))
	if b.Commit != nil {
		b.Commit()
	}
	return nil
}

// BenchmarkLogplexHandler: drain intake, bodies of 100 frames of Heroku
// router lines, into an emit that copies; the handler alone (no network).
func BenchmarkLogplexHandler(b *testing.B) {
	const frames = 100
	body := logplexRouterBody(b, frames)
	h, err := NewHTTP(HTTPOptions{Listen: "127.0.0.1:0", Format: FormatLogplex, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	ce := &copyingEmit{}
	c := newHandlerCall(b, FormatLogplex, "", body)
	c.handle = h.handler(context.Background(), ce.emit)
	c.req.Header.Set(headerLogplexMsgCount, strconv.Itoa(frames))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.req.Header.Set(headerLogplexFrameID, strconv.Itoa(i)) // each body new
		c.run(b)
	}
	b.ReportMetric(float64(ce.events.Load())/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLogplexHTTP: the same over loopback HTTP, 8 clients at once.
func BenchmarkLogplexHTTP(b *testing.B) {
	const frames = 100
	body := logplexRouterBody(b, frames)
	ce := &lockedCopyingEmit{}
	s := startHTTP(b, HTTPOptions{Format: FormatLogplex, Logger: slog.New(slog.DiscardHandler)}, ce.emit)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var ids atomic.Int64
	b.SetBytes(int64(len(body)))
	b.SetParallelism(4) // 8 clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := send(client, "POST", s.url+"/logs", body, drainHeaders(frames, strconv.FormatInt(ids.Add(1), 10))...)
			if err != nil || r.status != 200 {
				b.Errorf("post: %v %d %q", err, r.status, r.body)
				return
			}
		}
	})
	b.ReportMetric(float64(ce.c.events.Load())/time.Since(start).Seconds(), "events/s")
}

// lockedCopyingEmit is a copyingEmit for concurrent requests.
type lockedCopyingEmit struct {
	mu sync.Mutex
	c  copyingEmit
}

func (ce *lockedCopyingEmit) emit(ctx context.Context, b *event.Batch) error {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	return ce.c.emit(ctx, b)
}

func (ce *lockedCopyingEmit) count() int64 { return ce.c.events.Load() }

// logplexRouterBody returns a body of n router frames from the samples.
func logplexRouterBody(tb testing.TB, n int) []byte {
	sample, err := os.ReadFile("testdata/logplex/router.txt")
	if err != nil {
		tb.Fatal(err)
	}
	frames := bytes.SplitAfter(sample, []byte("\n"))
	frames = frames[:len(frames)-1] // the empty rest after the last newline
	var body []byte
	for i := range n {
		body = append(body, frames[i%len(frames)]...)
	}
	return body
}
