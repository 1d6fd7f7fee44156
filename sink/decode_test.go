package sink

import (
	"strings"
	"testing"

	"pulse/protocol"
)

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		n       int
		aliases bool
	}{
		{"", "", 0, false},
		{"a\n", "a\n", 1, true},
		{"a\nb\n", "a\nb\n", 2, true},
		{"a\nb", "a\nb\n", 2, false},
		{"\n", "", 0, false},
		{"\n\n\n", "", 0, false},
		{"a\n\nb\n", "a\nb\n", 2, false},
		{"\na\n", "a\n", 1, false},
		{"a\r\nb\r\n", "a\nb\n", 2, false},
		{"a\rb\n", "a\rb\n", 1, false}, // only a line's last \r goes
		{"\r\n", "", 0, false},
		{" \n", " \n", 1, true}, // a blank-looking event is an event
	}
	for _, tc := range tests {
		body := []byte(tc.in)
		got, n := splitLines(make([]byte, 0, 64), body)
		if string(got) != tc.want || n != tc.n || aliases(got, body) != tc.aliases {
			t.Errorf("splitLines(%q) = %q, %d, aliasing %v; want %q, %d, %v",
				tc.in, got, n, aliases(got, body), tc.want, tc.n, tc.aliases)
		}
	}
}

// TestDecodeAllocs: with its scratch space warm, decoding allocates nothing
// per event (nor, today, per batch).
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts do not hold under the race detector")
	}
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
