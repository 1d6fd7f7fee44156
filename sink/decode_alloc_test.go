//go:build !race

package sink

import (
	"strings"
	"testing"

	"pulse/protocol"
)

// Allocation counts hold only without the race detector, which makes
// sync.Pool drop items at random (the zstd decoders are pooled): this file
// is left out of -race builds, and scripts/test.sh runs it in a pass
// without -race.

// TestDecodeAllocs: with its scratch space warm, decoding allocates nothing
// per event (nor, today, per batch).
func TestDecodeAllocs(t *testing.T) {
	allocs := func(events int, ctype, encoding string, encode func([]byte) []byte) float64 {
		evs := events
		lines := strings.Repeat("at=info msg=hello\n", evs)
		var body []byte
		if ctype == protocol.ContentType {
			body = pulseBody(strings.Split(strings.TrimSuffix(lines, "\n"), "\n")...)
		} else {
			body = []byte(strings.ReplaceAll(lines, "\n", "\r\n")) // the copying path
		}
		if encode != nil {
			body = encode(body)
		}
		j := &job{}
		req := request{contentType: []byte(ctype), contentEncoding: []byte(encoding), body: body}
		return testing.AllocsPerRun(20, func() {
			if err := decode(j, req, 1<<30); err != nil || j.batch.Events != evs {
				t.Fatalf("decode: %v, %d events", err, j.batch.Events)
			}
		})
	}
	zstd := func(b []byte) []byte { return protocol.Compress(nil, b) }
	for _, tc := range []struct {
		name, ctype, encoding string
		encode                func([]byte) []byte
	}{
		{"pulse", protocol.ContentType, "", nil},
		{"pulse zstd", protocol.ContentType, "zstd", zstd},
		{"lines", "text/plain", "", nil},
		{"lines zstd", "text/plain", "zstd", zstd},
		{"pulse s2", protocol.ContentType, "s2", func(b []byte) []byte { return protocol.CompressS2Block(nil, b) }},
	} {
		few, many := allocs(10, tc.ctype, tc.encoding, tc.encode), allocs(10_000, tc.ctype, tc.encoding, tc.encode)
		if many > few || many > 1 {
			t.Errorf("%s: %v allocations for 10 events, %v for 10,000", tc.name, few, many)
		}
	}
}
