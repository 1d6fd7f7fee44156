package sink

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/protocol"
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

// BenchmarkDecodePulse: decoding one ~1 MiB pulse batch of router-like
// events into lines, as post does before writing them: decompression and
// the layout as lines; the figure is MB/s of decoded events.
func BenchmarkDecodePulse(b *testing.B) {
	var evs []string
	size := 0
	for size < 1<<20-300 {
		e := fmt.Sprintf("2026-11-21T10:00:00.%06d+00:00 heroku[router]: at=info method=GET path=\"/items/%d\" host=app.example.com request_id=%08x-cfbc-4310-9828-9446ce181a25 fwd=\"192.0.2.%d\" dyno=web.%d connect=%dms service=%dms status=200 bytes=%d protocol=https id=%d",
			len(evs)%1000000, len(evs)*7%5000, len(evs)*2654435761, len(evs)%250, len(evs)%4+1, len(evs)%3+1, len(evs)*13%200, len(evs)*31%50000, len(evs))
		evs = append(evs, e)
		size += len(e) + 2
	}
	raw := pulseBody(evs...)
	for _, c := range []struct {
		name, encoding string
		body           []byte
	}{
		{"none", "", raw},
		{"zstd", protocol.EncodingZstd, protocol.Compress(nil, raw)},
		{"s2", protocol.EncodingS2, protocol.CompressS2Block(nil, raw)},
	} {
		b.Run(c.name, func(b *testing.B) {
			j := &job{}
			req := request{contentType: []byte(protocol.ContentType), contentEncoding: []byte(c.encoding), body: c.body}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := decode(j, req, 1<<30); err != nil || j.batch.Events != len(evs) {
					b.Fatalf("decode: %v, %d events", err, j.batch.Events)
				}
			}
		})
	}
}
