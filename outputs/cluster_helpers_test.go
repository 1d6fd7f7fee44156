package outputs

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/testenv"
)

// streamSource hands out batches 1, 2, 3, ... until stopped, counting
// Next calls and recording acknowledgements. Each payload names its id.
type streamSource struct {
	key func(id uint64) uint64 // routing key of a batch; nil: 0

	mu    sync.Mutex
	last  uint64 // last id handed out
	limit uint64 // no id above it is handed out
	nexts int    // batches handed out
	out   map[uint64]bool
	acks  map[uint64]int
	wake  chan struct{}
}

func newStreamSource() *streamSource {
	return &streamSource{
		limit: 1 << 62,
		out:   make(map[uint64]bool),
		acks:  make(map[uint64]int),
		wake:  make(chan struct{}),
	}
}

func (s *streamSource) Next(ctx context.Context) (Batch, error) {
	s.mu.Lock()
	if s.last < s.limit {
		s.last++
		id := s.last
		s.nexts++
		s.out[id] = true
		s.mu.Unlock()
		b := Batch{ID: id, Payload: fmt.Appendf(nil, "batch=%d\n", id), Events: 1}
		if s.key != nil {
			b.Key = s.key(id)
		}
		return b, nil
	}
	s.mu.Unlock()
	<-ctx.Done() // stopped for good
	return Batch{}, ctx.Err()
}

func (s *streamSource) Ack(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks[id]++
	if !s.out[id] {
		return fmt.Errorf("ack of batch %d, which is not outstanding", id)
	}
	delete(s.out, id)
	return nil
}

// stop hands out no more batches and returns how many were handed out.
func (s *streamSource) stop() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = s.last
	return s.last
}

func (s *streamSource) counts() (nexts, acked, outstanding int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nexts, len(s.acks), len(s.out)
}

// nodeReq is what a test node saw of a request it answered.
type nodeReq struct {
	at     time.Time
	id     uint64
	status int
	path   string
	tls    bool
}

// testNode is an HTTP server on 127.0.0.1 that can be killed (its
// listener closed) and restarted on the same address. It records each
// request it answers; a request cut off by a kill is not recorded, as its
// client sees no answer either.
type testNode struct {
	t       *testing.T
	addr    string
	delay   time.Duration                  // latency of each answer
	respond func(n int, h http.Header) int // status for the n-th request (1-based); nil: 200

	mu   sync.Mutex
	srv  *httptest.Server
	reqs []nodeReq

	n            atomic.Int64 // requests begun
	dead         atomic.Bool
	active, peak atomic.Int64
}

// newTestNode starts a node; set delay and respond before traffic starts.
func newTestNode(t *testing.T, delay time.Duration, respond func(n int, h http.Header) int) *testNode {
	t.Helper()
	nd := &testNode{t: t, addr: "127.0.0.1:0", delay: delay, respond: respond}
	nd.start()
	t.Cleanup(nd.kill)
	return nd
}

func (nd *testNode) start() {
	nd.t.Helper()
	ln, err := net.Listen("tcp", nd.addr)
	if err != nil {
		nd.t.Fatalf("listen on %s: %v", nd.addr, err)
	}
	nd.addr = ln.Addr().String()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(nd.serve))
	srv.Listener.Close()
	srv.Listener = ln
	nd.dead.Store(false)
	srv.Start()
	nd.mu.Lock()
	nd.srv = srv
	nd.mu.Unlock()
}

func (nd *testNode) serve(w http.ResponseWriter, r *http.Request) {
	act := nd.active.Add(1)
	defer nd.active.Add(-1)
	for p := nd.peak.Load(); act > p && !nd.peak.CompareAndSwap(p, act); p = nd.peak.Load() {
	}
	n := int(nd.n.Add(1))
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		panic(http.ErrAbortHandler)
	}
	id, _ := strconv.ParseUint(r.Header.Get("X-Pulse-Batch-Id"), 10, 64)
	if nd.delay > 0 {
		t := time.NewTimer(nd.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	status := http.StatusOK
	if nd.respond != nil {
		status = nd.respond(n, w.Header())
	}
	nd.mu.Lock()
	if nd.dead.Load() {
		nd.mu.Unlock()
		panic(http.ErrAbortHandler) // killed: the connection drops unanswered
	}
	nd.reqs = append(nd.reqs, nodeReq{at: time.Now(), id: id, status: status, path: r.URL.Path, tls: r.TLS != nil})
	nd.mu.Unlock()
	w.WriteHeader(status)
}

// kill closes the listener and every connection; a request being answered
// when kill begins gets its answer.
func (nd *testNode) kill() {
	nd.mu.Lock()
	nd.dead.Store(true) // under mu: a request is recorded and answered, or neither
	srv := nd.srv
	nd.srv = nil
	nd.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (nd *testNode) requests() []nodeReq {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return append([]nodeReq(nil), nd.reqs...)
}

// delivered is the number of requests answered 2xx.
func (nd *testNode) delivered() int {
	n := 0
	for _, q := range nd.requests() {
		if q.status/100 == 2 {
			n++
		}
	}
	return n
}

// checkExactlyOnce checks that every batch handed out was answered 2xx by
// exactly one node, once, and acknowledged exactly once; nothing else was.
func checkExactlyOnce(t *testing.T, src *streamSource, handed uint64, nodes ...*testNode) {
	t.Helper()
	got := make(map[uint64]int)
	for _, nd := range nodes {
		for _, q := range nd.requests() {
			if q.status/100 == 2 {
				got[q.id]++
			}
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	for id := uint64(1); id <= handed; id++ {
		if got[id] != 1 {
			t.Errorf("batch %d delivered %d times", id, got[id])
		}
		if src.acks[id] != 1 {
			t.Errorf("batch %d acked %d times", id, src.acks[id])
		}
	}
	if len(got) != int(handed) || len(src.acks) != int(handed) {
		t.Errorf("%d batches delivered, %d acked, want %d", len(got), len(src.acks), handed)
	}
}

// finish stops src, waits until every batch handed out is acknowledged,
// stops the output and returns how many batches were handed out.
func finish(t *testing.T, src *streamSource, stop func() error) uint64 {
	t.Helper()
	handed := src.stop()
	testenv.WaitFor(t, 15*time.Second, "every batch acked", func() bool {
		_, acked, _ := src.counts()
		return acked == int(handed)
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return handed
}

// acceptCounter is a listener that accepts connections and closes them at
// once, like a crashed service behind a port that still listens, and
// notes when each came.
type acceptCounter struct {
	ln   net.Listener
	mu   sync.Mutex
	at   []time.Time
	done chan struct{}
}

func newAcceptCounter(t *testing.T, addr string) *acceptCounter {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	a := &acceptCounter{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.at = append(a.at, time.Now())
			a.mu.Unlock()
			c.Close()
		}
	}()
	t.Cleanup(a.close)
	return a
}

func (a *acceptCounter) close() {
	a.ln.Close()
	<-a.done
}

func (a *acceptCounter) times() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...)
}
