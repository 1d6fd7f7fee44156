package buffer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testLogger logs warnings and errors into the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testOptions(t testing.TB, dir string) Options {
	return Options{
		Dir:      dir,
		Name:     "out",
		MaxBytes: 4 << 20,
		Logger:   testLogger(t),
	}
}

// openQueue opens a queue that is closed when the test ends.
func openQueue(t testing.TB, opts Options) *Queue {
	t.Helper()
	q, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func closeQueue(t testing.TB, q *Queue) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// payload is "<id>:" padded with dots to size bytes (at least the id).
func payload(id string, size int) []byte {
	b := make([]byte, max(size, len(id)+1))
	n := copy(b, id)
	b[n] = ':'
	for i := n + 1; i < len(b); i++ {
		b[i] = '.'
	}
	return b
}

// idOf is the id payload put into p.
func idOf(p []byte) string {
	s, _, _ := strings.Cut(string(p), ":")
	return s
}

func mustPut(t testing.TB, q *Queue, p []byte, events int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Put(ctx, p, events); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func mustNext(t testing.TB, q *Queue) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := q.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m
}

func mustAck(t testing.TB, q *Queue, id uint64) {
	t.Helper()
	if err := q.Ack(id); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

// tryNext returns the next message, or ok false if none comes within d.
func tryNext(t testing.TB, q *Queue, d time.Duration) (Message, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := q.Next(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return Message{}, false
	}
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m, true
}

// drain acknowledges everything left, returning the payload ids seen in
// order.
func drain(t testing.TB, q *Queue) []string {
	t.Helper()
	var ids []string
	for _, m := range drainMessages(t, q) {
		ids = append(ids, idOf(m.Payload))
	}
	return ids
}

// drainMessages acknowledges everything left, returning the messages seen in
// order. It stops when the queue reports nothing queued and nothing comes
// for a moment.
func drainMessages(t testing.TB, q *Queue) []Message {
	t.Helper()
	var ms []Message
	for i := 0; i < 1_000_000; i++ {
		d := 20 * time.Millisecond
		if q.Stats().Batches > 0 {
			d = 10 * time.Second
		}
		m, ok := tryNext(t, q, d)
		if !ok {
			return ms
		}
		ms = append(ms, m)
		mustAck(t, q, m.ID)
	}
	t.Fatal("drain: too many messages")
	return nil
}

// dirBytes sums the sizes of all regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// filesWithSuffix lists the names in dir ending in suffix.
func filesWithSuffix(t testing.TB, dir, suffix string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// segFrame is a frame located in a segment file by the test's own parser.
type segFrame struct {
	off, size int64 // size includes the 4-byte length prefix
	id        string
	events    int
}

// segmentFrames parses a segment independently of the package's walker.
func segmentFrames(t testing.TB, path string) []segFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var frames []segFrame
	for off := 0; off+4 <= len(b); {
		n := int(b[off])<<24 | int(b[off+1])<<16 | int(b[off+2])<<8 | int(b[off+3])
		if off+4+n > len(b) || n < headerSize {
			t.Fatalf("%s: bad frame at %d", path, off)
		}
		msg := b[off+4 : off+4+n]
		ev := int(msg[12])<<24 | int(msg[13])<<16 | int(msg[14])<<8 | int(msg[15])
		frames = append(frames, segFrame{off: int64(off), size: int64(4 + n), id: idOf(msg[headerSize:]), events: ev})
		off += 4 + n
	}
	return frames
}

func segmentFile(dir string, num int) string {
	return filepath.Join(dir, fmt.Sprintf("out.diskqueue.%06d.dat", num))
}
