package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pulse/buffer"
	"pulse/protocol"
)

// salvage -to FILE writes the events of every kind of stored batch — a
// pulse batch zstd- or S2-compressed or not, and lines — one per line.
func TestBufferSalvageToFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	q, err := buffer.Open(buffer.Options{Dir: dir, Name: "out", MaxBytes: 16 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var w protocol.Writer
	w.Reset(nil)
	w.Append([]byte("p1"))
	w.Append([]byte("p2"))
	batches := [][]byte{
		protocol.CompressZstd.Compress(nil, w.Bytes()),
		protocol.CompressS2.Compress(nil, w.Bytes()),
		protocol.CompressNone.Compress(nil, w.Bytes()),
		[]byte("l1\nl2\r\n"),
	}
	for _, b := range batches {
		if err := q.Put(context.Background(), b, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "out.diskqueue.000000.dat")
	if err := os.Rename(seg, seg+".bad"); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"buffer", "verify", dir}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "CORRUPT") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	to := filepath.Join(t.TempDir(), "events.log")
	stdout.Reset()
	if code := run([]string{"buffer", "salvage", dir, "-to", to}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("salvage: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	got, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	if want := "p1\np2\np1\np2\np1\np2\nl1\nl2\n"; string(got) != want {
		t.Fatalf("events %q, want %q\n%s", got, want, stdout.String())
	}
	if !strings.Contains(stdout.String(), "8 events written to "+to) || !strings.Contains(stdout.String(), "removed") {
		t.Fatalf("salvage output:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"buffer", "verify", "-json", dir}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), `"healthy": true`) {
		t.Fatalf("verify after salvage: exit %d\n%s", code, stdout.String())
	}
}

func TestBufferUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"buffer"}, 2, "usage: pulse buffer verify"},
		{[]string{"buffer", "mend"}, 2, `unknown command "mend"`},
		{[]string{"buffer", "verify"}, 2, "give a DIR or -config FILE"},
		{[]string{"buffer", "verify", "/nonexistent"}, 1, "/nonexistent: no such file"},
		{[]string{"buffer", "verify", "/"}, 1, "/ is not a buffer directory"},
		{[]string{"buffer", "clear-bad", "-to", "x", "/tmp"}, 2, "flag provided but not defined: -to"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, nil, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// verify DATA_DIR reads the shared buffers (data_dir/shared/*/queue) with
// the outputs' own: damage in one is found and named.
func TestBufferVerifyFindsSharedBuffers(t *testing.T) {
	data := t.TempDir()
	for _, dir := range []string{filepath.Join(data, "buffers", "a"), filepath.Join(data, "shared", "0123456789abcdef", "queue")} {
		name := filepath.Base(dir)
		if name == "queue" {
			name = "shared-0123456789abcdef"
		}
		q, err := buffer.Open(buffer.Options{Dir: dir, Name: name, MaxBytes: 16 << 20, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Put(context.Background(), []byte("l1\n"), 1); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"buffer", "verify", data}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "shared-0123456789abcdef") {
		t.Fatalf("verify: exit %d, want 0 naming the shared buffer\n%s%s", code, stdout.String(), stderr.String())
	}
	seg := filepath.Join(data, "shared", "0123456789abcdef", "queue", "shared-0123456789abcdef.diskqueue.000000.dat")
	if err := os.Rename(seg, seg+".bad"); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := run([]string{"buffer", "verify", data}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "CORRUPT") {
		t.Fatalf("verify with a damaged shared buffer: exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
}
