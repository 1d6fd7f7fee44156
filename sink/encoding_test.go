package sink

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"pulse/protocol"
)

func gzipBytes(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEncodings: each encoding, over real HTTP, ends up as exactly its
// events, one per line, and Stats counts them.
func TestEncodings(t *testing.T) {
	evs := events("at=info msg=hello", 50)
	ndjson := make([]string, 20)
	for i := range ndjson {
		ndjson[i] = `{"message":"hi \"there\"","n":` + strconv.Itoa(i) + `}`
	}
	tests := []struct {
		name     string
		path     string
		ctype    string
		encoding string
		body     func(t testing.TB) []byte
		header   []string
		want     []string
	}{
		{"pulse plain", protocol.Path, protocol.ContentType, "",
			func(testing.TB) []byte { return pulseBody(evs...) }, nil, evs},
		{"pulse zstd", protocol.Path, protocol.ContentType, "zstd",
			func(testing.TB) []byte { return protocol.Compress(nil, pulseBody(evs...)) },
			[]string{protocol.HeaderEvents, "50"}, evs},
		{"pulse zstd without Content-Encoding", protocol.Path, protocol.ContentType + "; charset=binary", "",
			func(testing.TB) []byte { return protocol.Compress(nil, pulseBody(evs...)) }, nil, evs},
		{"pulse s2", protocol.Path, protocol.ContentType, "s2",
			func(testing.TB) []byte { return protocol.CompressS2Block(nil, pulseBody(evs...)) },
			[]string{protocol.HeaderEvents, "50"}, evs},
		{"pulse gzip", protocol.Path, protocol.ContentType, "gzip",
			func(t testing.TB) []byte { return gzipBytes(t, pulseBody(evs...)) }, nil, evs},
		{"pulse empty and spaced records", protocol.Path, protocol.ContentType, "",
			func(testing.TB) []byte { return pulseBody("a", "", " b ") }, nil, []string{"a", "", " b "}},
		{"lines", "/", "text/plain; charset=utf-8", "",
			func(testing.TB) []byte { return linesBody(evs) }, nil, evs},
		{"lines without a final newline", "/ingest", "", "",
			func(testing.TB) []byte { return []byte("one\ntwo") }, nil, []string{"one", "two"}},
		{"lines CRLF and blank lines", "/", "text/plain", "",
			func(testing.TB) []byte { return []byte("\r\none\r\n\n\ntwo\r\n\r\n") }, nil, []string{"one", "two"}},
		{"lines gzip", "/", "text/plain", "gzip",
			func(t testing.TB) []byte { return gzipBytes(t, linesBody(evs)) }, nil, evs},
		{"lines zstd", "/", "text/plain", "zstd",
			func(testing.TB) []byte { return protocol.Compress(nil, linesBody(evs)) }, nil, evs},
		{"ndjson", "/", "application/x-ndjson", "",
			func(testing.TB) []byte { return linesBody(ndjson) }, nil, ndjson},
		{"ndjson gzip", "/", "Application/X-NDJSON", "GZIP",
			func(t testing.TB) []byte { return gzipBytes(t, linesBody(ndjson)) }, nil, ndjson},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startSink(t, Options{})
			// Twice: the second batch goes through pooled scratch space.
			for range 2 {
				r := post(t, s.url+tc.path, tc.ctype, tc.encoding, tc.body(t), tc.header...)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
			}
			want := append(slices.Clone(tc.want), tc.want...)
			if got := readLines(t, s.opts.Dir); !slices.Equal(got, want) {
				t.Fatalf("files hold %d lines %q...\nwant %d lines %q...", len(got), head(got), len(want), head(want))
			}
			var bytes int64
			for _, e := range want {
				bytes += int64(len(e)) + 1
			}
			st := s.Stats()
			if st.Requests != 2 || st.Batches != 2 || st.Events != int64(len(want)) || st.Bytes != bytes || st.Refused != 0 || st.Rejected != 0 {
				t.Errorf("stats %+v, want 2 requests, 2 batches, %d events, %d bytes", st, len(want), bytes)
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// TestWrittenBeforeOK: once a request is answered 200 its events are in
// the files, without waiting for anything.
func TestWrittenBeforeOK(t *testing.T) {
	s := startSink(t, Options{MaxFileBytes: 4 << 10})
	var want []string
	for i := range 50 {
		evs := events("batch="+strconv.Itoa(i), 20)
		r := post(t, s.url+protocol.Path, protocol.ContentType, "zstd", protocol.Compress(nil, pulseBody(evs...)))
		if r.status != http.StatusOK {
			t.Fatalf("batch %d: status %d: %s", i, r.status, r.body)
		}
		want = append(want, evs...)
		if got := readLines(t, s.opts.Dir); !slices.Equal(got, want) {
			t.Fatalf("after the 200 of batch %d the files hold %d lines, want %d", i, len(got), len(want))
		}
	}
	if n := len(fileNames(t, s.opts.Dir)); n < 2 {
		t.Errorf("%d files: expected rotation at 4 KiB", n)
	}
}

// TestOtherMethods: GET answers the counters; other methods are refused
// without writing.
func TestOtherMethods(t *testing.T) {
	s := startSink(t, Options{})
	post(t, s.url, "", "", []byte("x\ny\n"))
	resp, err := testClient.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if want := "events=2 batches=1 bytes=4 requests=2 refused=0\n"; resp.StatusCode != http.StatusOK || b.String() != want {
		t.Errorf("GET: %d %q, want 200 %q", resp.StatusCode, b.String(), want)
	}
	req, _ := http.NewRequest(http.MethodPut, s.url+"/", bytes.NewReader([]byte("z\n")))
	resp, err = testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Errorf("PUT: %d, Allow %q; want 405 with Allow", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if got := readLines(t, s.opts.Dir); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("files hold %q", got)
	}
}
