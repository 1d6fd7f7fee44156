package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pulse/protocol"
)

// testSink is a Sink running in the background for one test.
type testSink struct {
	*Sink
	url    string
	cancel context.CancelFunc
	done   chan error
}

// startSink starts a sink on 127.0.0.1:0 with opts (Dir defaults to a new
// temporary directory) and stops it when the test ends.
func startSink(t testing.TB, opts Options) *testSink {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "out")
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.Progress == nil {
		opts.Quiet, opts.Progress = true, io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testSink{Sink: s, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-ts.done:
		t.Fatalf("sink stopped before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("sink not listening after 10s")
	}
	ts.url = "http://" + s.Addr()
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("sink Run: %v", err)
		}
	})
	return ts
}

// stop stops the sink and returns what Run returned. It may be called more
// than once.
func (ts *testSink) stop() error {
	ts.cancel()
	select {
	case err, ok := <-ts.done:
		if ok {
			close(ts.done)
		}
		return err
	case <-time.After(30 * time.Second):
		return errors.New("Run did not return within 30s of cancel")
	}
}

// reply is what a test client got back.
type reply struct {
	status int
	header http.Header
	body   string
}

var testClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
}

// post sends body to url with the given Content-Type and Content-Encoding
// (either may be empty).
func post(t testing.TB, url, ctype, encoding string, body []byte, header ...string) reply {
	t.Helper()
	r, err := tryPost(url, ctype, encoding, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryPost is post for goroutines other than the test's.
func tryPost(url, ctype, encoding string, body []byte, header ...string) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

// readLines returns the lines of every event file in dir, in file order,
// failing if a file does not end in a newline (a torn line).
func readLines(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "events-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			continue
		}
		if b[len(b)-1] != '\n' {
			t.Fatalf("%s ends in a torn line: %q", filepath.Base(f), b[max(0, len(b)-40):])
		}
		lines = append(lines, strings.Split(string(b[:len(b)-1]), "\n")...)
	}
	return lines
}

// fileNames returns the names of the files in dir.
func fileNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// pulseBody encodes events as a native batch, uncompressed.
func pulseBody(events ...string) []byte {
	var w protocol.Writer
	w.Reset(nil)
	for _, e := range events {
		w.Append([]byte(e))
	}
	return w.Bytes()
}

// events returns n distinct events "<prefix> n=i".
func events(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s n=%d", prefix, i)
	}
	return out
}

func linesBody(events []string) []byte {
	return []byte(strings.Join(events, "\n") + "\n")
}
