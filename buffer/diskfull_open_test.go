package buffer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// A queue opens on a disk with not a byte free — after a clean close, and
// after a crash left diskqueue's metadata behind its segments, which Open
// rewrites (with no room for a tmp file: in place). A Put then waits for
// room, as on a disk that fills while open; once there is room every batch,
// those before the restart and after, arrives once, in order.
func TestOpenOnFullDisk(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashed=%t", crashed), func(t *testing.T) {
			dir := smallDisk(t, 1<<20)
			opts := Options{Dir: filepath.Join(dir, "q"), Name: "out", MaxBytes: 64 << 20, SegmentBytes: 128 << 10, Logger: testLogger(t)}
			q := openQueue(t, opts)
			const before, after = 10, 10
			for i := range before {
				mustPut(t, q, payload(fmt.Sprint(i), 16<<10), 1)
			}
			closeQueue(t, q)
			mp := metaPath(opts.Dir, opts.Name)
			if crashed {
				// A kill -9 before diskqueue's last sync: the write
				// position persisted lags the last frames written.
				m, err := readMeta(mp)
				if err != nil {
					t.Fatal(err)
				}
				if m.writePos < 2*(frameOverhead+16<<10) {
					t.Fatalf("metadata %+v: want a write position past two frames", m)
				}
				m.writePos -= frameOverhead + 16<<10
				m.depth--
				if err := writeMeta(mp, m, FsyncNever); err != nil {
					t.Fatal(err)
				}
			}
			filler := fillDisk(t, dir)

			q, err := Open(opts)
			if err != nil {
				t.Fatalf("Open on a full disk: %v", err)
			}
			t.Cleanup(func() { _ = q.Close() })
			if st := q.Stats(); st.Batches != before {
				t.Fatalf("reopened with %d batches, want %d", st.Batches, before)
			}
			if crashed {
				m, err := readMeta(mp)
				if err != nil {
					t.Fatalf("metadata after Open: %v", err)
				}
				if m.writePos != 0 {
					t.Fatalf("metadata after Open %+v: want writes moved to a new segment", m)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := before; i < before+after; i++ {
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
			nextInOrder(ctx, t, q, before+after)
			<-done
			if st := q.Stats(); st.Batches != 0 || st.InFlight != 0 || st.CorruptBatches != 0 {
				t.Fatalf("stats %+v: want an empty queue", st)
			}
		})
	}
}

// On a disk that is full, diskqueue cannot persist its positions — at its
// syncs, and at Close. Nothing is lost (Open recovers the positions from
// the segments), so Close succeeds, the failures are WARNs, rate-limited
// however often diskqueue retries, and the queue reopens with every batch.
func TestCloseOnFullDisk(t *testing.T) {
	dir := smallDisk(t, 1<<20)
	var log testenv.SyncBuffer
	opts := Options{Dir: filepath.Join(dir, "q"), Name: "out", MaxBytes: 64 << 20, SegmentBytes: 128 << 10,
		SyncEvery: 1, SyncTimeout: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&log, t.Output()), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	q := openQueue(t, opts)
	const n = 10
	for i := range n {
		mustPut(t, q, payload(fmt.Sprint(i), 16<<10), 1)
	}
	filler := fillDisk(t, dir)
	// diskqueue syncs at every write and every millisecond: let it fail a
	// few hundred times.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := q.Put(ctx, payload(fmt.Sprint(n), 16<<10), 1); err == nil {
		t.Fatal("Put on a full disk returned nil before the disk had room")
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close on a full disk: %v", err)
	}
	out := log.String()
	if c := strings.Count(out, "diskqueue cannot persist its read and write positions"); c != 1 {
		t.Errorf("%d WARNs for diskqueue's failed syncs in 300 ms, want 1 (rate-limited):\n%s", c, out)
	}
	if c := strings.Count(out, "level=ERROR"); c != 0 {
		t.Errorf("%d ERRORs on a full disk, where nothing is lost:\n%s", c, out)
	}
	if !strings.Contains(out, "could not persist its positions at close") {
		t.Errorf("no WARN for the positions not persisted at close:\n%s", out)
	}
	q = openQueue(t, opts)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nextInOrder(ctx, t, q, n)
	if st := q.Stats(); st.Batches != 0 || st.CorruptBatches != 0 {
		t.Fatalf("stats %+v: want an empty queue and no corrupt batch", st)
	}
}

// fillDisk writes a file in dir until the disk holds no byte more, and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for range 1 << 20 { // bounded: 4 GiB, far past any small disk
		if _, err := f.Write(chunk); err != nil {
			if !isDiskFull(err) {
				t.Fatal(err)
			}
			return path
		}
	}
	t.Fatalf("%s: the disk never filled", dir)
	return ""
}
