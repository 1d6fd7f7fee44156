package inputs

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"pulse/testenv"
)

// BenchmarkSyslogTCP: intake from local clients writing octet-counted RFC
// 5424 messages (~150 bytes) over 1 and 8 connections, into an emit that
// copies every event under one lock, as the pipeline does.
func BenchmarkSyslogTCP(b *testing.B) {
	const perChunk = 1000
	var chunk []byte
	for i := range perChunk {
		m := fmt.Sprintf(`<134>1 2026-03-14T09:26:53.%06dZ web-1.example.com myapp 4242 - - at=info method=GET path=/api/v1/users/%d status=200 service=12ms`, i, i)
		chunk = fmt.Appendf(chunk, "%d %s", len(m), m)
	}
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			ce := &lockedCopyingEmit{}
			srv := startSyslog(b, SyslogOptions{Logger: slog.New(slog.DiscardHandler)}, ce.emit)
			clients := make([]net.Conn, conns)
			for i := range clients {
				clients[i] = srv.dial(b, "tcp")
			}
			chunks := (b.N + perChunk*conns - 1) / (perChunk * conns) // per connection
			total := int64(chunks * perChunk * conns)
			b.SetBytes(int64(len(chunk)) / perChunk)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Go(func() {
					// Closing at the end sends the last batch on at once,
					// rather than after FlushEvery.
					defer c.Close()
					for range chunks {
						if _, err := c.Write(chunk); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			testenv.WaitFor(b, time.Minute, "every message", func() bool { return ce.count() >= total })
			elapsed := time.Since(start)
			b.StopTimer()
			if got := ce.count(); got != total {
				b.Fatalf("%d events, want %d", got, total)
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkSyslogUDP: intake from one local client sending a datagram per
// message, as fast as it can; drops (emit behind, or the socket buffer
// overflowing) are reported, not failed.
func BenchmarkSyslogUDP(b *testing.B) {
	m := []byte(`<134>1 2026-03-14T09:26:53.000000Z web-1.example.com myapp 4242 - - at=info method=GET path=/api/v1/users/1 status=200 service=12ms`)
	ce := &lockedCopyingEmit{}
	srv := startSyslog(b, SyslogOptions{Listen: "udp://127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}, ce.emit)
	c := srv.dial(b, "udp")
	b.SetBytes(int64(len(m)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := c.Write(m); err != nil {
			b.Fatal(err)
		}
	}
	// Wait until what arrived has been emitted: no change for 200ms.
	last, changed := int64(-1), time.Now()
	testenv.WaitFor(b, time.Minute, "the input to settle", func() bool {
		st := srv.s.Stats()
		if n := st.Messages + st.Dropped; n != last {
			last, changed = n, time.Now()
		}
		return last == int64(b.N) || time.Since(changed) >= 200*time.Millisecond
	})
	elapsed := changed.Sub(start)
	b.StopTimer()
	st := srv.s.Stats()
	b.ReportMetric(float64(st.Messages)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(st.Dropped)/float64(b.N)*100, "%dropped")                     // by the input: emit behind
	b.ReportMetric(float64(int64(b.N)-st.Messages-st.Dropped)/float64(b.N)*100, "%lost") // by the kernel: socket buffer full
}
