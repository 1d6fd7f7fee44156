package outputs

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pulse/testenv"
)

var _ Output = (*File)(nil)

func newTestFile(t *testing.T, opts FileOptions) *File {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	f, err := NewFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// runFile writes batches through f and stops it once all are acknowledged.
func runFile(t *testing.T, f *File, batches ...Batch) {
	t.Helper()
	src := newFakeSource(batches...)
	stop := start(t, func(ctx context.Context) error { return f.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "all acks", func() bool { return src.acked() == len(batches) })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// payload returns size bytes of one letter, ending in a newline.
func payload(letter byte, size int) []byte {
	p := bytes.Repeat([]byte{letter}, size)
	p[size-1] = '\n'
	return p
}

// logFiles returns the numbers of the events files in dir, ascending, and
// their contents.
func logFiles(t *testing.T, dir string) ([]uint64, [][]byte) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var nums []uint64
	for _, e := range entries {
		if n, ok := parseFileName(e.Name()); ok {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	contents := make([][]byte, len(nums))
	for i, n := range nums {
		if contents[i], err = os.ReadFile(filepath.Join(dir, fileName(n))); err != nil {
			t.Fatal(err)
		}
	}
	return nums, contents
}

func TestFileRotatesBySize(t *testing.T) {
	const maxBytes = 100
	sizes := []int{30, 50, 10, 40, 60, 250, 5, 100, 99, 1, 70, 30}
	var batches []Batch
	for i, n := range sizes {
		batches = append(batches, Batch{ID: uint64(i + 1), Payload: payload(byte('a'+i), n), Events: 1})
	}
	dir := t.TempDir()
	f := newTestFile(t, FileOptions{Dir: dir, MaxFileBytes: maxBytes})
	runFile(t, f, batches...)

	nums, contents := logFiles(t, dir)
	for i, n := range nums {
		if n != uint64(i+1) {
			t.Fatalf("file numbers %v, want 1..%d", nums, len(nums))
		}
	}
	// Walk the files, consuming whole payloads in order: none is split, and
	// a file was closed only when the next payload would not fit.
	next := 0
	for i, c := range contents {
		rest := c
		for next < len(batches) && len(rest) > 0 && bytes.HasPrefix(rest, batches[next].Payload) {
			rest = rest[len(batches[next].Payload):]
			next++
		}
		if len(rest) != 0 {
			t.Fatalf("file %d: a payload is split or out of order", nums[i])
		}
		if len(c) > maxBytes && len(c) != sizes[next-1] {
			t.Errorf("file %d holds %d bytes, more than %d, and is not one oversized payload", nums[i], len(c), maxBytes)
		}
		if i < len(contents)-1 && len(c)+sizes[next] <= maxBytes {
			t.Errorf("file %d rotated at %d bytes, though the next %d would fit", nums[i], len(c), sizes[next])
		}
	}
	if next != len(batches) {
		t.Fatalf("files hold %d of %d payloads", next, len(batches))
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	want := FileStats{Batches: int64(len(sizes)), Events: int64(len(sizes)), Bytes: int64(total), Files: int64(len(nums))}
	if st := f.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestFileContentIsConcatenation(t *testing.T) {
	batches := makeBatches(40, 25)
	dir := t.TempDir()
	f := newTestFile(t, FileOptions{Dir: dir, MaxFileBytes: 4096})
	runFile(t, f, batches...)

	var want []byte
	for _, b := range batches {
		want = append(want, b.Payload...)
	}
	_, contents := logFiles(t, dir)
	if got := bytes.Join(contents, nil); !bytes.Equal(got, want) {
		t.Errorf("files hold %d bytes, differing from the %d bytes of payloads", len(got), len(want))
	}
	if len(contents) < 2 {
		t.Errorf("%d files, want rotation", len(contents))
	}
}

func TestFileEndsEveryPayloadWithNewline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		payloads []string
		want     string
	}{
		{"terminated", []string{"a\nb\n"}, "a\nb\n"},
		{"unterminated", []string{"a\nb", "c"}, "a\nb\nc\n"},
		{"empty payload writes nothing", []string{"", "x\n"}, "x\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var batches []Batch
			for i, p := range tc.payloads {
				batches = append(batches, Batch{ID: uint64(i + 1), Payload: []byte(p)})
			}
			dir := t.TempDir()
			f := newTestFile(t, FileOptions{Dir: dir})
			runFile(t, f, batches...)
			_, contents := logFiles(t, dir)
			if got := string(bytes.Join(contents, nil)); got != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
			if st := f.Stats(); st.Bytes != int64(len(tc.want)) {
				t.Errorf("bytes %d, want %d", st.Bytes, len(tc.want))
			}
		})
	}
}

func TestFileNumberingContinuesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"events-000003.log": "three\n",
		"events-000007.log": "seven\nseven, torn",
		"events-abc.log":    "not ours\n",
		"notes.txt":         "not ours\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := newTestFile(t, FileOptions{Dir: dir})
	runFile(t, f, Batch{ID: 1, Payload: []byte("first run\n"), Events: 1})
	// A restart: a new output on the same directory.
	runFile(t, newTestFile(t, FileOptions{Dir: dir}), Batch{ID: 2, Payload: []byte("second run\n"), Events: 1})

	nums, contents := logFiles(t, dir)
	if want := []uint64{3, 7, 8, 9}; !slices.Equal(nums, want) {
		t.Fatalf("files %v, want %v", nums, want)
	}
	for i, want := range []string{"three\n", "seven\n", "first run\n", "second run\n"} {
		if string(contents[i]) != want {
			t.Errorf("file %d: %q, want %q", nums[i], contents[i], want)
		}
	}
	if st := f.Stats(); st.Files != 1 {
		t.Errorf("files created %d, want 1", st.Files)
	}
}

func TestFileMaxFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"events-000001.log", "events-000002.log"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var batches []Batch
	for i := range 6 {
		batches = append(batches, Batch{ID: uint64(i + 1), Payload: payload(byte('a'+i), 8), Events: 1})
	}
	// 8-byte payloads with a 10-byte cap: one file per batch.
	f := newTestFile(t, FileOptions{Dir: dir, MaxFileBytes: 10, MaxFiles: 3})
	runFile(t, f, batches...)

	nums, contents := logFiles(t, dir)
	if want := []uint64{6, 7, 8}; !slices.Equal(nums, want) {
		t.Fatalf("files %v, want %v", nums, want)
	}
	for i, c := range contents {
		if want := batches[3+i].Payload; !bytes.Equal(c, want) {
			t.Errorf("file %d: %q, want %q", nums[i], c, want)
		}
	}
}

func TestFileRetriesFailedWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	src := newFakeSource(Batch{ID: 1, Payload: payload('a', 8), Events: 1})
	f := newTestFile(t, FileOptions{Dir: dir, MaxFileBytes: 10})
	start(t, func(ctx context.Context) error { return f.Run(ctx, src) })
	testenv.WaitFor(t, 10*time.Second, "the first ack", func() bool { return src.acked() == 1 })

	// Put a plain file where the directory was: the next file cannot be
	// created, and the batch must wait, unacknowledged.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.queue = append(src.queue, Batch{ID: 2, Payload: payload('b', 8), Events: 1})
	src.mu.Unlock()
	src.wake <- struct{}{}
	testenv.WaitFor(t, 10*time.Second, "the batch taken", func() bool { return src.outstanding() == 1 })
	if src.acked() != 1 {
		t.Fatal("batch acked although it could not be written")
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the second ack", func() bool { return src.acked() == 2 })
	_, contents := logFiles(t, dir)
	if got := string(bytes.Join(contents, nil)); got != string(payload('b', 8)) {
		t.Errorf("content %q", got)
	}
}

func TestFileCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	torn := "line one\nline two\nhalf a li"
	if err := os.WriteFile(filepath.Join(dir, "events-000003.log"), []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openRotatingFile(dir, 1<<20, 0, slog.Default()); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "events-000003.log"))
	if string(got) != "line one\nline two\n" {
		t.Fatalf("after open: %q", got)
	}
}
