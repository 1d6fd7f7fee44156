package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/buffer"
	"pulse/outputs"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func queueOptions(t testing.TB, dir, name string) buffer.Options {
	return buffer.Options{Dir: dir, Name: name, MaxBytes: 64 << 20, Fsync: buffer.FsyncNever, Logger: testLogger(t)}
}

// rig is a fanout over real buffers in a temp dir, reopened on the same
// dirs by reopen.
type rig struct {
	t        *testing.T
	dir      string
	names    []string
	opts     Options
	tweakOwn func(name string, o *buffer.Options)
	own      []*buffer.Queue
	f        *Fanout
	stop     context.CancelFunc
	done     chan error
}

func newRig(t *testing.T, names []string, tweak func(*Options)) *rig {
	r := &rig{t: t, dir: t.TempDir(), names: names}
	r.opts = Options{Window: 8, Behind: time.Hour, Logger: testLogger(t)}
	if tweak != nil {
		tweak(&r.opts)
	}
	r.open()
	t.Cleanup(r.close)
	return r
}

func (r *rig) open() {
	r.t.Helper()
	r.own = nil
	for _, n := range r.names {
		qo := queueOptions(r.t, filepath.Join(r.dir, "own", n), n)
		if r.tweakOwn != nil {
			r.tweakOwn(n, &qo)
		}
		q, err := buffer.Open(qo)
		if err != nil {
			r.t.Fatal(err)
		}
		r.own = append(r.own, q)
	}
	o := r.opts
	o.Dir, o.Names, o.Own = filepath.Join(r.dir, "shared"), r.names, r.own
	o.Shared = queueOptions(r.t, "", "shared")
	f, err := Open(o)
	if err != nil {
		r.t.Fatal(err)
	}
	r.f = f
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- f.Run(ctx) }()
}

// close stops Run and closes every buffer, as the agent does at shutdown.
func (r *rig) close() {
	if r.f == nil {
		return
	}
	r.stop()
	if err := <-r.done; err != nil {
		r.t.Errorf("Run: %v", err)
	}
	if err := r.f.Close(); err != nil {
		r.t.Errorf("Close: %v", err)
	}
	for _, q := range r.own {
		if err := q.Close(); err != nil {
			r.t.Errorf("own Close: %v", err)
		}
	}
	r.f = nil
}

func (r *rig) reopen() {
	r.close()
	r.open()
}

func (r *rig) put(from, to int) { r.putPadded(from, to, 0) }

// putPadded puts batches from..to-1 of at least size bytes.
func (r *rig) putPadded(from, to, size int) {
	r.t.Helper()
	for n := from; n < to; n++ {
		p := fmt.Appendf(nil, "batch %d", n)
		for len(p) < size {
			p = append(p, ' ')
		}
		if err := r.f.PutKey(context.Background(), uint64(n), p, n+1); err != nil {
			r.t.Fatal(err)
		}
	}
}

// take reads n batches from output i, acknowledging each if ack, within 10 s.
func take(t *testing.T, src outputs.Source, n int, ack bool) []outputs.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []outputs.Batch
	for range n {
		b, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d batches: %v", len(got), n, err)
		}
		if ack {
			if err := src.Ack(b.ID); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, b)
	}
	return got
}

// none checks that output i has nothing more for a short while.
func none(t *testing.T, src outputs.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if b, err := src.Next(ctx); err == nil {
		t.Fatalf("unexpected batch %q", b.Payload)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// payloads returns the set of payloads of bs, failing on a duplicate or a
// batch whose events do not match its payload.
func payloads(t *testing.T, bs []outputs.Batch) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, b := range bs {
		p := strings.TrimRight(string(b.Payload), " ")
		var n int
		if _, err := fmt.Sscanf(p, "batch %d", &n); err != nil || b.Events != n+1 || b.Key != uint64(n) {
			t.Fatalf("batch %q: %d events, key %d", p, b.Events, b.Key)
		}
		if set[p] {
			t.Fatalf("%q twice", p)
		}
		set[p] = true
	}
	return set
}

func wantBatches(t *testing.T, what string, set map[string]bool, from, to int) {
	t.Helper()
	if len(set) != to-from {
		t.Errorf("%s: %d batches, want %d", what, len(set), to-from)
	}
	for n := from; n < to; n++ {
		if !set[fmt.Sprintf("batch %d", n)] {
			t.Errorf("%s: batch %d missing", what, n)
		}
	}
}

func TestEveryOutputGetsEveryBatchOnce(t *testing.T) {
	r := newRig(t, []string{"a", "b", "c"}, nil)
	const n = 200
	var wg sync.WaitGroup
	got := make([][]outputs.Batch, 3)
	for i := range 3 {
		wg.Go(func() { got[i] = take(t, r.f.Source(i), n, true) })
	}
	r.put(0, n)
	wg.Wait()
	for i, name := range r.names {
		wantBatches(t, name, payloads(t, got[i]), 0, n)
		if s := r.own[i].Stats(); s.Batches != 0 || s.InFlight != 0 || r.f.Spilled(i) != 0 {
			t.Errorf("%s: own buffer %+v, %d spilled: want nothing, every output kept up", name, s, r.f.Spilled(i))
		}
	}
	waitEmpty(t, r.f)
}

// Each output's Stats.Bytes are what the buffers hold for it: a batch one
// output delivered still counts for the other, not for it.
func TestStatsBytesPerOutput(t *testing.T) {
	r := newRig(t, []string{"a", "b"}, nil)
	const n, size = 3, 1000
	r.putPadded(0, n, size)
	take(t, r.f.Source(0), n, true)
	frames := n * buffer.FrameBytes(size)
	if a, b := r.f.Stats(0), r.f.Stats(1); a.Bytes != 0 || a.Batches != 0 || b.Bytes != frames || b.Batches != n {
		t.Errorf("a: %d bytes in %d batches, want 0 in 0; b: %d in %d, want %d in %d", a.Bytes, a.Batches, b.Bytes, b.Batches, frames, n)
	}
	take(t, r.f.Source(1), n, true)
	waitEmpty(t, r.f)
	if a, b := r.f.Stats(0), r.f.Stats(1); a.Bytes != 0 || b.Bytes != 0 {
		t.Errorf("after both delivered: a %d bytes, b %d, want 0", a.Bytes, b.Bytes)
	}
}

// waitEmpty waits until the shared buffer holds nothing and every output's
// Stats say so.
func waitEmpty(t *testing.T, f *Fanout) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := f.shared.Stats()
		left := s.Batches + int64(s.InFlight)
		for i := range f.srcs {
			st := f.Stats(i)
			left += st.Batches + int64(st.InFlight)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("buffers still hold %d batches: shared %+v", left, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOutputBehindSpillsToItsOwnBuffer(t *testing.T) {
	r := newRig(t, []string{"a", "b", "c"}, func(o *Options) { o.Behind = 50 * time.Millisecond })
	const n = 100
	r.put(0, n)
	// a and b take everything while c takes nothing: c's batches go to
	// its own buffer instead of holding a and b back.
	var wg sync.WaitGroup
	got := make([][]outputs.Batch, 2)
	for i := range 2 {
		wg.Go(func() { got[i] = take(t, r.f.Source(i), n, true) })
	}
	wg.Wait()
	for i := range 2 {
		wantBatches(t, r.names[i], payloads(t, got[i]), 0, n)
	}
	// Batches left in the window for c alone number under Window.
	if s := r.own[2].Stats(); r.f.Spilled(2) < n-int64(r.opts.Window) || r.f.Spilled(2) != s.Batches+int64(s.InFlight) {
		t.Errorf("c's own buffer holds %d batches (%d in flight), %d spilled: want at least %d", s.Batches, s.InFlight, r.f.Spilled(2), n-r.opts.Window)
	}
	if st := r.f.Stats(2); st.Batches != n || st.Events != n*(n+1)/2 {
		t.Errorf("c's Stats: %d batches, %d events: want %d, %d", st.Batches, st.Events, n, n*(n+1)/2)
	}
	// c catches up from its own buffer, then the window; a and b are
	// unaffected by what c takes.
	wantBatches(t, "c", payloads(t, take(t, r.f.Source(2), n, true)), 0, n)
	none(t, r.f.Source(0))
	none(t, r.f.Source(2))
	waitEmpty(t, r.f)
	// Caught up: new batches come from the window again, not spilled.
	spilled := r.f.Spilled(2)
	r.put(n, n+5)
	wantBatches(t, "c after catching up", payloads(t, take(t, r.f.Source(2), 5, true)), n, n+5)
	if r.f.Spilled(2) != spilled {
		t.Errorf("c caught up but %d more batches spilled", r.f.Spilled(2)-spilled)
	}
}

// TestSpillFollowsTheOwnBuffersPolicy: what an output falls behind on is
// under its own buffer's cap and policy, here drop_newest at 1 MiB, while
// the others get everything.
func TestSpillFollowsTheOwnBuffersPolicy(t *testing.T) {
	r := &rig{t: t, dir: t.TempDir(), names: []string{"a", "b", "c"}}
	r.opts = Options{Window: 4, Behind: 20 * time.Millisecond, Logger: testLogger(t)}
	r.tweakOwn = func(name string, o *buffer.Options) {
		if name == "c" {
			o.MaxBytes, o.WhenFull = buffer.MinMaxBytes, buffer.DropNewest
		}
	}
	r.open()
	t.Cleanup(r.close)
	const n, size = 40, 100 << 10 // 4 MiB in all, four times c's cap
	var wg sync.WaitGroup
	got := make([][]outputs.Batch, 2)
	for i := range 2 {
		wg.Go(func() { got[i] = take(t, r.f.Source(i), n, true) })
	}
	r.putPadded(0, n, size)
	wg.Wait()
	for i := range 2 {
		wantBatches(t, r.names[i], payloads(t, got[i]), 0, n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.f.Spilled(2) < n-int64(r.opts.Window) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := r.own[2].Stats()
	if s.DroppedNewestBatches == 0 || s.Bytes > buffer.MinMaxBytes {
		t.Errorf("c's own buffer: %d bytes held, %d batches dropped: want at most %d held, the rest dropped", s.Bytes, s.DroppedNewestBatches, buffer.MinMaxBytes)
	}
	if kept := s.Batches + int64(s.InFlight); kept+s.DroppedNewestBatches != r.f.Spilled(2) {
		t.Errorf("c: %d kept + %d dropped, want the %d spilled", kept, s.DroppedNewestBatches, r.f.Spilled(2))
	}
}

func TestRestartSkipsOutputsDoneWithABatch(t *testing.T) {
	r := newRig(t, []string{"a", "b", "c"}, nil)
	r.put(0, 6)
	take(t, r.f.Source(0), 6, true) // a: all delivered
	b := take(t, r.f.Source(1), 3, true)
	take(t, r.f.Source(1), 1, false) // b: 3 delivered, 1 in flight
	r.reopen()
	// a gets none of them again, b the three it had not delivered, c all.
	none(t, r.f.Source(0))
	got := take(t, r.f.Source(1), 3, true)
	for _, g := range got {
		if !g.Replayed {
			t.Errorf("b: %q not marked replayed", g.Payload)
		}
	}
	wantBatches(t, "b", payloads(t, append(b, got...)), 0, 6)
	none(t, r.f.Source(1))
	wantBatches(t, "c", payloads(t, take(t, r.f.Source(2), 6, true)), 0, 6)
	waitEmpty(t, r.f)
}

func TestOpenRefusesADirOfOtherOutputs(t *testing.T) {
	r := newRig(t, []string{"a", "b", "c"}, nil)
	dir := r.f.opts.Dir
	r.close()
	q, err := buffer.Open(queueOptions(t, filepath.Join(t.TempDir(), "a"), "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q2, err := buffer.Open(queueOptions(t, filepath.Join(t.TempDir(), "b"), "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	_, err = Open(Options{Dir: dir, Names: []string{"a", "b"}, Own: []*buffer.Queue{q, q2}, Shared: queueOptions(t, "", "shared")})
	if err == nil || !strings.Contains(err.Error(), `made for outputs ["a" "b" "c"]`) {
		t.Fatalf("Open with other outputs: %v", err)
	}
}

func TestHandoverGivesEachOutputWhatItHadNot(t *testing.T) {
	r := newRig(t, []string{"a", "b", "c"}, nil)
	r.put(0, 10)
	take(t, r.f.Source(0), 4, true) // a delivered 4
	dir := r.f.opts.Dir
	r.close()
	own := map[string]*buffer.Queue{}
	open := func(name string) (*buffer.Queue, error) {
		if q := own[name]; q != nil {
			return q, nil
		}
		q, err := buffer.Open(queueOptions(t, filepath.Join(r.dir, "own", name), name))
		own[name] = q
		return q, err
	}
	if err := Handover(context.Background(), dir, queueOptions(t, "", "shared"), open, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir left after the handover: %v", err)
	}
	for name, want := range map[string][2]int{"a": {4, 10}, "b": {0, 10}, "c": {0, 10}} {
		q, _ := open(name)
		var bs []outputs.Batch
		for q.Stats().Batches > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m, err := q.Next(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			bs = append(bs, outputs.Batch{Payload: m.Payload, Events: m.Events, Key: m.Key})
		}
		wantBatches(t, name, payloads(t, bs), want[0], want[1])
		q.Close()
	}
}

// TestOutputsOfUnevenSpeeds: three outputs, each with several batches in
// flight acknowledged out of order, one of them slow enough to fall behind
// now and then, the Window small: every output gets every batch exactly
// once, whether from the window or spilled.
func TestOutputsOfUnevenSpeeds(t *testing.T) {
	r := newRig(t, []string{"a", "b", "c"}, func(o *Options) { o.Window, o.Behind = 3, 5*time.Millisecond })
	const n = 300
	delays := []time.Duration{0, 100 * time.Microsecond, 10 * time.Millisecond}
	got := make([][]outputs.Batch, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			src := r.f.Source(i)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var inFlight []outputs.Batch
			for len(got[i]) < n {
				b, err := src.Next(ctx)
				if err != nil {
					t.Errorf("%s after %d: %v", r.names[i], len(got[i]), err)
					return
				}
				got[i] = append(got[i], b)
				inFlight = append(inFlight, b)
				if len(inFlight) < 3 && len(got[i]) < n {
					continue
				}
				time.Sleep(delays[i])
				// Newest first: acknowledgements out of order.
				for k := len(inFlight) - 1; k >= 0; k-- {
					if err := src.Ack(inFlight[k].ID); err != nil {
						t.Errorf("%s: %v", r.names[i], err)
						return
					}
				}
				inFlight = inFlight[:0]
			}
		})
	}
	r.put(0, n)
	wg.Wait()
	for i, name := range r.names {
		wantBatches(t, name, payloads(t, got[i]), 0, n)
		none(t, r.f.Source(i))
	}
	t.Logf("spilled: a %d, b %d, c %d", r.f.Spilled(0), r.f.Spilled(1), r.f.Spilled(2))
	if r.f.Spilled(2) == 0 {
		t.Errorf("c, the slow one, never fell behind: the test does not test spilling")
	}
	waitEmpty(t, r.f)
}
