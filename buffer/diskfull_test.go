package buffer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/testenv"
)

// smallDisk mounts a tmpfs of size bytes for the test. It needs root:
// without it the test skips, and under CI=1 fails (testenv.Unavailable).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	return testenv.SmallDisk(t, int64(size))
}

// A full disk holds Put back, as a full buffer does, instead of failing
// it; once there is room again every batch is there, in order.
func TestFullDiskBlocksPut(t *testing.T) {
	dir := smallDisk(t, 1<<20)
	// The cap is far above the disk: only the disk can refuse.
	q := openQueue(t, Options{Dir: filepath.Join(dir, "q"), Name: "out", MaxBytes: 64 << 20, SegmentBytes: 128 << 10, Logger: testLogger(t)})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 700<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan int)
	go func() {
		defer close(done)
		for i := range 40 { // 40 × 16 KiB: more than the disk has left
			if err := q.Put(ctx, payload(fmt.Sprint(i), 16<<10), 1); err != nil {
				t.Errorf("Put %d: %v", i, err)
				return
			}
		}
	}()
	testenv.WaitFor(t, 10*time.Second, "a write refused for a full disk", func() bool { return q.Stats().DiskFullWaits > 0 })
	select {
	case <-done:
		t.Fatal("every Put returned although the disk was full")
	default:
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Put still blocked after the disk had room again")
	}
	nextInOrder(ctx, t, q, 40)
	if st := q.Stats(); st.Batches != 0 || st.CorruptBatches != 0 {
		t.Fatalf("stats %+v: want an empty queue and no corrupt batch", st)
	}
}

// A disk filled by the buffer itself: no room to journal a batch in
// flight either. Next hands the head out unconsumed, one at a time; its
// acknowledgements free segments, the blocked Put completes, and every
// batch arrives once, in order.
func TestFullDiskStillDrains(t *testing.T) {
	dir := smallDisk(t, 1<<20)
	q := openQueue(t, Options{Dir: filepath.Join(dir, "q"), Name: "out", MaxBytes: 64 << 20, SegmentBytes: 128 << 10, Logger: testLogger(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 100 // 100 × 16 KiB: more than the disk holds
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if err := q.Put(ctx, payload(fmt.Sprint(i), 16<<10), 1); err != nil {
				t.Errorf("Put %d: %v", i, err)
				return
			}
		}
	}()
	testenv.WaitFor(t, 10*time.Second, "a write refused for a full disk", func() bool { return q.Stats().DiskFullWaits > 0 })
	nextInOrder(ctx, t, q, n)
	<-done
	if st := q.Stats(); st.Batches != 0 || st.InFlight != 0 || st.CorruptBatches != 0 {
		t.Fatalf("stats %+v: want an empty queue", st)
	}
}

// nextInOrder takes n batches of 16 KiB payloads 0…n-1 and acknowledges
// each, failing on any other.
func nextInOrder(ctx context.Context, t *testing.T, q *Queue, n int) {
	t.Helper()
	for i := range n {
		m, err := q.Next(ctx)
		if err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
		if want := payload(fmt.Sprint(i), 16<<10); string(m.Payload) != string(want) {
			t.Fatalf("batch %d: got %.10q…, want %.10q…", i, m.Payload, want)
		}
		if err := q.Ack(m.ID); err != nil {
			t.Fatalf("Ack %d: %v", i, err)
		}
	}
}
