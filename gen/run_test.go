package gen

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

func run(t testing.TB, ctx context.Context, opts Options) (Stats, string) {
	t.Helper()
	var progress bytes.Buffer
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	st, err := Run(ctx, opts, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	return st, progress.String()
}

func TestRunToFileIsReproducible(t *testing.T) {
	dir := t.TempDir()
	var files [3][]byte
	for i, seed := range []uint64{5, 5, 6} {
		path := filepath.Join(dir, "out.log")
		st, progress := run(t, context.Background(), Options{Seed: seed, Count: 3000, Out: path})
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = b
		if st.Events != 3000 || bytes.Count(b, []byte("\n")) != 3000 {
			t.Fatalf("%d events, %d lines; want 3000", st.Events, bytes.Count(b, []byte("\n")))
		}
		if st.Bytes != int64(len(b))-3000 {
			t.Fatalf("Stats.Bytes %d, file holds %d bytes of lines", st.Bytes, len(b)-3000)
		}
		if !regexp.MustCompile(`(?m)^generated 3000 events in \S+ \(\d+ events/s\)\n\z`).MatchString(progress) {
			t.Fatalf("progress ends %q", progress)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("same flags, different bytes")
	}
	if bytes.Equal(files[0], files[2]) {
		t.Fatal("different seeds, same bytes")
	}
	// The file's lines are the Generator's.
	want := lines(t, Options{Seed: 5}, 3000)
	if string(files[0]) != strings.Join(want, "\n")+"\n" {
		t.Fatal("Run's lines differ from Next's")
	}
}

func TestRunStdout(t *testing.T) {
	var out bytes.Buffer
	st, _ := run(t, context.Background(), Options{Seed: 1, Count: 10, Stdout: &out})
	if st.Events != 10 || strings.Count(out.String(), "\n") != 10 {
		t.Fatalf("%d events, stdout %q", st.Events, out.String())
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		count    int64
		duration time.Duration
		minN     int64 // events expected within a wide band
		maxN     int64
		minTime  time.Duration
	}{
		// 2000/s for 600ms: 1200 expected; fewer if the machine starves
		// the loop for more than the pacer's burst.
		{"duration bound", 2000, 0, 600 * time.Millisecond, 600, 1400, 550 * time.Millisecond},
		// 600 events at 2000/s: 300ms at least.
		{"count bound", 2000, 600, 10 * time.Second, 600, 600, 250 * time.Millisecond},
		// Whichever comes first: the count.
		{"count first", 0, 5000, time.Minute, 5000, 5000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			st, _ := run(t, context.Background(), Options{Rate: tt.rate, Count: tt.count, Duration: tt.duration, Out: path})
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			n := int64(bytes.Count(b, []byte("\n")))
			if n != st.Events || n < tt.minN || n > tt.maxN {
				t.Fatalf("%d lines (Stats %d), want %d to %d", n, st.Events, tt.minN, tt.maxN)
			}
			if st.Elapsed < tt.minTime {
				t.Fatalf("took %v, want at least %v", st.Elapsed, tt.minTime)
			}
		})
	}
}

func TestPacer(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newPacer(100, now)
	total := int64(0)
	// 100/s for 2s in 7ms steps: 200 tokens, give or take one.
	for i := range 2000 / 7 {
		total += p.take(now.Add(time.Duration(i+1)*7*time.Millisecond), 1000)
	}
	if total < 198 || total > 200 {
		t.Fatalf("%d events in 2s at 100/s", total)
	}
	// After a long stall, at most a tenth of a second is caught up.
	if n := p.take(now.Add(time.Hour), 1000); n != 10 {
		t.Fatalf("after a stall: %d events, want the burst of 10", n)
	}
	if w := p.wait(); w < 10*time.Millisecond || w > 11*time.Millisecond {
		t.Fatalf("wait %v, want 10ms (one token at 100/s)", w)
	}
	if n := newPacer(0, now).take(now, 77); n != 77 {
		t.Fatalf("unlimited pacer gave %d of 77", n)
	}
}

func TestCancelStopsAndFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Run(ctx, Options{Rate: 1000, Duration: time.Hour, Out: path}, nil)
		done <- result{st, err}
	}()
	testenv.WaitFor(t, 10*time.Second, "some lines in the file", func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > 0
	})
	cancel()
	var st Stats
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("cancelled Run: %v", res.err)
		}
		st = res.st
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(bytes.Count(b, []byte("\n"))); n != st.Events || n == 0 {
		t.Fatalf("%d lines in the file, Stats says %d", n, st.Events)
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no bound", Options{}, "Count or Duration"},
		{"negative rate", Options{Count: 1, Rate: -1}, "Rate"},
		{"format for a file", Options{Count: 1, Out: filepath.Join(t.TempDir(), "x"), Format: FormatPulse}, "HTTP outputs only"},
		{"unknown format", Options{Count: 1, Out: "http://127.0.0.1:1", Format: "json"}, "unknown format"},
		{"unknown scheme", Options{Count: 1, Out: "ftp://x"}, "unknown scheme"},
		{"bad syslog address", Options{Count: 1, Out: "syslog+tcp://nowhere"}, "syslog address"},
		{"dynos", Options{Count: 1, Dynos: -1}, "Dynos"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.opts, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestProgressOnAPipe(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, 100, 0, time.Unix(0, 0))
	p.update(time.Unix(0, 0), 0)
	p.update(time.Unix(0, 500e6), 50) // within the second: nothing
	p.update(time.Unix(1, 0), 100)
	p.finish(Stats{Events: 100, Elapsed: 2 * time.Second})
	want := "gen: 100 events, 100 events/s, 1s\ngenerated 100 events in 2s (50 events/s)\n"
	if out.String() != want {
		t.Fatalf("progress:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestProgressOnATerminal(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, true, 0, 10*time.Second, time.Unix(0, 0))
	p.update(time.Unix(0, 0), 0)
	p.update(time.Unix(0, 100e6), 10) // within 200ms: nothing
	p.update(time.Unix(5, 0), 500)
	p.finish(Stats{Events: 1000, Elapsed: 10 * time.Second})
	want := "\r[..............................]   0% 0 events 0 events/s  " +
		"\r[###############...............]  50% 500 events 100 events/s  " +
		"\r\033[Kgenerated 1000 events in 10s (100 events/s)\n"
	if out.String() != want {
		t.Fatalf("progress:\n%q\nwant\n%q", out.String(), want)
	}
}

// BenchmarkRunToFile is the whole path to a file, per event: Next, pacing
// checks, buffered writes.
func BenchmarkRunToFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "out.log")
	b.ReportAllocs()
	st, err := Run(context.Background(), Options{Count: int64(b.N), Out: path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Bytes / int64(b.N))
	b.ReportMetric(float64(st.Events)/st.Elapsed.Seconds(), "events/s")
}
