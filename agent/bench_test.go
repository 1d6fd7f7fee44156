package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"pulse/config"
)

// lineServer is a fasthttp server on 127.0.0.1 that counts the lines it
// receives.
type lineServer struct {
	addr  string
	lines atomic.Int64
	bytes atomic.Int64
}

func startLineServer(tb testing.TB) *lineServer {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &lineServer{addr: l.Addr().String()}
	srv := &fasthttp.Server{
		MaxRequestBodySize: 256 << 20,
		Handler: func(ctx *fasthttp.RequestCtx) {
			body := ctx.PostBody()
			s.lines.Add(int64(bytes.Count(body, []byte{'\n'})))
			s.bytes.Add(int64(len(body)))
		},
	}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Shutdown() })
	return s
}

func writeLines(tb testing.TB, path string, n, size int) int64 {
	tb.Helper()
	line := bytes.Repeat([]byte("x"), size-1)
	copy(line, "2026-11-21T10:00:00.000000+00:00 heroku[router]: at=info method=GET path=/ host=example.com dyno=web.1 connect=1ms service=37ms status=200 bytes=1234 ")
	line = append(line, '\n')
	buf := bytes.Repeat(line, 4096)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for left := n; left > 0; left -= 4096 {
		if _, err := f.Write(buf[:min(left, 4096)*len(line)]); err != nil {
			tb.Fatal(err)
		}
	}
	return int64(n * size)
}

// BenchmarkFileToHTTP measures the core path end to end in one process:
// a file of 240-byte lines → file input → pipeline → disk buffer → HTTP
// lines output → a local server. Each iteration moves 500,000 lines through
// a fresh data dir.
func BenchmarkFileToHTTP(b *testing.B) {
	const lines, size = 500_000, 240
	dir := b.TempDir()
	logFile := filepath.Join(dir, "app.log")
	total := writeLines(b, logFile, lines, size)
	srv := startLineServer(b)
	b.SetBytes(total)
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		data := filepath.Join(dir, fmt.Sprintf("data-%d", i))
		cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
data_dir: %s
shutdown_timeout: 10s
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 10ms}
outputs:
  - name: archive
    type: http
    endpoints: [%q]
    encoding: lines
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}
    buffer: {max_bytes: 256MiB, when_full: block}
`, data, logFile, srv.addr)))
		if err != nil {
			b.Fatal(err)
		}
		a, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		want := srv.lines.Load() + lines
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		start := time.Now()
		go func() { done <- a.Run(ctx) }()
		deadline := time.Now().Add(2 * time.Minute)
		for srv.lines.Load() < want {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d lines arrived", srv.lines.Load()-want+lines, lines)
			}
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/elapsed.Seconds(), "events/s")
}
