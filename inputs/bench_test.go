package inputs

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"pulse/event"
)

const (
	benchLines   = 200_000
	benchLineLen = 240 // bytes, newline included
)

// writeBenchFile writes benchLines lines of benchLineLen bytes to path.
func writeBenchFile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	line := bytes.Repeat([]byte("k"), benchLineLen)
	copy(line, "at=info method=GET path=/ host=example.com request_id=")
	line[benchLineLen-1] = '\n'
	for range benchLines {
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFileRead reads a file of 240-byte lines to its end with an emit
// that only counts: one op is the whole file (benchLines events).
func BenchmarkFileRead(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.log")
	writeBenchFile(b, path)
	opts := FileOptions{
		Paths:          []string{path},
		CheckpointFile: filepath.Join(dir, "checkpoints.json"),
		PollInterval:   time.Millisecond,
		Logger:         testLogger(b),
	}
	b.SetBytes(benchLines * benchLineLen)
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		os.Remove(opts.CheckpointFile)
		f, err := NewFile(opts)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		events := 0
		emit := func(_ context.Context, batch *event.Batch) error {
			events += len(batch.Events)
			batch.Commit()
			if events >= benchLines {
				cancel()
			}
			return nil
		}
		b.StartTimer()
		t0 := time.Now()
		if err := f.Run(ctx, emit); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		if events != benchLines {
			b.Fatalf("read %d events, want %d", events, benchLines)
		}
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(b.N)*benchLines/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/benchLines, "allocs/event")
}

// BenchmarkStdinRead is BenchmarkFileRead for a stream.
func BenchmarkStdinRead(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.log")
	writeBenchFile(b, path)
	b.SetBytes(benchLines * benchLineLen)
	b.ReportAllocs()
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		s := NewStdin(StdinOptions{Reader: in, Logger: testLogger(b)})
		events := 0
		b.StartTimer()
		t0 := time.Now()
		err = s.Run(context.Background(), func(_ context.Context, batch *event.Batch) error { events += len(batch.Events); return nil })
		elapsed += time.Since(t0)
		in.Close()
		if err != nil || events != benchLines {
			b.Fatalf("Run = %v after %d events, want %d", err, events, benchLines)
		}
	}
	b.ReportMetric(float64(b.N)*benchLines/elapsed.Seconds(), "events/s")
}
