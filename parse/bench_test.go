package parse

import (
	"os"
	"testing"
	"time"
)

// Benchmarks run over the testdata corpora; b.N counts events (lines,
// messages), so ns/op is ns/event and allocs/op allocs/event.

func benchLines(b *testing.B, name string, fn func(line []byte)) {
	lines := readLines(b, name)
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		fn(lines[i%len(lines)])
	}
}

func BenchmarkLogfmt(b *testing.B) {
	n := 0
	benchLines(b, "testdata/router.log", func(line []byte) {
		var s LogfmtScanner
		s.Reset(line)
		for s.Next() {
			n += len(s.Value())
		}
	})
}

func BenchmarkLogfmtValue(b *testing.B) {
	benchLines(b, "testdata/router.log", func(line []byte) {
		if _, ok := LogfmtValue(line, "status"); !ok {
			b.Fatal("no status")
		}
	})
}

func BenchmarkRouter(b *testing.B) {
	benchLines(b, "testdata/router.log", func(line []byte) {
		if _, ok := Router(line); !ok {
			b.Fatal("not a router line")
		}
	})
}

func BenchmarkRuntimeMetrics(b *testing.B) {
	benchLines(b, "testdata/runtime.log", func(line []byte) {
		if _, ok := RuntimeMetrics(line); !ok {
			b.Fatal("not a runtime-metrics line")
		}
	})
}

func BenchmarkL2met(b *testing.B) {
	sum := 0.0
	benchLines(b, "testdata/l2met.log", func(line []byte) {
		L2met(line, func(m Metric) bool { sum += m.Value; return true })
	})
}

// BenchmarkL2metRouter is the common case: a router line with no l2met key.
func BenchmarkL2metRouter(b *testing.B) {
	benchLines(b, "testdata/router.log", func(line []byte) {
		L2met(line, func(m Metric) bool { return true })
	})
}

func BenchmarkJSONField(b *testing.B) {
	benchLines(b, "testdata/json.log", func(line []byte) {
		JSONField(line, "level")
		JSONField(line, "job.id")
	})
}

func BenchmarkJSONFieldDeep(b *testing.B) {
	line := readLines(b, "testdata/json.log")[1]
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := JSONField(line, "error.retry.attempt"); !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkRFC5424(b *testing.B) {
	benchLines(b, "testdata/rfc5424.log", func(line []byte) {
		if _, err := RFC5424(line); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkRFC3164(b *testing.B) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	benchLines(b, "testdata/rfc3164.log", func(line []byte) {
		if _, err := RFC3164(line, now); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkLeadingTime(b *testing.B) {
	line := []byte("2026-11-21T10:00:00.123456+00:00 heroku[router]: at=info method=GET path=\"/\"")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := LeadingTime(line); !ok {
			b.Fatal("no time")
		}
	}
}

// BenchmarkTimeParse is the standard library's time.Parse on the same
// timestamp, for comparison with LeadingTime.
func BenchmarkTimeParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := time.Parse(time.RFC3339Nano, "2026-11-21T10:00:00.123456+00:00"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogplex cuts a drain body and parses each frame; b.N counts
// frames.
func BenchmarkLogplex(b *testing.B) {
	body, err := os.ReadFile("testdata/logplex/drain.txt")
	if err != nil {
		b.Fatal(err)
	}
	frames, _ := LogplexFrames(body, func([]byte) error { return nil })
	b.SetBytes(int64(len(body) / frames))
	b.ReportAllocs()
	for i := 0; i < b.N; i += frames {
		if _, err := LogplexFrames(body, func(f []byte) error {
			m, err := RFC5424(f)
			if err == nil {
				Router(m.Message)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
