package buffer

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkPutNextAck1MiB puts, takes and acknowledges 1 MiB batches one at
// a time: the whole cost of a batch's trip through the queue.
func BenchmarkPutNextAck1MiB(b *testing.B) {
	opts := testOptions(b, b.TempDir())
	opts.MaxBytes = 64 << 20
	q := openQueue(b, opts)
	p := payload("bench", 1<<20)
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Put(ctx, p, 1000); err != nil {
			b.Fatal(err)
		}
		m, err := q.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Ack(m.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}

// BenchmarkPutNextAck4KiB is the same for small batches, where the fixed
// cost per batch (syscalls of the journal) dominates.
func BenchmarkPutNextAck4KiB(b *testing.B) {
	opts := testOptions(b, b.TempDir())
	q := openQueue(b, opts)
	p := payload("bench", 4<<10)
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Put(ctx, p, 10); err != nil {
			b.Fatal(err)
		}
		m, err := q.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Ack(m.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}

// BenchmarkFsync puts, takes and acknowledges 128 KiB batches (about a
// compressed 5000-event batch) under each Options.Fsync mode: what each
// costs a batch. syncs/op counts the queue's own fsyncs (diskqueue's, one
// segment and one metadata file per interval under interval, are not in it).
func BenchmarkFsync(b *testing.B) {
	for _, mode := range []FsyncMode{FsyncNever, FsyncInterval, FsyncAlways} {
		b.Run(string(mode), func(b *testing.B) {
			var syncs atomic.Int64
			opts := testOptions(b, b.TempDir())
			opts.MaxBytes = 64 << 20
			opts.Fsync = mode
			opts.onSync = func(string) { syncs.Add(1) }
			q := openQueue(b, opts)
			p := payload("bench", 128<<10)
			ctx := context.Background()
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if err := q.Put(ctx, p, 5000); err != nil {
					b.Fatal(err)
				}
				m, err := q.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := q.Ack(m.ID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
			b.ReportMetric(float64(syncs.Load())/float64(b.N), "syncs/op")
		})
	}
}
