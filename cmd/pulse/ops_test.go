package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pulse gen writes an event file; pulse lsevents counts it.
func TestGenThenLsevents(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "events-000001.log")
	var stdout, stderr bytes.Buffer
	args := []string{"gen", "-count", "5000", "-seed", "9", "-rate", "0", "-out", file}
	if code := run(args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gen exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "generated 5000 events in ") {
		t.Fatalf("gen summary: %q", stderr.String())
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"lsevents", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("lsevents exit %d: %s", code, stderr.String())
	}
	// gen's default timestamps: 2026-11-21T10:00:00Z every 100µs.
	// Sizes in the config's units: 1.2MiB (-json has the exact count).
	want := "events-000001.log  5000    " + strconv.FormatFloat(float64(fi.Size())/(1<<20), 'f', 1, 64) + "MiB  2026-11-21T10:00:00.000Z  2026-11-21T10:00:00.499Z"
	if !strings.Contains(stdout.String(), want) {
		t.Fatalf("lsevents output lacks %q:\n%s", want, stdout.String())
	}
}

func TestGenAndLseventsUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gen"}, 2, "usage: pulse gen"},
		{[]string{"gen", "-count", "1", "-mix", "web=1"}, 2, "unknown kind"},
		{[]string{"gen", "-count", "1", "-start", "yesterday"}, 2, "-start"},
		{[]string{"gen", "-count", "1", "-out", "/nonexistent/dir/file"}, 1, "pulse gen: output"},
		{[]string{"lsevents", "/nonexistent"}, 1, "pulse lsevents:"},
		{[]string{"lsevents", "-bogus"}, 2, "usage: pulse lsevents"},
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
