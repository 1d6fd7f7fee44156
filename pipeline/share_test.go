package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"pulse/protocol"
)

// Outputs of one shape share each batch: one compression, the same payload
// in every buffer, counters kept per output.
func TestOutputsOfOneShapeShareBatches(t *testing.T) {
	a, b, c := &memSink{}, &memSink{}, &memSink{}
	opts := func(name string, s *memSink, maxEvents int) OutputOptions {
		return OutputOptions{Name: name, Encoding: Pulse, MaxEvents: maxEvents, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: s}
	}
	r, err := NewRouter("h", []OutputOptions{opts("a", a, 2), opts("b", b, 3), opts("c", c, 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.batchers) != 2 {
		t.Fatalf("batchers = %d, want 2 (a and c share one)", len(r.batchers))
	}
	committed := 0
	in := batchOf("1", "2", "3", "4", "5")
	in.Commit = func() { committed++ }
	if err := r.Emit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if committed != 1 {
		t.Fatalf("commits = %d, want 1", committed)
	}
	if len(a.payloads) != 3 || len(c.payloads) != 3 || len(b.payloads) != 2 {
		t.Fatalf("batches a=%d b=%d c=%d, want 3 2 3", len(a.payloads), len(b.payloads), len(c.payloads))
	}
	for i := range a.payloads {
		if !bytes.Equal(a.payloads[i], c.payloads[i]) {
			t.Fatalf("batch %d differs between a and c", i)
		}
	}
	if got := records(t, a.payloads); got != "12345" {
		t.Fatalf("a got %q", got)
	}
	for i, st := range r.Stats() {
		name := []string{"a", "b", "c"}[i]
		want := map[string]int64{"a": 3, "b": 2, "c": 3}[name]
		if st.Name != name || st.Events != 5 || st.Batches != want || st.Bytes == 0 {
			t.Errorf("stats[%d] = %+v, want %s with 5 events in %d batches", i, st, name, want)
		}
	}
}

// When one output of a shared batch cannot store it, the batch stays open
// for that output only: a later flush gives it the same batch, and the
// output that stored it does not get it twice.
func TestSharedBatchPartialFailure(t *testing.T) {
	a, c := &memSink{}, &memSink{}
	mk := func(name string, s *memSink) OutputOptions {
		return OutputOptions{Name: name, Encoding: Lines, MaxEvents: 100, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: s}
	}
	r, err := NewRouter("h", []OutputOptions{mk("a", a), mk("c", c)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	committed := 0
	in := batchOf("x", "y")
	in.Sync = true
	in.Commit = func() { committed++ }
	c.blocked.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = r.Emit(ctx, in)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("output c")) {
		t.Fatalf("Emit = %v, want output c's error", err)
	}
	if committed != 0 {
		t.Fatal("committed before output c held the batch")
	}
	c.blocked.Store(false)
	next := batchOf("z")
	next.Commit = func() { committed++ }
	if err := r.Emit(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ga, _ := a.all()
	gc, _ := c.all()
	if ga != "x\ny\nz\n" || gc != "x\ny\nz\n" {
		t.Fatalf("a got %q, c got %q; want each line once", ga, gc)
	}
	if len(a.payloads) != 2 || len(c.payloads) != 2 {
		t.Fatalf("a has %d batches, c %d: the open batch must not grow before c holds it", len(a.payloads), len(c.payloads))
	}
	if committed != 2 {
		t.Fatalf("commits = %d, want 2 (the first batch once every output stored it)", committed)
	}
	if st := r.Stats(); st[1].PutErrors != 1 || st[0].PutErrors != 0 {
		t.Fatalf("put errors a=%d c=%d, want 0 1", st[0].PutErrors, st[1].PutErrors)
	}
}

func records(t *testing.T, payloads [][]byte) string {
	t.Helper()
	var s string
	for _, p := range payloads {
		body, err := protocol.Decompress(nil, p, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := protocol.Each(body, protocol.Limits{}, func(rec []byte) error {
			s += string(rec)
			return nil
		}); err != nil {
			t.Fatal(fmt.Errorf("batch: %w", err))
		}
	}
	return s
}
