package sink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/protocol"
	"pulse/testenv"
)

// TestConcurrentClients: many clients at once, every event exactly once,
// no line torn or glued, files rotated.
func TestConcurrentClients(t *testing.T) {
	const clients, batches, perBatch = 16, 200, 5
	s := startSink(t, Options{MaxFileBytes: 64 << 10})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			for b := range batches {
				evs := events(fmt.Sprintf("client=%d batch=%d", c, b), perBatch)
				var body []byte
				var ctype, enc string
				switch b % 3 {
				case 0:
					body, ctype, enc = protocol.Compress(nil, pulseBody(evs...)), protocol.ContentType, "zstd"
				case 1:
					body, ctype = linesBody(evs), "application/x-ndjson"
				default:
					body, ctype = linesBody(evs), "text/plain"
				}
				r, err := tryPost(s.url+protocol.Path, ctype, enc, body)
				if err == nil && r.status != http.StatusOK {
					err = fmt.Errorf("status %d: %s", r.status, r.body)
				}
				if err != nil {
					errs <- fmt.Errorf("client %d batch %d: %w", c, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := readLines(t, s.opts.Dir)
	var want []string
	for c := range clients {
		for b := range batches {
			want = append(want, events(fmt.Sprintf("client=%d batch=%d", c, b), perBatch)...)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files hold %d lines, want %d distinct events once each", len(got), len(want))
	}
	if st := s.Stats(); st.Batches != clients*batches || st.Events != clients*batches*perBatch {
		t.Errorf("stats %+v", st)
	}
	if n := len(fileNames(t, s.opts.Dir)); n < 5 {
		t.Errorf("%d files: expected rotation at 64 KiB", n)
	}
}

// TestRestart: a sink started again on the same directory continues the
// numbering in a new file; it neither appends to the last file nor glues
// onto a line torn by a crash, which it cuts.
func TestRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	first := startSink(t, Options{Dir: dir})
	post(t, first.url, "", "", []byte("one\ntwo\n"))
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves a partial line at the end.
	f, err := os.OpenFile(filepath.Join(dir, "events-000001.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("thr")
	f.Close()

	second := startSink(t, Options{Dir: dir})
	if r := post(t, second.url, "", "", []byte("three\nfour\n")); r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got, want := fileNames(t, dir), []string{"events-000001.log", "events-000002.log"}; !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	for name, want := range map[string]string{"events-000001.log": "one\ntwo\n", "events-000002.log": "three\nfour\n"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s holds %q, want %q", name, b, want)
		}
	}
}

// TestShutdown: once Run's context is done, a request in flight is still
// written and answered 200, the sink stops listening, and the final line
// counts everything.
func TestShutdown(t *testing.T) {
	var progress testenv.SyncBuffer
	s := startSink(t, Options{Latency: 300 * time.Millisecond, Quiet: true, Progress: &progress})
	res := make(chan reply, 1)
	go func() {
		r, err := tryPost(s.url, "", "", []byte("a\nb\nc\n"))
		if err != nil {
			r = reply{status: -1, body: err.Error()}
		}
		res <- r
	}()
	testenv.WaitFor(t, 5*time.Second, "the request in the handler", func() bool { return s.Stats().Requests == 1 })
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case r := <-res:
		if r.status != http.StatusOK {
			t.Fatalf("request in flight: %d %s", r.status, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the request in flight")
	}
	if got := readLines(t, s.opts.Dir); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("files hold %q", got)
	}
	if want := "events=3 batches=1 bytes=6 requests=1 refused=0\n"; progress.String() != want {
		t.Errorf("final line %q, want %q", progress.String(), want)
	}
	if _, err := tryPost(s.url, "", "", []byte("late\n")); err == nil {
		t.Error("a request after shutdown got an answer")
	}
}

// TestProgress: the live count prints one plain line per period to a
// non-terminal, then the final line.
func TestProgress(t *testing.T) {
	var progress testenv.SyncBuffer
	s := startSink(t, Options{Progress: &progress, ProgressEvery: 20 * time.Millisecond})
	post(t, s.url, "", "", []byte("a\nb\n"))
	line := regexp.MustCompile(`^events=(\d+) rate=\d+/s requests=(\d+) refused=0$`)
	testenv.WaitFor(t, 5*time.Second, "a live count with both events", func() bool {
		return strings.Contains(progress.String(), "events=2 rate=")
	})
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		if !line.MatchString(l) {
			t.Errorf("live count line %q", l)
		}
	}
	if final := lines[len(lines)-1]; final != "events=2 batches=1 bytes=4 requests=1 refused=0" {
		t.Errorf("final line %q", final)
	}
}

// TestRunErrors: Run reports what stops it from serving.
func TestRunErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	busy := startSink(t, Options{})
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"dir is a file", Options{Dir: filepath.Join(file, "out")}, "not a directory"},
		{"address in use", Options{Dir: t.TempDir(), Listen: busy.Addr()}, "address already in use"},
	} {
		tc.opts.Quiet, tc.opts.Progress = true, &testenv.SyncBuffer{}
		s, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.Run(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Run: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestOptions: bad options are refused by New.
func TestOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: "d", FailRate: 1.5},
		{Dir: "d", FailRate: -0.1},
		{Dir: "d", Latency: -time.Second},
		{Dir: "d", DownStatus: 42},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// TestShutdownIdleConnections: connections that carry no request, spare
// ones never used and keep-alive ones between requests, do not hold up
// the shutdown.
func TestShutdownIdleConnections(t *testing.T) {
	s := startSink(t, Options{})
	spare, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	post(t, s.url, "", "", []byte("a\n")) // leaves a keep-alive connection
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	spare.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := spare.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("spare connection: read %d, %v; want it closed", n, err)
	}
}
