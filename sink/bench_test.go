package sink

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLines1MiB: a local client posting 1 MiB `lines` batches of
// 200-byte events; the figure is the events/s the sink absorbs, written to
// its files. Clients is the number of concurrent posters.
func BenchmarkLines1MiB(b *testing.B) {
	var body bytes.Buffer
	n := 0
	for body.Len() < 1<<20-200 {
		fmt.Fprintf(&body, "2026-11-21T10:00:00.000000+00:00 app[web.1]: at=info id=%08d method=GET path=/items status=200 bytes=%d pad=%s\n",
			n, n*7, bytes.Repeat([]byte{'x'}, 70))
		n++
	}
	payload := body.Bytes()
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := startSink(b, Options{MaxFileBytes: 256 << 20})
			b.SetBytes(int64(len(payload)))
			start := time.Now()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						r, err := tryPost(s.url, "text/plain", "", payload)
						if err != nil || r.status != http.StatusOK {
							b.Errorf("post: %v %d %s", err, r.status, r.body)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			st := s.Stats()
			if st.Events != int64(n)*st.Batches {
				b.Fatalf("stats %+v: want %d events per batch", st, n)
			}
			b.ReportMetric(float64(st.Events)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64(n), "events/batch")
		})
	}
}
