package buffer

import (
	"context"
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
