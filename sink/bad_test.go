package sink

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"pulse/protocol"
)

// TestBadBodies: a malformed or oversized body is answered with its reason,
// nothing of it is written, and the sink goes on serving.
func TestBadBodies(t *testing.T) {
	good := pulseBody(events("ok", 10)...)
	tests := []struct {
		name     string
		ctype    string
		encoding string
		body     []byte
		header   []string
		status   int
		reason   string
	}{
		{"truncated pulse", protocol.ContentType, "", good[:len(good)-3], nil,
			http.StatusBadRequest, "exceeds"},
		{"bad magic", protocol.ContentType, "", append([]byte("PLS2"), good[4:]...), nil,
			http.StatusBadRequest, "magic"},
		{"empty pulse body", protocol.ContentType, "", nil, nil,
			http.StatusBadRequest, "magic"},
		{"bad length prefix", protocol.ContentType, "", append(pulseBody("a", "b"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), nil,
			http.StatusBadRequest, "length prefix"},
		{"invalid zstd", protocol.ContentType, "zstd", []byte("this is not zstd at all"), nil,
			http.StatusBadRequest, "zstd"},
		{"truncated zstd", protocol.ContentType, "zstd", protocol.Compress(nil, good)[:20], nil,
			http.StatusBadRequest, "zstd"},
		{"invalid s2", protocol.ContentType, "s2", []byte("this is not s2 at all"), nil,
			http.StatusBadRequest, "s2"},
		{"truncated s2", protocol.ContentType, "s2", protocol.CompressS2Block(nil, good)[:20], nil,
			http.StatusBadRequest, "s2"},
		{"s2 bomb", protocol.ContentType, "s2", protocol.CompressS2Block(nil, pulseBody(strings.Repeat("x", 10000))), nil,
			http.StatusBadRequest, "exceeds 8192 bytes"},
		{"cut on a record boundary", protocol.ContentType, "", pulseBody(events("ok", 9)...), []string{protocol.HeaderEvents, "10"},
			http.StatusBadRequest, "holds 9 records"},
		{"invalid gzip", "text/plain", "gzip", []byte("not gzip"), nil,
			http.StatusBadRequest, "gzip"},
		{"truncated gzip", "text/plain", "gzip", gzipBytes(t, bytes.Repeat([]byte("line\n"), 1000))[:30], nil,
			http.StatusBadRequest, "gzip"},
		{"unknown encoding", "text/plain", "br", []byte("x\n"), nil,
			http.StatusUnsupportedMediaType, "Content-Encoding"},
		{"body too large", "text/plain", "", bytes.Repeat([]byte("0123456789abcde\n"), 1024), nil,
			http.StatusRequestEntityTooLarge, "exceeds 8192 bytes"},
		{"gzip bomb", "text/plain", "gzip", gzipBytes(t, bytes.Repeat([]byte("0123456789abcde\n"), 1024)), nil,
			http.StatusRequestEntityTooLarge, "exceeds 8192 bytes"},
		{"zstd bomb", protocol.ContentType, "zstd", protocol.Compress(nil, pulseBody(strings.Repeat("x", 10000))), nil,
			http.StatusBadRequest, "exceeds 8192 bytes"},
	}
	s := startSink(t, Options{MaxBodyBytes: 8 << 10})
	var want []string
	for i, tc := range tests {
		r := post(t, s.url+protocol.Path, tc.ctype, tc.encoding, tc.body, tc.header...)
		if r.status != tc.status || !strings.Contains(r.body, tc.reason) {
			t.Errorf("%s: %d %q, want %d and %q", tc.name, r.status, r.body, tc.status, tc.reason)
		}
		if got := readLines(t, s.opts.Dir); !slices.Equal(got, want) {
			t.Fatalf("%s: files hold %d lines, want %d", tc.name, len(got), len(want))
		}
		// Still serving.
		if r := post(t, s.url+protocol.Path, protocol.ContentType, "", good); r.status != http.StatusOK {
			t.Fatalf("after %s: good batch: %d %s", tc.name, r.status, r.body)
		}
		want = append(want, events("ok", 10)...)
		if st := s.Stats(); st.Rejected != int64(i+1) || st.Batches != int64(i+1) {
			t.Errorf("after %s: stats %+v", tc.name, st)
		}
	}
	if got := readLines(t, s.opts.Dir); !slices.Equal(got, want) {
		t.Fatalf("files hold %d lines, want %d", len(got), len(want))
	}
}
