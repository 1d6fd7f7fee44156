package inputs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/event"
)

// recBatch is one emitted batch, copied.
type recBatch struct {
	source string
	events []string
	commit func()
}

// recorder is an Emit that copies what it receives and commits each batch
// at once, unless hold is set: then the test commits with commit(i).
type recorder struct {
	mu      sync.Mutex
	hold    bool
	fail    error // returned by emit when set
	batches []recBatch
}

func (r *recorder) emit(_ context.Context, b *event.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	rb := recBatch{source: b.Source, commit: b.Commit}
	for _, ev := range b.Events {
		rb.events = append(rb.events, string(ev))
	}
	r.batches = append(r.batches, rb)
	if !r.hold && b.Commit != nil {
		b.Commit()
	}
	return nil
}

// events returns every event received, in order.
func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.batches {
		out = append(out, b.events...)
	}
	return out
}

// from returns the events received from source, in order.
func (r *recorder) from(source string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.batches {
		if b.source == source {
			out = append(out, b.events...)
		}
	}
	return out
}

func (r *recorder) count() int { return len(r.events()) }

// has returns a condition: at least n events received.
func (r *recorder) has(n int) func() bool { return func() bool { return r.count() >= n } }

// batch returns batch i.
func (r *recorder) batch(i int) recBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.batches[i]
}

func (r *recorder) numBatches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.batches)
}

// testLogger logs to the test log, so that failures come with context.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// testFileOptions are options for tests: fast polls, small batches.
func testFileOptions(t testing.TB, dir string, paths ...string) FileOptions {
	for i, p := range paths {
		paths[i] = filepath.Join(dir, p)
	}
	return FileOptions{
		Name:            "test",
		Paths:           paths,
		PollInterval:    5 * time.Millisecond,
		GlobInterval:    10 * time.Millisecond,
		CheckpointFile:  filepath.Join(dir, "state", "checkpoints.json"),
		CheckpointEvery: 10 * time.Millisecond,
		Logger:          testLogger(t),
	}
}

// running is a File input running in the background.
type running struct {
	f      *File
	rec    *recorder
	cancel context.CancelFunc
	done   chan error
}

// start runs a File input with opts, recording into rec.
func start(t testing.TB, opts FileOptions, rec *recorder) *running {
	t.Helper()
	f, err := NewFile(opts)
	if err != nil {
		t.Fatalf("NewFile: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{f: f, rec: rec, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- f.Run(ctx, rec.emit) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop stops the input and checks that Run returned nil.
func (r *running) stop(t testing.TB) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	r.done = nil
}

// writeFile creates path with content.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// appendFile appends content to path.
func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, content); err != nil {
		t.Fatal(err)
	}
}

// numbered returns lines prefix-from .. prefix-to, each with a newline.
func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s-%d\n", prefix, i)
	}
	return b.String()
}

// lines splits content into its lines, without the last empty one.
func lines(content string) []string {
	return strings.Split(strings.TrimSuffix(content, "\n"), "\n")
}

// equal fails the test if got and want differ, showing where.
func equal(t testing.TB, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: differ at %d: got %q, want %q (got %d, want %d events)", what, i, got[i], want[i], len(got), len(want))
		}
	}
	t.Fatalf("%s: got %d events, want %d\ngot:  %q\nwant: %q", what, len(got), len(want), got, want)
}

var errTestStop = errors.New("test: stop")
