package buffer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// verifyFixture is a closed queue of 20 batches of 900 bytes in 4 KiB
// segments (5 segments of 4 frames); batch i holds i+1 events and key i*7.
// The first consumed batches are taken and acknowledged, the next inflight
// taken and left in flight.
func verifyFixture(t *testing.T, consumed, inflight int) (dir string, segs [][]segFrame) {
	t.Helper()
	dir = t.TempDir()
	opts := testOptions(t, dir)
	opts.SegmentBytes = 4 << 10
	q := openQueue(t, opts)
	for i := range 20 {
		if err := q.PutKey(t.Context(), uint64(i*7), payload(fmt.Sprintf("m%d", i), 900), i+1); err != nil {
			t.Fatal(err)
		}
	}
	for range consumed {
		mustAck(t, q, mustNext(t, q).ID)
	}
	for range inflight {
		mustNext(t, q)
	}
	closeQueue(t, q)
	for s := range 5 {
		if _, err := os.Stat(segmentFile(dir, s)); err != nil && s < (consumed+inflight)/4 {
			segs = append(segs, nil) // consumed and removed
			continue
		}
		segs = append(segs, segmentFrames(t, segmentFile(dir, s)))
		if len(segs[s]) != 4 {
			t.Fatalf("segment %d has %d frames, want 4", s, len(segs[s]))
		}
	}
	return dir, segs
}

func TestVerify(t *testing.T) {
	const all = 210 // events in batches 1..20
	type want struct {
		healthy         bool
		batches, events int64 // queued, verified
		inFlight        int
		problem         *Problem // the one problem expected; nil: none
		badFiles        int
	}
	tests := []struct {
		name     string
		inflight int
		maxBytes int64
		damage   func(t *testing.T, dir string, segs [][]segFrame) want
	}{
		{"healthy", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			return want{healthy: true, batches: 20, events: all}
		}},
		{"payload byte flipped mid-segment", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			f := segs[1][2]
			flipByte(t, segmentFile(dir, 1), f.off+frameOverhead+300)
			return want{batches: 19, events: all - int64(f.events), problem: &Problem{Severity: SevCorrupt,
				File: segmentFile(dir, 1), Offset: f.off, Length: f.size, Batches: 1, Events: int64(f.events)}}
		}},
		{"two adjacent frames flipped", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			a, b := segs[2][1], segs[2][2]
			flipByte(t, segmentFile(dir, 2), a.off+frameOverhead+10)
			flipByte(t, segmentFile(dir, 2), b.off+frameOverhead+10)
			ev := int64(a.events + b.events)
			return want{batches: 18, events: all - ev, problem: &Problem{Severity: SevCorrupt,
				File: segmentFile(dir, 2), Offset: a.off, Length: a.size + b.size, Batches: 2, Events: ev}}
		}},
		{"length prefix garbled in an older segment", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			s := segs[1]
			writeAt(t, segmentFile(dir, 1), s[1].off, []byte{0xff, 0xff, 0xff, 0xf0})
			// Open keeps frames 2 and 3, which verify.
			return want{batches: 19, events: all - int64(s[1].events), problem: &Problem{Severity: SevCorrupt,
				File: segmentFile(dir, 1), Offset: s[1].off, Length: s[1].size, Batches: 1, Events: int64(s[1].events)}}
		}},
		{"older segment cut mid-frame", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			f := segs[3][3]
			if err := os.Truncate(segmentFile(dir, 3), f.off+100); err != nil {
				t.Fatal(err)
			}
			return want{batches: 19, events: all - int64(f.events), problem: &Problem{Severity: SevCorrupt,
				File: segmentFile(dir, 3), Offset: f.off, Length: 100, Batches: 1, Events: int64(f.events)}}
		}},
		{"torn tail of the newest segment", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			// What a kill -9 during an append leaves: part of one frame
			// after the last whole one.
			f, end := segs[4][0], segs[4][3].off+segs[4][3].size
			frame := readAt(t, segmentFile(dir, 4), f.off, f.size)
			writeAt(t, segmentFile(dir, 4), end, frame[:f.size/2])
			return want{healthy: true, batches: 20, events: all, problem: &Problem{Severity: SevRecoverable,
				File: segmentFile(dir, 4), Offset: end, Length: f.size / 2, Batches: 1, Events: int64(f.events)}}
		}},
		{"torn tail inside a length prefix", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			end := segs[4][3].off + segs[4][3].size
			writeAt(t, segmentFile(dir, 4), end, []byte{0, 0})
			return want{healthy: true, batches: 20, events: all, problem: &Problem{Severity: SevRecoverable,
				File: segmentFile(dir, 4), Offset: end, Length: 2, Batches: 1}}
		}},
		{"newest segment shorter than its write position", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			// Whole frames written (and acknowledged to their source) are
			// gone: not what a process crash does.
			f := segs[4][3]
			if err := os.Truncate(segmentFile(dir, 4), f.off); err != nil {
				t.Fatal(err)
			}
			return want{batches: 19, events: all - int64(f.events), problem: &Problem{Severity: SevCorrupt,
				File: segmentFile(dir, 4), Offset: f.off, Length: f.size}}
		}},
		{"frame zeroed inside the newest segment", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			// Not a torn write: it is before the write position, and
			// whole frames follow.
			f := segs[4][2]
			frame := readAt(t, segmentFile(dir, 4), f.off, f.size)
			writeAt(t, segmentFile(dir, 4), f.off, append(frame[:100:100], make([]byte, f.size-100)...))
			lost := int64(f.events)
			return want{batches: 19, events: all - lost, problem: &Problem{Severity: SevCorrupt,
				File: segmentFile(dir, 4), Offset: f.off, Length: f.size, Batches: 1, Events: lost}}
		}},
		{"zeros after the newest segment's end", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			end := segs[4][3].off + segs[4][3].size
			writeAt(t, segmentFile(dir, 4), end, make([]byte, 500))
			return want{healthy: true, batches: 20, events: all, problem: &Problem{Severity: SevRecoverable,
				File: segmentFile(dir, 4), Offset: end, Length: 500, Batches: 1}}
		}},
		{"in-flight batch flipped", 2, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			jf := filepath.Join(dir, "inflight", fmt.Sprintf("%020d.batch", 2))
			flipByte(t, jf, 500)
			return want{batches: 18, events: all - 3, inFlight: 1, problem: &Problem{Severity: SevCorrupt,
				File: jf, Length: int64(segs[0][1].size - lenPrefix), Batches: 1, Events: 2}}
		}},
		{"unreviewed .bad segment", 0, 0, func(t *testing.T, dir string, segs [][]segFrame) want {
			seg := segmentFile(dir, 2)
			if err := os.Rename(seg, seg+".bad"); err != nil {
				t.Fatal(err)
			}
			var ev, size int64
			for _, f := range segs[2] {
				ev += int64(f.events)
				size += f.size
			}
			return want{batches: 16, events: all - ev, badFiles: 1, problem: &Problem{Severity: SevCorrupt,
				File: seg + ".bad", Length: size, Batches: 4, Events: ev}}
		}},
		{"over its cap", 0, 10_000, func(t *testing.T, dir string, segs [][]segFrame) want {
			return want{healthy: true, batches: 20, events: all, problem: &Problem{Severity: SevNote,
				File: dir, Length: 20*(frameOverhead+900) - 10_000}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, segs := verifyFixture(t, 0, tt.inflight)
			w := tt.damage(t, dir, segs)
			r, err := Verify(dir, "out", tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if r.Healthy != w.healthy || r.Batches != w.batches || r.Events != w.events || r.InFlight != w.inFlight || len(r.Bad) != w.badFiles {
				t.Errorf("healthy %v batches %d events %d in flight %d bad %d; want %v %d %d %d %d",
					r.Healthy, r.Batches, r.Events, r.InFlight, len(r.Bad), w.healthy, w.batches, w.events, w.inFlight, w.badFiles)
			}
			if w.problem == nil {
				if len(r.Problems) != 0 {
					t.Fatalf("problems %+v, want none", r.Problems)
				}
				return
			}
			if len(r.Problems) != 1 {
				t.Fatalf("problems %+v, want one like %+v", r.Problems, *w.problem)
			}
			got := r.Problems[0]
			got.What = ""
			if got != *w.problem {
				t.Fatalf("problem %+v (%s)\nwant    %+v", got, r.Problems[0].What, *w.problem)
			}
			if got.Severity == SevRecoverable && !strings.Contains(r.Problems[0].What, "torn write") {
				t.Errorf("recoverable problem says %q", r.Problems[0].What)
			}
		})
	}
}

// A healthy Verify counts what Inspect counts.
func TestVerifyAgreesWithInspect(t *testing.T) {
	dir, _ := verifyFixture(t, 5, 3)
	r, err := Verify(dir, "out", 0)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(dir, "out")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Healthy || r.Batches != in.Batches || r.Events != in.Events || r.Bytes != in.Bytes ||
		r.InFlight != in.InFlight || r.InFlightEvents != in.InFlightEvents || r.Batches != 12 || r.InFlight != 3 {
		t.Fatalf("verify %+v\ninspect %+v", r, in)
	}
}

func TestOfflineToolsRefuseAnOpenQueue(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, testOptions(t, dir))
	mustPut(t, q, payload("a", 100), 1)
	if _, err := Verify(dir, "out", 0); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Verify: %v, want ErrLocked naming %s", err, dir)
	}
	if _, err := Salvage(dir, "out", SalvageOptions{}); !errors.Is(err, ErrLocked) {
		t.Errorf("Salvage: %v, want ErrLocked", err)
	}
	if _, err := ClearBad(dir, "out"); !errors.Is(err, ErrLocked) {
		t.Errorf("ClearBad: %v, want ErrLocked", err)
	}
	closeQueue(t, q)
	if r, err := Verify(dir, "out", 0); err != nil || !r.Healthy || r.Batches != 1 {
		t.Fatalf("after Close: %+v, %v", r, err)
	}
}

func readAt(t *testing.T, path string, off, n int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQueueName(t *testing.T) {
	dir, _ := verifyFixture(t, 0, 0)
	if n, err := QueueName(dir); n != "out" || err != nil {
		t.Fatalf("QueueName = %q, %v", n, err)
	}
	if _, err := QueueName(t.TempDir()); err == nil {
		t.Fatal("QueueName of an empty dir: no error")
	}
}
