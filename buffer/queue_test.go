package buffer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

func TestPutNextAckRoundTrip(t *testing.T) {
	q := openQueue(t, testOptions(t, t.TempDir()))
	const n = 50
	var bytes, events int64
	for i := range n {
		p := payload(fmt.Sprintf("b%d", i), 100+i)
		mustPut(t, q, p, i)
		bytes += int64(frameOverhead + len(p))
		events += int64(i)
	}
	s := q.Stats()
	if s.Batches != n || s.Events != events || s.Bytes != bytes || s.InFlight != 0 {
		t.Fatalf("after puts: %+v, want %d batches, %d events, %d bytes", s, n, events, bytes)
	}
	for i := range n {
		m := mustNext(t, q)
		if got, want := idOf(m.Payload), fmt.Sprintf("b%d", i); got != want || m.Events != i || len(m.Payload) != 100+i || m.Replayed {
			t.Fatalf("message %d: id %q events %d len %d replayed %v", i, got, m.Events, len(m.Payload), m.Replayed)
		}
		s := q.Stats()
		if s.InFlight != 1 || s.InFlightEvents != int64(i) || s.Batches != int64(n-i-1) || s.Bytes != bytes {
			t.Fatalf("message %d in flight: %+v", i, s)
		}
		mustAck(t, q, m.ID)
		bytes -= int64(frameOverhead + len(m.Payload))
	}
	s = q.Stats()
	if s.Batches != 0 || s.Events != 0 || s.Bytes != 0 || s.InFlight != 0 {
		t.Fatalf("after draining: %+v", s)
	}
	if err := q.Ack(12345); err == nil {
		t.Fatal("Ack of an unknown id succeeded")
	}
}

func TestOpenCountsExactly(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.SegmentBytes = 8 << 10 // several segments
	q := openQueue(t, opts)
	const n = 100
	var bytes, events int64
	for i := range n {
		p := payload(fmt.Sprintf("b%d", i), 500+i)
		mustPut(t, q, p, i+1)
		bytes += int64(frameOverhead + len(p))
		events += int64(i + 1)
	}
	// Two handed out and acked, two handed out and not.
	for range 2 {
		m := mustNext(t, q)
		mustAck(t, q, m.ID)
		bytes -= int64(frameOverhead + len(m.Payload))
		events -= int64(m.Events)
	}
	mustNext(t, q)
	mustNext(t, q)
	closeQueue(t, q)

	q = openQueue(t, opts)
	s := q.Stats()
	if s.Batches != n-2 || s.Events != events || s.Bytes != bytes || s.InFlight != 0 {
		t.Fatalf("after reopen: %+v, want %d batches, %d events, %d bytes", s, n-2, events, bytes)
	}
	ids := drain(t, q)
	if len(ids) != n-2 || ids[0] != "b2" || ids[1] != "b3" || ids[n-3] != fmt.Sprintf("b%d", n-1) {
		t.Fatalf("drained %d ids: first %v", len(ids), ids[:min(4, len(ids))])
	}
	s = q.Stats()
	if s.Batches != 0 || s.Bytes != 0 || s.ReplayedBatches != 2 || s.SkippedDuplicates != 0 || s.CorruptBatches != 0 {
		t.Fatalf("after drain: %+v", s)
	}
}

func TestOptionsValidation(t *testing.T) {
	dir := t.TempDir()
	base := Options{Dir: dir, Name: "out", MaxBytes: 4 << 20}
	tests := []struct {
		name string
		edit func(*Options)
		ok   bool
	}{
		{"defaults", func(*Options) {}, true},
		{"no dir", func(o *Options) { o.Dir = "" }, false},
		{"percent in dir", func(o *Options) { o.Dir = filepath.Join(dir, "a%sb") }, false},
		{"no name", func(o *Options) { o.Name = "" }, false},
		{"slash in name", func(o *Options) { o.Name = "a/b" }, false},
		{"small cap", func(o *Options) { o.MaxBytes = 1<<20 - 1 }, false},
		{"bad policy", func(o *Options) { o.WhenFull = "spill" }, false},
		{"tiny segment", func(o *Options) { o.SegmentBytes = 100 }, false},
		{"payload above cap", func(o *Options) { o.MaxPayloadBytes = 4 << 20 }, false},
		{"negative sync timeout", func(o *Options) { o.SyncTimeout = -time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			got, err := o.withDefaults()
			if (err == nil) != tt.ok {
				t.Fatalf("withDefaults: err %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (got.WhenFull != Block || got.SegmentBytes != 1<<20 || got.MaxPayloadBytes != 2<<20 ||
				got.Fsync != FsyncInterval || got.SyncEvery != noSyncEvery || got.SyncTimeout != DefaultFsyncInterval || got.Logger == nil) {
				t.Fatalf("defaults: %+v", got)
			}
		})
	}
}

func TestPutAndCloseErrors(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxPayloadBytes = 1000
	q := openQueue(t, opts)
	ctx := context.Background()
	if err := q.Put(ctx, make([]byte, 1001), 1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized Put: %v, want ErrTooLarge", err)
	}
	if err := q.Put(ctx, []byte("x"), -1); err == nil {
		t.Fatal("Put with negative events succeeded")
	}
	if _, err := Open(opts); err == nil || !strings.Contains(err.Error(), "held by another") {
		t.Fatalf("second Open of one dir: %v", err)
	}
	mustPut(t, q, []byte("a:"), 1)
	closeQueue(t, q)
	if err := q.Put(ctx, []byte("x"), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, err := q.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := q.Ack(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if s := q.Stats(); s.Batches != 1 {
		t.Fatalf("Stats after Close: %+v", s)
	}
}

func TestCloseUnblocksNextAndPut(t *testing.T) {
	opts := testOptions(t, t.TempDir())
	opts.MaxBytes = 1 << 20
	q := openQueue(t, opts)
	// Fill the cap with one batch in flight.
	mustPut(t, q, make([]byte, 1<<19), 1)
	mustNext(t, q)

	errs := make(chan error, 2)
	go func() {
		_, err := q.Next(context.Background())
		errs <- err
	}()
	go func() {
		errs <- q.Put(context.Background(), make([]byte, 1<<19), 1)
	}()
	// Both are blocked: nothing is queued, and the Put does not fit.
	testenv.WaitFor(t, 5*time.Second, "Put to wait for space", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.waiting == 1
	})
	closeQueue(t, q)
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked call returned %v, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("blocked call did not return after Close")
		}
	}
}

func TestRecoversLostMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta func(path string) error
	}{
		{"missing", os.Remove},
		{"garbage", func(path string) error { return os.WriteFile(path, []byte("12\nxx\n"), 0o600) }},
		{"inconsistent", func(path string) error { return os.WriteFile(path, []byte("1\n9,0\n2,0\n"), 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions(t, dir)
			opts.SegmentBytes = 4 << 10
			q := openQueue(t, opts)
			const n = 40
			for i := range n {
				mustPut(t, q, payload(fmt.Sprintf("m%d", i), 1000), 1)
			}
			closeQueue(t, q)
			if err := tc.meta(metaPath(dir, "out")); err != nil {
				t.Fatal(err)
			}
			q = openQueue(t, opts)
			if s := q.Stats(); s.Batches != n {
				t.Fatalf("after reopen: %d batches, want %d", s.Batches, n)
			}
			// Writes after the repair must not overwrite what is there.
			mustPut(t, q, payload("late", 1000), 1)
			ids := drain(t, q)
			if len(ids) != n+1 || ids[0] != "m0" || ids[n-1] != fmt.Sprintf("m%d", n-1) || ids[n] != "late" {
				t.Fatalf("drained %d: %v", len(ids), ids)
			}
		})
	}
}

func TestPutKeyRoundTrip(t *testing.T) {
	q := openQueue(t, Options{Dir: t.TempDir(), Name: "k", MaxBytes: 4 << 20})
	ctx := context.Background()
	for _, key := range []uint64{0, 7, 1<<64 - 1} {
		if err := q.PutKey(ctx, key, []byte("payload"), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []uint64{0, 7, 1<<64 - 1} {
		m, err := q.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Key != want {
			t.Errorf("key %d, want %d", m.Key, want)
		}
		if err := q.Ack(m.ID); err != nil {
			t.Fatal(err)
		}
	}
}
