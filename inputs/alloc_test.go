//go:build !race

package inputs

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"pulse/event"
)

// Allocation counts hold only without the race detector, which makes
// sync.Pool drop items at random: this file is left out of -race builds,
// and scripts/test.sh runs it in a pass without -race.

// The handler allocates per request, never per event.
func TestHTTPHandlerAllocsPerEvent(t *testing.T) {
	for _, tc := range []struct{ format, encoding string }{
		{FormatPulse, ""}, {FormatPulse, "zstd"}, {FormatLines, ""}, {FormatNDJSON, ""}, {FormatLines, "gzip"},
	} {
		t.Run(tc.format+"/"+tc.encoding, func(t *testing.T) {
			allocs := func(n int) float64 {
				body := bodyOf(tc.format, n)
				enc := byte(fuzzPlain)
				switch tc.encoding {
				case "zstd":
					enc = fuzzZstd
				case "gzip":
					enc = fuzzGzip
				}
				body, _ = fuzzEncode(t, body, enc)
				c := newHandlerCall(t, tc.format, tc.encoding, body)
				return testing.AllocsPerRun(50, func() { c.run(t) })
			}
			few, many := allocs(10), allocs(2000)
			t.Logf("allocs per request: %.1f with 10 events, %.1f with 2000", few, many)
			if many > few+1 {
				t.Errorf("allocations grow with events: %.1f with 10, %.1f with 2000", few, many)
			}
		})
	}
}

// The connection reader allocates per connection and per buffer growth,
// never per message.
func TestSyslogConnAllocsPerMessage(t *testing.T) {
	s, err := NewSyslog(SyslogOptions{Listen: "tcp://127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var events int
	emit := func(_ context.Context, b *event.Batch) error { events += len(b.Events); return nil }
	for _, framing := range []string{"octet", "newline"} {
		allocs := func(n int) float64 {
			var stream []byte
			for i := range n {
				m := fmt.Sprintf("<14>1 2026-03-14T09:26:53Z h app - - - id=%d", i)
				if framing == "octet" {
					stream = append(stream, octet(m)...)
				} else {
					stream = append(stream, m+"\n"...)
				}
			}
			conn := &memConn{}
			return testing.AllocsPerRun(20, func() {
				conn.r.Reset(stream)
				newSyslogConn(s, conn, emit).run(context.Background())
			})
		}
		few, many := allocs(10), allocs(20000)
		t.Logf("%s: allocs per connection: %.0f with 10 messages, %.0f with 20000", framing, few, many)
		if many > few+40 {
			t.Errorf("%s: allocations grow with messages: %.0f with 10, %.0f with 20000", framing, few, many)
		}
	}
}

// The handler allocates per request, never per frame.
func TestLogplexAllocsPerEvent(t *testing.T) {
	allocs := func(n int) float64 {
		c := newHandlerCall(t, FormatLogplex, "", logplexBody(logplexMsgs(0, n)...))
		c.req.Header.Set(headerLogplexMsgCount, strconv.Itoa(n))
		c.req.Header.Set(headerLogplexDrainToken, "d.x")
		return testing.AllocsPerRun(50, func() { c.run(t) })
	}
	few, many := allocs(10), allocs(2000)
	t.Logf("allocs per request: %.1f with 10 frames, %.1f with 2000", few, many)
	if many > few+1 {
		t.Errorf("allocations grow with frames: %.1f with 10, %.1f with 2000", few, many)
	}
}
