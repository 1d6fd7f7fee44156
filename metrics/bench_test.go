package metrics

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns this process's user+system CPU time. Benchmarks report
// CPU ns per op beside wall ns per op: on a shared, loaded machine the
// former is the steadier figure.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRate(b *testing.B, cpu0 time.Duration, unit string) {
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func benchKeys(n int, kind Kind) []Key {
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = key("router.service", kind, "dyno", fmt.Sprint("web.", i), "status", fmt.Sprint(i%5+1, "xx"))
	}
	return keys
}

// BenchmarkObserve: observations through Observe on 1,000 known keys.
func BenchmarkObserve(b *testing.B) {
	for _, kind := range []Kind{Counter, Measure, Sample, Unique} {
		b.Run(kind.String(), func(b *testing.B) {
			clock := newFakeClock(t0.Add(time.Second))
			a := newTestAggregator(clock, 3)
			keys := benchKeys(1000, kind)
			raw := [][]byte{[]byte("alice"), []byte("bob"), []byte("carol")}
			for i, k := range keys {
				a.Observe(k, 1, t0, raw[i%3])
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				a.Observe(keys[i%len(keys)], float64(i%977)+0.5, t0.Add(time.Duration(i%8)*time.Second), raw[i%3])
			}
			reportRate(b, cpu0, "obs")
		})
	}
}

// benchFragments returns encoded measure fragments: keys × agents, each
// holding a few values.
func benchFragments(nKeys, agents, values int) [][]byte {
	keys := benchKeys(nKeys, Measure)
	var out [][]byte
	for ag := range agents {
		clock := newFakeClock(t0.Add(time.Second))
		a := newTestAggregator(clock, 3)
		a.agent = fmt.Sprint("agent-", ag)
		for i, k := range keys {
			for v := range values {
				a.Observe(k, float64((i*7+v*13+ag)%1000)+0.25, t0, nil)
			}
		}
		for _, f := range a.FlushAll() {
			out = append(out, AppendFragment(nil, f))
		}
	}
	return out
}

// BenchmarkMerge: fragments through Add (decoding included: a merger
// receives them encoded).
func BenchmarkMerge(b *testing.B) {
	enc := benchFragments(1000, 10, 10)
	frags := make([]*Fragment, len(enc))
	for i, e := range enc {
		frags[i], _ = DecodeFragment(e)
	}
	b.Run("add", func(b *testing.B) {
		m := NewMerger(MergeOptions{Logger: quietLogger()})
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if i%len(frags) == 0 && i > 0 {
				b.StopTimer()
				m = NewMerger(MergeOptions{Logger: quietLogger()})
				b.StartTimer()
			}
			m.Add(frags[i%len(frags)])
		}
		reportRate(b, cpu0, "fragments")
	})
	b.Run("decode+add", func(b *testing.B) {
		m := NewMerger(MergeOptions{Logger: quietLogger()})
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if i%len(enc) == 0 && i > 0 {
				b.StopTimer()
				m = NewMerger(MergeOptions{Logger: quietLogger()})
				b.StartTimer()
			}
			f, err := DecodeFragment(enc[i%len(enc)])
			if err != nil {
				b.Fatal(err)
			}
			m.Add(f)
		}
		reportRate(b, cpu0, "fragments")
	})
	b.Run("encode", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			buf = AppendFragment(buf[:0], frags[i%len(frags)])
		}
		reportRate(b, cpu0, "fragments")
	})
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

const memKeys = 100_000

// BenchmarkMemoryPerKey reports heap bytes per active key for 100,000
// keys (two dims each, three values per key): in an aggregator (one
// pending fragment per key) and in a merger (two agents' fragments per key,
// so two remembered ids). Run with -benchtime=1x.
func BenchmarkMemoryPerKey(b *testing.B) {
	for _, kind := range []Kind{Counter, Measure} {
		b.Run("aggregator/"+kind.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				keys := benchKeys(memKeys, kind)
				before := heapInUse()
				a := newTestAggregator(newFakeClock(t0.Add(time.Second)), 3)
				for j, k := range keys {
					for v := range 3 {
						a.Observe(k, float64(j%1000+v*100)+0.5, t0, nil)
					}
				}
				after := heapInUse()
				if n := a.Stats().ActiveKeys; n != memKeys {
					b.Fatalf("%d keys", n)
				}
				b.ReportMetric(float64(after-before)/memKeys, "bytes/key")
				runtime.KeepAlive(keys)
				runtime.KeepAlive(a)
			}
		})
	}
	for _, kind := range []Kind{Counter, Measure} {
		b.Run("merger/"+kind.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var enc [][]byte
				for ag := range 2 {
					a := newTestAggregator(newFakeClock(t0.Add(time.Second)), 3)
					a.agent = fmt.Sprint("agent-", ag)
					for j, k := range benchKeys(memKeys, kind) {
						for v := range 3 {
							a.Observe(k, float64(j%1000+v*100+ag)+0.5, t0, nil)
						}
					}
					for _, f := range a.FlushAll() {
						enc = append(enc, AppendFragment(nil, f))
					}
				}
				before := heapInUse()
				m := NewMerger(MergeOptions{Logger: quietLogger()})
				for _, e := range enc {
					f, err := DecodeFragment(e)
					if err != nil {
						b.Fatal(err)
					}
					m.Add(f)
				}
				after := heapInUse()
				if st := m.Stats(); st.Keys != memKeys || st.Seen != 2*memKeys {
					b.Fatalf("stats %+v", st)
				}
				b.ReportMetric(float64(after-before)/memKeys, "bytes/key")
				runtime.KeepAlive(enc)
				runtime.KeepAlive(m)
			}
		})
	}
}
