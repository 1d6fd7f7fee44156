package gen

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func lines(t testing.TB, opts Options, n int) []string {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, n)
	var b []byte
	for i := range out {
		b = g.Next(b[:0])
		out[i] = string(b)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a := lines(t, Options{Seed: 7}, 2000)
	b := lines(t, Options{Seed: 7}, 2000)
	c := lines(t, Options{Seed: 8}, 2000)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatal("same seed, different lines")
	}
	differ := 0
	for i := range a {
		if a[i] != c[i] {
			differ++
		}
	}
	// The timestamp and id of line i do not depend on the seed; the rest
	// should, nearly always.
	if differ < len(a)*99/100 {
		t.Fatalf("seeds 7 and 8 give only %d different lines of %d", differ, len(a))
	}
}

func TestIDsAndTimestamps(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 59, 999_000_000, time.UTC)
	ls := lines(t, Options{Seed: 1, Start: start, Step: 250 * time.Microsecond}, 10_000)
	for i, l := range ls {
		if id := idOf(t, []byte(l)); id != uint64(i) {
			t.Fatalf("line %d has id %d: %q", i, id, l)
		}
		ts, _, _ := strings.Cut(l, " ")
		if len(ts) != len("2030-01-02T03:04:59.999000+00:00") {
			t.Fatalf("line %d: timestamp %q", i, ts)
		}
		got, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if want := start.Add(time.Duration(i) * 250 * time.Microsecond); !got.Equal(want) {
			t.Fatalf("line %d: time %v, want %v", i, got, want)
		}
	}
}

// kindOf names a line's kind from its APP[PROC].
func kindOf(t testing.TB, l string) (kind, msg string) {
	t.Helper()
	_, rest, _ := strings.Cut(l, " ")
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		t.Fatalf("no APP[PROC]: in %q", l)
	}
	switch {
	case tag == "heroku[router]":
		return "router", msg
	case strings.HasPrefix(tag, "heroku[web."):
		return "runtime", msg
	case strings.HasPrefix(tag, "app[web."):
		return "l2met", msg
	}
	t.Fatalf("unknown tag %q", tag)
	return "", ""
}

func TestMix(t *testing.T) {
	tests := []struct {
		mix  string
		want map[string]float64
	}{
		{DefaultMix, map[string]float64{"router": 0.8, "runtime": 0.1, "l2met": 0.1}},
		{"router=1,runtime=1,l2met=2", map[string]float64{"router": 0.25, "runtime": 0.25, "l2met": 0.5}},
		{"l2met=5", map[string]float64{"router": 0, "runtime": 0, "l2met": 1}},
	}
	const n = 20_000
	for _, tt := range tests {
		t.Run(tt.mix, func(t *testing.T) {
			m, err := ParseMix(tt.mix)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, l := range lines(t, Options{Seed: 3, Mix: m}, n) {
				k, _ := kindOf(t, l)
				got[k]++
			}
			for k, frac := range tt.want {
				f := float64(got[k]) / n
				// Binomial sd at n=20000 is at most 0.0036: a band of ±0.02.
				if f < frac-0.02 || f > frac+0.02 {
					t.Errorf("%s: %.3f of lines, want %.2f ± 0.02", k, f, frac)
				}
			}
		})
	}
}

func TestParseMixErrors(t *testing.T) {
	for _, s := range []string{"", "router", "router=x", "router=-1", "web=3", "router=0,l2met=0"} {
		if _, err := ParseMix(s); err == nil {
			t.Errorf("ParseMix(%q): no error", s)
		}
	}
}

func TestLineFields(t *testing.T) {
	seen := map[string]int{}
	statuses := map[byte]int{}
	for _, l := range lines(t, Options{Seed: 11, Dynos: 3}, 5000) {
		kind, msg := kindOf(t, l)
		seen[kind]++
		kv := fields(t, msg)
		if _, err := strconv.ParseUint(kv["id"], 10, 64); err != nil {
			t.Fatalf("id: %q", l)
		}
		switch kind {
		case "router":
			for _, k := range []string{"at", "method", "path", "host", "request_id", "fwd", "dyno", "connect", "service", "status", "bytes", "protocol"} {
				if kv[k] == "" {
					t.Fatalf("router line without %s: %q", k, l)
				}
			}
			status, err := strconv.Atoi(kv["status"])
			if err != nil || status < 200 || status > 599 {
				t.Fatalf("status %q: %q", kv["status"], l)
			}
			statuses[kv["status"][0]]++
			if !strings.HasSuffix(kv["service"], "ms") || !strings.HasSuffix(kv["connect"], "ms") {
				t.Fatalf("service or connect without ms: %q", l)
			}
			if len(kv["request_id"]) != 36 || !strings.HasPrefix(kv["path"], "/") {
				t.Fatalf("request_id or path: %q", l)
			}
			if kv["at"] == "error" && (kv["code"] == "" || kv["desc"] == "") {
				t.Fatalf("router error without code and desc: %q", l)
			}
			if d := kv["dyno"]; d != "web.1" && d != "web.2" && d != "web.3" {
				t.Fatalf("dyno %q of 3: %q", d, l)
			}
		case "runtime":
			if kv["source"] == "" || !strings.HasPrefix(kv["dyno"], "heroku.") {
				t.Fatalf("runtime line without source or dyno: %q", l)
			}
			mem, load := kv["sample#memory_total"], kv["sample#load_avg_1m"]
			if (mem == "") == (load == "") {
				t.Fatalf("runtime line with neither or both of memory and load: %q", l)
			}
			if mem != "" && !strings.HasSuffix(mem, "MB") {
				t.Fatalf("memory without MB: %q", l)
			}
		case "l2met":
			metrics := 0
			for k := range kv {
				for _, p := range []string{"count#", "measure#", "sample#", "unique#"} {
					if strings.HasPrefix(k, p) {
						metrics++
					}
				}
			}
			if kv["source"] == "" || metrics == 0 {
				t.Fatalf("l2met line without source or metrics: %q", l)
			}
		}
	}
	if len(seen) != 3 {
		t.Fatalf("kinds seen: %v", seen)
	}
	// Mostly 2xx, some of each other class.
	if statuses['2'] < seen["router"]*85/100 || statuses['3'] == 0 || statuses['4'] == 0 || statuses['5'] == 0 {
		t.Fatalf("status classes %v of %d router lines", statuses, seen["router"])
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	g, err := New(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(10_000, func() { buf = g.Next(buf[:0]) })
	if allocs != 0 {
		t.Fatalf("Next allocates %.2f times per line", allocs)
	}
}

func BenchmarkNext(b *testing.B) {
	g, err := New(Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		buf = g.Next(buf[:0])
		bytes += int64(len(buf))
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
