package outputs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/testenv"
)

func addrs(nodes ...*testNode) []string {
	s := make([]string, len(nodes))
	for i, nd := range nodes {
		s[i] = nd.addr
	}
	return s
}

func TestHTTPRoundRobinSpreadsOverNodes(t *testing.T) {
	nodes := []*testNode{newTestNode(t, 0, nil), newTestNode(t, 0, nil), newTestNode(t, 0, nil)}
	src := newStreamSource()
	h := newTestHTTP(t, HTTPOptions{Endpoints: addrs(nodes...), MaxInFlight: 4})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "300 acks", func() bool { _, acked, _ := src.counts(); return acked >= 300 })
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, nodes...)

	// A full node is passed over rather than waited for, so the split is
	// even only as long as the nodes keep pace; these do, nearly.
	for i, nd := range nodes {
		if n := nd.delivered(); n < int(handed)/5 {
			t.Errorf("node %d got %d of %d batches", i, n, handed)
		}
	}
	st := h.Stats()
	for i, ns := range st.Nodes {
		if !ns.Up || ns.Batches != int64(nodes[i].delivered()) || ns.InFlight != 0 || ns.Failures != 0 {
			t.Errorf("node %d stats %+v, server saw %d", i, ns, nodes[i].delivered())
		}
	}
}

func TestHTTPLeastLoadedSlowNodeDoesNotSlowTheOther(t *testing.T) {
	const maxInFlight = 2
	slow := newTestNode(t, 300*time.Millisecond, nil)
	fast := newTestNode(t, 0, nil)
	src := newStreamSource()
	h := newTestHTTP(t, HTTPOptions{
		Endpoints:   addrs(slow, fast),
		Balance:     BalanceLeastLoaded,
		MaxInFlight: maxInFlight,
	})
	began := time.Now()
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "a second and 100 batches on the fast node", func() bool {
		return time.Since(began) >= time.Second && fast.delivered() >= 100
	})
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, slow, fast)

	s, f := slow.delivered(), fast.delivered()
	t.Logf("in %v: slow node %d batches, fast node %d", time.Since(began).Round(time.Millisecond), s, f)
	if s == 0 || f < 5*s {
		t.Errorf("slow node %d batches, fast node %d: want the fast one to deliver many times more", s, f)
	}
	if p := slow.peak.Load(); p > maxInFlight {
		t.Errorf("slow node had %d requests at once, above its %d slots", p, maxInFlight)
	}
}

func TestHTTPHashSendsAKeyToOneNode(t *testing.T) {
	const keys = 30
	nodes := []*testNode{newTestNode(t, 0, nil), newTestNode(t, 0, nil), newTestNode(t, 0, nil)}
	src := newStreamSource()
	src.key = func(id uint64) uint64 { return id % keys }
	h := newTestHTTP(t, HTTPOptions{Endpoints: addrs(nodes...), Balance: BalanceHash})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "300 acks", func() bool { _, acked, _ := src.counts(); return acked >= 300 })
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, nodes...)

	owner := make(map[uint64]int) // key → node
	for i, nd := range nodes {
		if nd.delivered() == 0 {
			t.Errorf("node %d got no key", i)
		}
		for _, q := range nd.requests() {
			k := q.id % keys
			if o, seen := owner[k]; seen && o != i {
				t.Fatalf("key %d went to nodes %d and %d", k, o, i)
			}
			owner[k] = i
		}
	}
	if len(owner) != keys {
		t.Errorf("%d keys seen, want %d", len(owner), keys)
	}
}

func TestHTTPNodeKilledThenRestarted(t *testing.T) {
	a := newTestNode(t, time.Millisecond, nil)
	b := newTestNode(t, time.Millisecond, nil)
	src := newStreamSource()
	h := newTestHTTP(t, HTTPOptions{
		Endpoints:    addrs(a, b),
		RetryInitial: 50 * time.Millisecond,
		RetryMax:     time.Second,
		Timeout:      5 * time.Second,
	})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "both nodes busy", func() bool { return a.delivered() >= 50 && b.delivered() >= 50 })

	// Kill a mid-run; a listener that drops every connection takes its
	// port, so that its probes can be counted.
	a.kill()
	killed := time.Now()
	probes := newAcceptCounter(t, a.addr)
	bAtKill := b.delivered()
	testenv.WaitFor(t, 10*time.Second, "2s of probing while b delivers", func() bool {
		return time.Since(killed) >= 2*time.Second && b.delivered() >= bAtKill+100
	})
	if st := h.Stats(); st.Nodes[0].Up || !st.Nodes[1].Up || st.Nodes[0].NextProbe.IsZero() {
		t.Errorf("nodes %+v: want a out with a next probe, b up", st.Nodes)
	}
	probes.close()
	conns := probes.times()
	// A probe is one connection, or two when fasthttp retries a POST on a
	// connection closed unanswered: group connections 20ms apart or less.
	var tries []time.Time
	for _, at := range conns {
		if len(tries) == 0 || at.Sub(tries[len(tries)-1]) > 20*time.Millisecond {
			tries = append(tries, at)
		}
	}
	t.Logf("dead node: %d connections, %d probes in %v", len(conns), len(tries), time.Since(killed).Round(time.Millisecond))
	// Backoff from 50ms (±50%) by 1.5 up to 1s: about 8 probes in 2s.
	if len(tries) < 3 || len(tries) > 14 || len(conns) > 2*len(tries) {
		t.Errorf("%d probes (%d connections) in about 2s: want a few, not a storm", len(tries), len(conns))
	} else if first, last := tries[1].Sub(tries[0]), tries[len(tries)-1].Sub(tries[len(tries)-2]); last <= first {
		t.Errorf("probe intervals do not grow: first %v, last %v", first, last)
	}

	// Restart a on its port: a probe finds it and it takes batches again.
	aBefore := a.delivered()
	a.start()
	testenv.WaitFor(t, 10*time.Second, "a back with 20 batches", func() bool { return a.delivered() >= aBefore+20 })
	if st := h.Stats(); !st.Nodes[0].Up {
		t.Errorf("a delivers but is not up: %+v", st.Nodes[0])
	}
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, a, b)
	if st := h.Stats(); st.Retries < 1 || st.Nodes[0].Failures < 3 {
		t.Errorf("stats %+v: want retries and a's failures counted", st)
	}
}

func TestHTTPRetryAfterKeepsNodeOutWhileOtherDelivers(t *testing.T) {
	a := newTestNode(t, 0, func(n int, h http.Header) int {
		if n == 1 {
			h.Set("Retry-After", "2")
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	b := newTestNode(t, 2*time.Millisecond, nil)
	src := newStreamSource()
	h := newTestHTTP(t, HTTPOptions{
		Endpoints:    addrs(a, b),
		MaxInFlight:  1,
		RetryInitial: 10 * time.Millisecond, // alone, it would bring a back within 15ms
		RetryMax:     10 * time.Millisecond,
	})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "a back after its Retry-After", func() bool { return a.delivered() >= 5 })
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, a, b)

	reqs := a.requests()
	if reqs[0].status != http.StatusServiceUnavailable {
		t.Fatalf("a's first answer %d", reqs[0].status)
	}
	t503 := reqs[0].at
	if gap := reqs[1].at.Sub(t503); gap < 2*time.Second || gap > 3*time.Second {
		t.Errorf("a's next request came %v after its 503 with Retry-After: 2", gap)
	}
	meanwhile := 0
	for _, q := range b.requests() {
		if q.at.After(t503) && q.at.Before(t503.Add(2*time.Second)) {
			meanwhile++
		}
	}
	if meanwhile < 50 {
		t.Errorf("b answered %d requests while a was out, want it to keep going", meanwhile)
	}
}

func TestHTTPAllNodesDownStopsReading(t *testing.T) {
	const maxInFlight = 2
	var down [2]atomic.Bool
	respond := func(i int) func(int, http.Header) int {
		return func(int, http.Header) int {
			if down[i].Load() {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}
	}
	a, b := newTestNode(t, time.Millisecond, respond(0)), newTestNode(t, time.Millisecond, respond(1))
	src := newStreamSource()
	h := newTestHTTP(t, HTTPOptions{
		Endpoints:    addrs(a, b),
		MaxInFlight:  maxInFlight,
		RetryInitial: 20 * time.Millisecond,
		RetryMax:     100 * time.Millisecond,
	})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "20 acks", func() bool { _, acked, _ := src.counts(); return acked >= 20 })

	down[0].Store(true)
	down[1].Store(true)
	testenv.WaitFor(t, 10*time.Second, "both nodes out", func() bool {
		st := h.Stats()
		return !st.Nodes[0].Up && !st.Nodes[1].Up
	})
	// Let a few probes pass: the reader may have been in Next when the
	// last node went out.
	refusals := func() int64 { return int64(len(a.requests())-a.delivered()) + int64(len(b.requests())-b.delivered()) }
	r0 := refusals()
	testenv.WaitFor(t, 10*time.Second, "3 probes", func() bool { return refusals() >= r0+3 })
	nexts0, acked0, _ := src.counts()
	r1 := refusals()
	testenv.WaitFor(t, 10*time.Second, "10 more probes", func() bool { return refusals() >= r1+10 })
	nexts, acked, outstanding := src.counts()
	if nexts != nexts0 || acked != acked0 {
		t.Errorf("while every node was out: Next called %d more times, %d more acks", nexts-nexts0, acked-acked0)
	}
	if outstanding < 1 || outstanding > 2*maxInFlight {
		t.Errorf("%d batches outstanding, want 1 to %d (the in-flight capacity)", outstanding, 2*maxInFlight)
	}
	if st := h.Stats(); st.InFlight != outstanding {
		t.Errorf("stats in flight %d, source outstanding %d", st.InFlight, outstanding)
	}

	down[1].Store(false)
	testenv.WaitFor(t, 10*time.Second, "20 more acks", func() bool { _, n, _ := src.counts(); return n >= acked+20 })
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, a, b)
}

func TestHTTPMaxInFlightPerNode(t *testing.T) {
	const maxInFlight = 3
	gate := make(chan struct{})
	hold := func(int, http.Header) int { <-gate; return http.StatusOK }
	a, b := newTestNode(t, 0, hold), newTestNode(t, 0, hold)
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	src := newStreamSource()
	h := newTestHTTP(t, HTTPOptions{Endpoints: addrs(a, b), MaxInFlight: maxInFlight})
	stop := start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "both nodes full", func() bool {
		return a.active.Load() == maxInFlight && b.active.Load() == maxInFlight
	})
	if nexts, _, _ := src.counts(); nexts != 2*maxInFlight {
		t.Errorf("%d batches taken from the source, want %d", nexts, 2*maxInFlight)
	}
	if st := h.Stats(); st.InFlight != 2*maxInFlight || st.Nodes[0].InFlight != maxInFlight || st.Nodes[1].InFlight != maxInFlight {
		t.Errorf("stats %+v", st)
	}
	close(gate)
	testenv.WaitFor(t, 10*time.Second, "50 acks", func() bool { _, acked, _ := src.counts(); return acked >= 50 })
	handed := finish(t, src, stop)
	checkExactlyOnce(t, src, handed, a, b)
	for i, nd := range []*testNode{a, b} {
		if p := nd.peak.Load(); p != maxInFlight {
			t.Errorf("node %d: peak %d requests at once, want %d", i, p, maxInFlight)
		}
	}
}

func TestHTTPTLS(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.TLS == nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	t.Run("trusted", func(t *testing.T) {
		src := newFakeSource(makeBatches(5, 3)...)
		h := newTestHTTP(t, HTTPOptions{
			Endpoints: []string{srv.Listener.Addr().String()}, // host:port: https because TLS is set
			Path:      "/v1/batch",
			TLS:       &tls.Config{RootCAs: pool},
		})
		start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
		testenv.WaitFor(t, 10*time.Second, "5 acks", func() bool { return src.acked() == 5 })
		mu.Lock()
		if len(paths) != 5 {
			t.Errorf("server got %d requests, want 5", len(paths))
		}
		for _, p := range paths {
			if p != "/v1/batch" {
				t.Errorf("request path %q, want /v1/batch", p)
			}
		}
		paths = nil
		mu.Unlock()
		if st := h.Stats(); st.Batches != 5 || st.Failures != 0 || st.DeadBatches != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("unknown authority", func(t *testing.T) {
		src := newFakeSource(makeBatches(1, 3)...)
		h := newTestHTTP(t, HTTPOptions{Endpoints: []string{srv.URL}}) // https:// without TLS: system roots
		start(t, func(ctx context.Context) error { return h.Run(ctx, src) })
		testenv.WaitFor(t, 10*time.Second, "a failure", func() bool { return h.Stats().Failures >= 1 })
		if src.acked() != 0 {
			t.Error("batch acked by a server whose certificate is not trusted")
		}
		mu.Lock()
		if len(paths) != 0 {
			t.Errorf("server got %d requests over a handshake that should fail", len(paths))
		}
		mu.Unlock()
	})
}
