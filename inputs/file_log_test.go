package inputs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"pulse/event"
	"pulse/testenv"
)

// logBuffer collects a logger's text lines; the input's goroutines write
// it while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// lineWith counts the log lines holding every one of parts.
func (l *logBuffer) lineWith(parts ...string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// TestFileLogsWhatItTails: the files followed are logged at INFO, a
// pattern that matches nothing is one WARN naming it, and files appearing
// under it later are an INFO again.
func TestFileLogsWhatItTails(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.log"), numbered("a", 1, 3))
	opts := testFileOptions(t, dir, "app.log", "late-*.log")
	var logs logBuffer
	opts.Logger = logs.logger()
	rec := &recorder{}
	start(t, opts, rec)
	missing := filepath.Join(dir, "late-*.log")
	testenv.WaitFor(t, timeout, "a warning that late-*.log matches nothing", func() bool {
		return logs.lineWith("level=WARN", "matches no file", "pattern="+missing) == 1
	})
	if n := logs.lineWith("level=INFO", "following file", "path="+filepath.Join(dir, "app.log")); n != 1 {
		t.Errorf("%d INFO lines following app.log, want 1:\n%s", n, logs.String())
	}
	testenv.WaitFor(t, timeout, "the lines of app.log", rec.has(3))

	writeFile(t, filepath.Join(dir, "late-1.log"), numbered("l", 1, 2))
	testenv.WaitFor(t, timeout, "the lines of late-1.log", rec.has(5))
	testenv.WaitFor(t, timeout, "an INFO that late-*.log matches now", func() bool {
		return logs.lineWith("level=INFO", "matches files now", "pattern="+missing) == 1
	})
	if n := logs.lineWith("level=WARN"); n != 1 {
		t.Errorf("%d WARN lines, want the one for late-*.log:\n%s", n, logs.String())
	}
}

// TestFileTruncationCountsUnread: a file truncated while the input was
// behind on it warns with the bytes it had not read yet.
func TestFileTruncationCountsUnread(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	content := numbered("l", 1, 1000)
	writeFile(t, path, content)
	opts := testFileOptions(t, dir, "app.log")
	opts.BatchBytes, opts.MaxLineBytes = 64, 16 // small reads: several turns per file
	var logs logBuffer
	opts.Logger = logs.logger()
	f, err := NewFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	blocked, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	events, calls := 0, 0
	emit := func(_ context.Context, b *event.Batch) error {
		mu.Lock()
		calls++
		events += len(b.Events)
		c := calls
		mu.Unlock()
		if c == 10 {
			close(blocked)
			<-release
		}
		b.Commit()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, emit) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	<-blocked
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	close(release)
	testenv.WaitFor(t, timeout, "truncation noticed", func() bool { return f.Stats().Truncations == 1 })
	mu.Lock()
	read := 0
	for _, l := range strings.SplitAfter(content, "\n")[:events] {
		read += len(l)
	}
	mu.Unlock()
	want := fmt.Sprintf("unread_bytes=%d", len(content)-read)
	if read == 0 || read == len(content) || logs.lineWith("level=WARN", "file truncated, reading it from the start: at least unread_bytes", want) != 1 {
		t.Errorf("read %d of %d bytes; want one WARN with %s:\n%s", read, len(content), want, logs.String())
	}
}
