package inputs

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"pulse/event"
	"pulse/protocol"
)

// handlerCall runs the HTTP input's handler on one in-memory request, as
// fasthttp would: no network, so that allocations are the handler's own.
type handlerCall struct {
	handle fasthttp.RequestHandler
	req    fasthttp.Request
	rc     fasthttp.RequestCtx
	remote net.Addr
}

func newHandlerCall(tb testing.TB, format, encoding string, body []byte) *handlerCall {
	tb.Helper()
	h, err := NewHTTP(HTTPOptions{Listen: "127.0.0.1:0", Format: format, Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	committing := func(_ context.Context, b *event.Batch) error { b.Commit(); return nil }
	c := &handlerCall{handle: h.handler(context.Background(), committing), remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}}
	c.req.Header.SetMethod("POST")
	c.req.SetRequestURI(protocol.Path)
	if encoding != "" {
		c.req.Header.Set("Content-Encoding", encoding)
	}
	c.req.SetBody(body)
	return c
}

func (c *handlerCall) run(tb testing.TB) {
	c.rc.Init(&c.req, c.remote, nil)
	c.handle(&c.rc)
	if st := c.rc.Response.StatusCode(); st != 200 {
		tb.Fatalf("status %d %q", st, c.rc.Response.Body())
	}
}

// bodyOf returns n events of the format, as a request body.
func bodyOf(format string, n int) []byte {
	events := make([]string, n)
	for i := range events {
		events[i] = fmt.Sprintf(`{"at":"info","i":%d,"msg":"%s"}`, i, strings.Repeat("x", 150))
	}
	if format == FormatPulse {
		return pulseBody(events...)
	}
	return []byte(strings.Join(events, "\n") + "\n")
}

func BenchmarkHTTPHandler(b *testing.B) {
	const events = 1000
	for _, tc := range []struct{ format, encoding string }{
		{FormatPulse, ""}, {FormatPulse, "zstd"}, {FormatLines, ""}, {FormatNDJSON, ""},
	} {
		b.Run(tc.format+"/"+tc.encoding, func(b *testing.B) {
			body := bodyOf(tc.format, events)
			raw := len(body)
			if tc.encoding == "zstd" {
				body = protocol.Compress(nil, body)
			}
			c := newHandlerCall(b, tc.format, tc.encoding, body)
			b.SetBytes(int64(raw))
			b.ReportAllocs()
			for b.Loop() {
				c.run(b)
			}
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
