package inputs

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"pulse/event"
	"pulse/testenv"
)

// cuttingCases are the line-cutting rules, shared by the stdin and file
// tests. The file tests see the content as a file that is then deleted, so
// that its last line without a newline is emitted too.
var cuttingCases = []struct {
	name      string
	in        string
	maxLine   int
	want      []string
	truncated int64
}{
	{name: "lines", in: "a\nbb\nccc\n", want: []string{"a", "bb", "ccc"}},
	{name: "crlf", in: "a\r\nbb\r\n", want: []string{"a", "bb"}},
	{name: "cr inside a line is kept", in: "a\rb\n", want: []string{"a\rb"}},
	{name: "empty lines skipped", in: "\n\na\n\r\n\nb\n\n", want: []string{"a", "b"}},
	{name: "only newlines", in: "\n\r\n\n", want: nil},
	{name: "partial final line", in: "a\nb", want: []string{"a", "b"}},
	{name: "partial final line with cr", in: "a\nb\r", want: []string{"a", "b"}},
	{name: "over-long line cut", in: "abcdefgh\nxy\n", maxLine: 4, want: []string{"abcd", "xy"}, truncated: 1},
	{name: "one over", in: "abcde\n", maxLine: 4, want: []string{"abcd"}, truncated: 1},
	{name: "exact length", in: "abcd\n", maxLine: 4, want: []string{"abcd"}},
	{name: "exact length crlf", in: "abcd\r\nefgh\r\n", maxLine: 4, want: []string{"abcd", "efgh"}},
	{name: "over-long partial final line", in: "ab\nabcdefghij", maxLine: 4, want: []string{"ab", "abcd"}, truncated: 1},
	{
		name:    "over-long lines longer than the buffer",
		in:      strings.Repeat("a", 50) + "\n" + strings.Repeat("b", 23) + "\r\nc\n" + strings.Repeat("d", 9),
		maxLine: 4, want: []string{"aaaa", "bbbb", "c", "dddd"}, truncated: 3,
	},
}

// readers wrap a stream to deliver it in different pieces.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data with eof", iotest.DataErrReader},
}

func TestStdinLineCutting(t *testing.T) {
	for _, tc := range cuttingCases {
		for _, rd := range readers {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				rec := &recorder{}
				s := NewStdin(StdinOptions{
					Reader:       rd.wrap(strings.NewReader(tc.in)),
					MaxLineBytes: tc.maxLine,
					BatchEvents:  2,
					BatchBytes:   5, // with maxLine 4: a 6-byte read buffer
					Logger:       testLogger(t),
				})
				if err := s.Run(context.Background(), rec.emit); err != nil {
					t.Fatalf("Run: %v", err)
				}
				equal(t, "events", rec.events(), tc.want)
				st := s.Stats()
				wantBytes := 0
				for _, w := range tc.want {
					wantBytes += len(w)
				}
				if st.Events != int64(len(tc.want)) || st.Bytes != int64(wantBytes) || st.TruncatedLines != tc.truncated {
					t.Errorf("stats = %+v, want %d events, %d bytes, %d truncated", st, len(tc.want), wantBytes, tc.truncated)
				}
				for i := range rec.numBatches() {
					b := rec.batch(i)
					if b.source != "stdin" || b.commit != nil {
						t.Errorf("batch %d: source %q, commit %v", i, b.source, b.commit != nil)
					}
					if len(b.events) == 0 || len(b.events) > 2 {
						t.Errorf("batch %d has %d events, want 1..2", i, len(b.events))
					}
				}
			})
		}
	}
}

func TestStdinBatchLimits(t *testing.T) {
	tests := []struct {
		name                string
		batchEvents, bytes_ int
		in                  string
		want                [][]string
	}{
		{"by events", 3, 100, "a\nb\nc\nd\ne\n", [][]string{{"a", "b", "c"}, {"d", "e"}}},
		{"by bytes", 100, 5, "aa\nbb\ncc\nd\n", [][]string{{"aa", "bb"}, {"cc", "d"}}},
		{"by bytes exactly", 100, 4, "aa\nbb\ncc\n", [][]string{{"aa", "bb"}, {"cc"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := NewStdin(StdinOptions{Reader: strings.NewReader(tc.in), BatchEvents: tc.batchEvents, BatchBytes: tc.bytes_, MaxLineBytes: 20})
			if err := s.Run(context.Background(), rec.emit); err != nil {
				t.Fatal(err)
			}
			if rec.numBatches() != len(tc.want) {
				t.Fatalf("got %d batches, want %d", rec.numBatches(), len(tc.want))
			}
			for i, want := range tc.want {
				equal(t, "batch", rec.batch(i).events, want)
			}
		})
	}
}

func TestStdinBatchFields(t *testing.T) {
	var got event.Batch
	s := NewStdin(StdinOptions{Name: "in", Reader: strings.NewReader("x\n")})
	before := time.Now()
	err := s.Run(context.Background(), func(_ context.Context, b *event.Batch) error { got = *b; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.Input != "in" || got.Source != "stdin" || got.Commit != nil || got.Time.Before(before) || time.Since(got.Time) > time.Minute {
		t.Errorf("batch = %+v", got)
	}
}

func TestStdinEmitErrorStops(t *testing.T) {
	rec := &recorder{fail: errTestStop}
	r := &countingReader{r: strings.NewReader(strings.Repeat("line\n", 1000))}
	s := NewStdin(StdinOptions{Reader: r, BatchBytes: 100})
	if err := s.Run(context.Background(), rec.emit); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if r.reads != 1 {
		t.Errorf("read %d times after a failed emit, want 1", r.reads)
	}
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) { c.reads++; return c.r.Read(p) }

func TestStdinReadError(t *testing.T) {
	rec := &recorder{}
	boom := errors.New("boom")
	s := NewStdin(StdinOptions{Reader: io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom))})
	err := s.Run(context.Background(), rec.emit)
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want %v", err, boom)
	}
	equal(t, "events", rec.events(), []string{"a"})
}

// TestStdinCancel: a read blocked on a pipe is interrupted when ctx is done.
func TestStdinCancel(t *testing.T) {
	pr, pw := io.Pipe() // not interruptible: Run returns after the read
	defer pw.Close()
	rec := &recorder{}
	s := NewStdin(StdinOptions{Reader: pr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rec.emit) }()
	if _, err := io.WriteString(pw, "a\n"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "first event", rec.has(1))
	cancel()
	// Complete the read Run may be blocked in; it may have returned.
	wrote := make(chan struct{})
	go func() { defer close(wrote); pw.Write([]byte("b\n")) }()
	defer func() { pr.Close(); <-wrote }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := rec.events(); len(got) < 1 || got[0] != "a" {
		t.Errorf("events = %q", got)
	}
}

func TestStdinDefaults(t *testing.T) {
	s := NewStdin(StdinOptions{})
	o := s.opts
	if o.Name != "stdin" || o.MaxLineBytes != DefaultMaxLineBytes || o.BatchEvents != DefaultBatchEvents ||
		o.BatchBytes != DefaultBatchBytes || o.Reader == nil || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
	if err := s.Run(context.Background(), nil); err == nil {
		t.Error("Run with nil emit succeeded")
	}
}
