//go:build !race

// Allocation counts hold only without the race detector, which allocates:
// this file is left out of -race builds, and scripts/test.sh runs it in a
// pass without -race.

package parse

import (
	"os"
	"testing"
	"time"
)

// TestZeroAlloc holds the hot paths to no allocations per event.
func TestZeroAlloc(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	router := readLines(t, "testdata/router.log")
	runtime := readLines(t, "testdata/runtime.log")
	l2met := readLines(t, "testdata/l2met.log")
	jsonl := readLines(t, "testdata/json.log")
	r5424 := readLines(t, "testdata/rfc5424.log")
	r3164 := readLines(t, "testdata/rfc3164.log")
	body, err := os.ReadFile("testdata/logplex/drain.txt")
	if err != nil {
		t.Fatal(err)
	}
	var dst []byte
	dst = make([]byte, 0, 1024)
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"Logfmt", func() {
			for _, l := range router {
				Logfmt(l, func(k, v []byte, q bool) bool {
					if q {
						dst = Unquote(dst[:0], v)
					}
					return true
				})
			}
		}},
		{"LogfmtValue", func() {
			for _, l := range router {
				LogfmtValue(l, "status")
			}
		}},
		{"Router", func() {
			for _, l := range router {
				Router(l)
			}
		}},
		{"RuntimeMetrics", func() {
			for _, l := range runtime {
				RuntimeMetrics(l)
			}
		}},
		{"L2met", func() {
			for _, l := range l2met {
				L2met(l, func(m Metric) bool {
					Seconds(m.Value, m.Unit)
					Bytes(m.Value, m.Unit)
					return true
				})
			}
		}},
		{"JSONField", func() {
			for _, l := range jsonl {
				raw, _, _ := JSONField(l, "error.message")
				dst, _ = JSONUnquote(dst[:0], raw)
				JSONField(l, "nested.deep.deeper.deepest.1.x")
				JSONField(l, "s")
			}
		}},
		{"RFC5424", func() {
			for _, l := range r5424 {
				m, _ := RFC5424(l)
				SDParams(m.StructuredData, func(id, name, value []byte) bool {
					dst = SDUnescape(dst[:0], value)
					return true
				})
			}
		}},
		{"RFC3164", func() {
			for _, l := range r3164 {
				RFC3164(l, now)
			}
		}},
		{"LeadingTime", func() {
			for _, l := range router {
				LeadingTime(l)
			}
		}},
		{"Logplex", func() {
			LogplexFrames(body, func(f []byte) error {
				RFC5424(f)
				return nil
			})
		}},
	} {
		if n := testing.AllocsPerRun(20, tc.fn); n != 0 {
			t.Errorf("%s: %.1f allocs per run, want 0", tc.name, n)
		}
	}
}
