package outputs

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// benchSource hands out the same payload n times and signals when all n
// batches are acknowledged. It does not allocate per batch.
type benchSource struct {
	payload []byte
	events  int
	n       uint64

	mu    sync.Mutex
	next  uint64
	acked uint64
	done  chan struct{}
}

func (s *benchSource) Next(ctx context.Context) (Batch, error) {
	s.mu.Lock()
	if s.next < s.n {
		s.next++
		id := s.next
		s.mu.Unlock()
		return Batch{ID: id, Payload: s.payload, Events: s.events}, nil
	}
	s.mu.Unlock()
	<-ctx.Done()
	return Batch{}, ctx.Err()
}

func (s *benchSource) Ack(uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked++
	if s.acked == s.n {
		close(s.done)
	}
	return nil
}

// BenchmarkHTTPLines sends 1 MiB batches of 240-byte lines to a local
// fasthttp server that discards them.
func BenchmarkHTTPLines(b *testing.B) { benchHTTP(b, 1, BalanceRoundRobin) }

// BenchmarkHTTPLinesLeastLoaded2Nodes does the same over two such servers,
// balanced least_loaded.
func BenchmarkHTTPLinesLeastLoaded2Nodes(b *testing.B) { benchHTTP(b, 2, BalanceLeastLoaded) }

func benchHTTP(b *testing.B, nodes int, balance string) {
	const lineLen, batchBytes = 240, 1 << 20
	line := append(bytes.Repeat([]byte("x"), lineLen-1), '\n')
	lines := batchBytes / lineLen
	payload := bytes.Repeat(line, lines)

	var (
		received  atomic.Int64 // body bytes the servers read
		endpoints []string
	)
	for range nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &fasthttp.Server{
			Handler:            func(rc *fasthttp.RequestCtx) { received.Add(int64(len(rc.PostBody()))) },
			MaxRequestBodySize: 2 * batchBytes,
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		defer func() {
			srv.Shutdown()
			<-served
		}()
		endpoints = append(endpoints, ln.Addr().String())
	}

	h, err := NewHTTP(HTTPOptions{
		Endpoints:     endpoints,
		Balance:       balance,
		ContentType:   "text/plain; charset=utf-8",
		DeadLetterDir: b.TempDir(),
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	src := &benchSource{payload: payload, events: lines, n: uint64(b.N), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)

	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	go func() { ran <- h.Run(ctx, src) }()
	<-src.done
	elapsed := time.Since(began)
	b.StopTimer()
	cancel()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*lines)/elapsed.Seconds(), "events/s")
	st := h.Stats()
	if st.Batches != int64(b.N) || st.Failures != 0 {
		b.Fatalf("stats %+v after %d batches", st, b.N)
	}
	for _, ns := range st.Nodes {
		if b.N >= 10*nodes && ns.Batches == 0 {
			b.Errorf("node %s got no batch of %d", ns.Endpoint, b.N)
		}
	}
	if got, want := received.Load(), int64(b.N*len(payload)); got != want {
		b.Fatalf("servers read %d body bytes, want %d", got, want)
	}
}
