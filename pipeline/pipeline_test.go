package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/event"
)

// memSink stores payloads in memory; when blocked it fails Put as a full
// buffer would once ctx ends.
type memSink struct {
	mu       sync.Mutex
	payloads [][]byte
	events   []int
	blocked  atomic.Bool
}

func (s *memSink) PutKey(ctx context.Context, _ uint64, p []byte, events int) error {
	if s.blocked.Load() {
		<-ctx.Done()
		return fmt.Errorf("buffer full: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads = append(s.payloads, bytes.Clone(p))
	s.events = append(s.events, events)
	return nil
}

func (s *memSink) all() (string, []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.payloads, nil)), append([]int(nil), s.events...)
}

func batchOf(lines ...string) *event.Batch {
	b := &event.Batch{Input: "app", Source: "/var/log/app.log", Time: time.Date(2026, 11, 21, 10, 0, 0, 123e6, time.UTC)}
	for _, l := range lines {
		b.Events = append(b.Events, []byte(l))
	}
	return b
}

func TestBatchingLimits(t *testing.T) {
	tests := []struct {
		name      string
		maxEvents int
		maxBytes  int
		lines     []string
		want      []int // events per stored batch, before the final flush
	}{
		{"by count", 2, 1 << 20, []string{"a", "b", "c", "d", "e"}, []int{2, 2}},
		{"by bytes", 100, 8, []string{"aaa", "bbb", "ccc", "ddd"}, []int{2, 2}},
		{"huge event alone", 100, 8, []string{"a", "0123456789abcdef", "b"}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memSink{}
			r, err := NewRouter("h", []OutputOptions{{Name: "o", Encoding: Lines, MaxEvents: tt.maxEvents, MaxBytes: tt.maxBytes, MaxWait: time.Hour, Sink: sink}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Emit(context.Background(), batchOf(tt.lines...)); err != nil {
				t.Fatal(err)
			}
			if _, ev := sink.all(); fmt.Sprint(ev) != fmt.Sprint(tt.want) {
				t.Errorf("batches before flush = %v, want %v", ev, tt.want)
			}
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, _ := sink.all()
			if want := strings.Join(tt.lines, "\n") + "\n"; got != want {
				t.Errorf("payload = %q, want %q", got, want)
			}
		})
	}
}

func TestCommitOnlyWhenEveryOutputStored(t *testing.T) {
	a, b := &memSink{}, &memSink{}
	r, err := NewRouter("h", []OutputOptions{
		{Name: "a", Encoding: Lines, MaxEvents: 2, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: a},
		{Name: "b", Encoding: NDJSON, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: b},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var commits atomic.Int32
	in := batchOf("x", "y", "z")
	in.Commit = func() { commits.Add(1) }
	if err := r.Emit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if n := commits.Load(); n != 0 {
		t.Fatalf("committed %d times before every output stored the batch", n)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := commits.Load(); n != 1 {
		t.Fatalf("commits = %d, want 1", n)
	}
}

// An output that fails to take a batch keeps it from being committed, even
// when the other outputs store it.
func TestPartialEmitNeverCommits(t *testing.T) {
	good, full := &memSink{}, &memSink{}
	full.blocked.Store(true)
	r, _ := NewRouter("h", []OutputOptions{
		{Name: "good", Encoding: Lines, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: good},
		{Name: "full", Encoding: Lines, MaxEvents: 1, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: full},
	}, nil)
	var committed atomic.Bool
	in := batchOf("a", "b")
	in.Commit = func() { committed.Store(true) }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Emit(ctx, in); err == nil {
		t.Fatal("Emit should fail when an output is full and ctx is done")
	}
	if err := r.Flush(ctx); err == nil {
		t.Fatal("flush of the full output should fail")
	}
	if got, _ := good.all(); got != "a\nb\n" {
		t.Fatalf("good output got %q", got)
	}
	if committed.Load() {
		t.Fatal("committed although output full never stored the batch")
	}
}

func TestFailedFlushKeepsBatch(t *testing.T) {
	sink := &memSink{}
	sink.blocked.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := NewRouter("h", []OutputOptions{{Name: "o", Encoding: Lines, MaxEvents: 1, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink}}, nil)
	var committed atomic.Bool
	in := batchOf("keep me")
	in.Commit = func() { committed.Store(true) }
	cancel()
	if err := r.Emit(ctx, in); err == nil {
		t.Fatal("Emit should fail while the sink is full and ctx is done")
	}
	if committed.Load() {
		t.Fatal("committed a batch that was not stored")
	}
	sink.blocked.Store(false)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := sink.all(); got != "keep me\n" || !committed.Load() {
		t.Fatalf("after flush: payload %q committed %v", got, committed.Load())
	}
	if r.Stats()[0].PutErrors != 1 {
		t.Errorf("put errors = %d, want 1", r.Stats()[0].PutErrors)
	}
}

func TestMaxWaitFlushes(t *testing.T) {
	sink := &memSink{}
	r, _ := NewRouter("h", []OutputOptions{{Name: "o", Encoding: Lines, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond, Sink: sink}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := r.Emit(context.Background(), batchOf("late")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := sink.all(); got == "late\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("open batch not flushed after max_wait")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNDJSON(t *testing.T) {
	tests := []string{
		`plain`, `quote " and \ backslash`, "tab\tnewline\ncr\rbell\a", "ünïcødé ✓", "bad utf8 \xff\xfe end", "",
	}
	sink := &memSink{}
	r, _ := NewRouter("host-a", []OutputOptions{{Name: "o", Encoding: NDJSON, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink}}, nil)
	if err := r.Emit(context.Background(), batchOf(tests...)); err != nil {
		t.Fatal(err)
	}
	_ = r.Flush(context.Background())
	got, _ := sink.all()
	recs := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(recs) != len(tests) {
		t.Fatalf("%d records, want %d", len(recs), len(tests))
	}
	for i, rec := range recs {
		var v struct{ Time, Host, Input, Source, Message string }
		if err := json.Unmarshal([]byte(rec), &v); err != nil {
			t.Fatalf("record %d not JSON: %v: %s", i, err, rec)
		}
		want := strings.ToValidUTF8(tests[i], "\ufffd\ufffd")
		if v.Message != want || v.Host != "host-a" || v.Input != "app" || v.Source != "/var/log/app.log" || v.Time != "2026-11-21T10:00:00.123Z" {
			t.Errorf("record %d = %+v, want message %q", i, v, want)
		}
	}
}

func TestNewRouterRejectsBadOptions(t *testing.T) {
	_, err := NewRouter("h", []OutputOptions{{Name: "o", Encoding: "xml", MaxEvents: 1, MaxBytes: 1, MaxWait: time.Second, Sink: &memSink{}}}, nil)
	if err == nil || !strings.Contains(err.Error(), `output o: unknown encoding "xml"`) {
		t.Fatalf("err = %v", err)
	}
}

type discard struct{}

func (discard) PutKey(context.Context, uint64, []byte, int) error { return nil }

func benchmarkEmit(b *testing.B, enc Encoding) {
	line := bytes.Repeat([]byte("x"), 239)
	in := &event.Batch{Input: "app", Source: "f", Time: time.Now()}
	for range 4096 {
		in.Events = append(in.Events, line)
	}
	r, _ := NewRouter("h", []OutputOptions{{Name: "o", Encoding: enc, MaxEvents: 5000, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: discard{}}}, nil)
	b.SetBytes(int64(len(in.Events) * 240))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := r.Emit(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(in.Events))/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkEmitLines(b *testing.B)  { benchmarkEmit(b, Lines) }
func BenchmarkEmitNDJSON(b *testing.B) { benchmarkEmit(b, NDJSON) }

func TestSyncBatchStoredAtOnce(t *testing.T) {
	sink := &memSink{}
	r, _ := NewRouter("h", []OutputOptions{{Name: "o", Encoding: Lines, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink}}, nil)
	var committed atomic.Bool
	in := batchOf("now")
	in.Sync = true
	in.Commit = func() { committed.Store(true) }
	if err := r.Emit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got, _ := sink.all(); got != "now\n" || !committed.Load() {
		t.Fatalf("sync batch not stored by Emit: %q committed=%v", got, committed.Load())
	}
}
