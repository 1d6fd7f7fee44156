package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleFragments returns one valid fragment of each kind, and edge cases.
func sampleFragments() []*Fragment {
	w := WindowAt(t0, 10*time.Second)
	mk := func(k Key, values ...float64) *Fragment {
		f := newFragment(k, w)
		for i, v := range values {
			f.observe(v, t0.Add(time.Duration(i)*time.Millisecond), []byte(fmt.Sprint("user-", i%7)))
		}
		f.Agent, f.ID = "host-1", uint64(len(values))*1000+7
		return f
	}
	many := make([]float64, 500)
	for i := range many {
		many[i] = float64(i%97) - 20 + 0.25
	}
	return []*Fragment{
		mk(key("router.service", Measure, "dyno", "web", "status", "2xx"), 12.5, 3, 0, -4, 1e6, 1e-300),
		mk(key("router.service", Measure), many...),
		mk(key("errors", Counter, "app", "a|b=c"), 1, 2, 5),
		mk(key("mem", Sample), 100, 250, 90),
		mk(key("users", Unique, "app", "x"), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
		mk(Key{Name: "", Kind: Counter}, 0),
	}
}

func encodeSketchBytes(f *Fragment) []byte {
	switch f.Kind {
	case Measure:
		return appendSketch(nil, f.Sketch)
	case Unique:
		return appendHLL(nil, f.HLL)
	}
	return nil
}

// sameFragment compares everything, sketches by their encoding.
func sameFragment(a, b *Fragment) error {
	switch {
	case !a.Key.Equal(b.Key):
		return fmt.Errorf("key %s != %s", a.Key, b.Key)
	case !a.Start.Equal(b.Start) || a.Len != b.Len:
		return fmt.Errorf("window %s != %s", a.Window, b.Window)
	case a.Count != b.Count || a.Sum != b.Sum || a.SumSq != b.SumSq || a.Min != b.Min || a.Max != b.Max:
		return fmt.Errorf("moments %d %v %v %v %v != %d %v %v %v %v", a.Count, a.Sum, a.SumSq, a.Min, a.Max, b.Count, b.Sum, b.SumSq, b.Min, b.Max)
	case a.Agent != b.Agent || a.ID != b.ID:
		return fmt.Errorf("origin %s/%d != %s/%d", a.Agent, a.ID, b.Agent, b.ID)
	case a.Kind == Sample && (a.Last != b.Last || !a.LastTime.Equal(b.LastTime)):
		return fmt.Errorf("last %v@%s != %v@%s", a.Last, a.LastTime, b.Last, b.LastTime)
	case !bytes.Equal(encodeSketchBytes(a), encodeSketchBytes(b)):
		return fmt.Errorf("sketches differ")
	}
	return nil
}

func TestFragmentRoundTrip(t *testing.T) {
	for _, f := range sampleFragments() {
		t.Run(f.Key.String(), func(t *testing.T) {
			b := AppendFragment([]byte("prefix"), f)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatal("AppendFragment overwrote dst")
			}
			got, err := DecodeFragment(b[len("prefix"):])
			if err != nil {
				t.Fatal(err)
			}
			if err := sameFragment(f, got); err != nil {
				t.Fatal(err)
			}
			if again := AppendFragment(nil, got); !bytes.Equal(again, b[len("prefix"):]) {
				t.Fatal("re-encoding differs")
			}
			if f.Kind == Unique && got.HLL.Estimate() != 7 {
				t.Errorf("unique estimate %d, want 7", got.HLL.Estimate())
			}
			if f.Kind == Measure {
				for _, q := range []float64{0, 0.5, 0.99, 1} {
					x, _ := f.Sketch.GetValueAtQuantile(q)
					y, _ := got.Sketch.GetValueAtQuantile(q)
					if x != y {
						t.Errorf("q%v: %v != %v", q, x, y)
					}
				}
			}
			// Every strict prefix is an error, never a panic.
			enc := b[len("prefix"):]
			for i := range len(enc) {
				if _, err := DecodeFragment(enc[:i]); !errors.Is(err, ErrBadFragment) {
					t.Fatalf("prefix of %d bytes: err = %v", i, err)
				}
			}
		})
	}
}

func TestDecodeFragmentRejects(t *testing.T) {
	good := sampleFragments()[0]
	enc := func(mut func(f *Fragment)) []byte {
		c := good.clone()
		mut(c)
		return AppendFragment(nil, c)
	}
	valid := AppendFragment(nil, good)
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"version", append([]byte{2}, valid[1:]...), "version 2"},
		{"kind", append([]byte{1, 9}, valid[2:]...), "kind 9"},
		{"trailing", append(append([]byte{}, valid...), 0), "trailing"},
		{"unaligned", enc(func(f *Fragment) { f.Start = f.Start.Add(time.Second) }), "not aligned"},
		{"zero length", enc(func(f *Fragment) { f.Len = 0 }), "window length 0"},
		{"unsorted dims", enc(func(f *Fragment) { f.Dims = []Dim{{"z", "1"}, {"a", "2"}} }), "not sorted"},
		{"count mismatch", enc(func(f *Fragment) { f.Count++ }), "sketch holds"},
		{"nan sum", enc(func(f *Fragment) { f.Sum = math.NaN() }), "non-finite"},
		{"min above max", enc(func(f *Fragment) { f.Min, f.Max = 2, 1 }), "inconsistent"},
		{"negative sumsq", enc(func(f *Fragment) { f.SumSq = -1 }), "inconsistent"},
		{"too many dims", enc(func(f *Fragment) {
			f.Dims = nil
			for i := range MaxDims + 1 {
				f.Dims = append(f.Dims, Dim{fmt.Sprintf("d%03d", i), ""})
			}
		}), "dims"},
		{"huge string length", append([]byte{1, 1}, binary.AppendUvarint(nil, 1<<62)...), "bytes wanted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFragment(tt.b)
			if !errors.Is(err, ErrBadFragment) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadFragment containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeHLLRejects(t *testing.T) {
	h := newHLL()
	h.Insert([]byte("a"))
	h.Insert([]byte("b"))
	good := appendHLL(nil, h)
	if _, err := decodeHLL(good); err != nil {
		t.Fatal(err)
	}
	dense := newHLL()
	for i := range 20000 {
		dense.Insert([]byte(fmt.Sprint(i)))
	}
	denseBytes := appendHLL(nil, dense)
	if denseBytes[3] != 0 {
		t.Fatal("expected a dense sketch")
	}
	if d, err := decodeHLL(denseBytes); err != nil || d.Estimate() != dense.Estimate() {
		t.Fatalf("dense round trip: %v", err)
	}
	bad := func(mut func(b []byte) []byte) []byte { return mut(append([]byte(nil), good...)) }
	tests := map[string][]byte{
		"short":           good[:7],
		"precision":       bad(func(b []byte) []byte { b[1] = 16; return b }),
		"form":            bad(func(b []byte) []byte { b[3] = 2; return b }),
		"tmp set size":    bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], 1<<30); return b }),
		"list size":       bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[16:], 1<<31); return b }),
		"list count":      bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 5); return b }),
		"list last":       bad(func(b []byte) []byte { binary.BigEndian.PutUint32(b[12:], 5); return b }),
		"open varint":     bad(func(b []byte) []byte { b[len(b)-1] |= 0x80; return b }),
		"dense truncated": denseBytes[:len(denseBytes)-1],
	}
	for name, b := range tests {
		if _, err := decodeHLL(b); !errors.Is(err, errHLL) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzDecodeFragment(f *testing.F) {
	for _, fr := range sampleFragments() {
		f.Add(AppendFragment(nil, fr))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFragment(b)
		if err != nil {
			if !errors.Is(err, ErrBadFragment) {
				t.Fatalf("error does not wrap ErrBadFragment: %v", err)
			}
			return
		}
		// Whatever decodes must survive the trip again, merge, and snapshot.
		again, err := DecodeFragment(AppendFragment(nil, fr))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if err := sameFragment(fr, again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		m := NewMerger(MergeOptions{Logger: quietLogger()})
		m.Add(fr)
		m.Add(again)
		for _, s := range m.Snapshots(time.Unix(0, 0), true) {
			_ = s.AppendJSON(nil)
		}
	})
}

// TestFuzzSeeds holds testdata/fuzz/FuzzDecodeFragment to the encoding of
// sampleFragments, so a change of the format cannot leave the fuzz corpus
// seeded with stale bytes; PULSE_WRITE_FUZZ_SEEDS=1 rewrites the files.
func TestFuzzSeeds(t *testing.T) {
	write := os.Getenv("PULSE_WRITE_FUZZ_SEEDS") != ""
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFragment")
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, fr := range sampleFragments() {
		path := filepath.Join(dir, fmt.Sprintf("seed-%s-%d", fr.Kind, i))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", AppendFragment(nil, fr))
		if write {
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Errorf("%s is not the encoding of sample %d (%v): rerun with PULSE_WRITE_FUZZ_SEEDS=1", path, i, err)
		}
	}
}

func TestFragmentRoundTripDenseHLL(t *testing.T) {
	f := newFragment(key("users", Unique), WindowAt(t0, time.Minute))
	for i := range 30000 {
		f.observe(1, t0, []byte(fmt.Sprint("user-", i)))
	}
	f.Agent, f.ID = "a", 1
	b := AppendFragment(nil, f)
	if len(b) < 1<<hllPrecision {
		t.Fatalf("%d bytes: expected a dense sketch", len(b))
	}
	got, err := DecodeFragment(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameFragment(f, got); err != nil {
		t.Fatal(err)
	}
	if e := got.HLL.Estimate(); e < 29000 || e > 31000 {
		t.Fatalf("estimate %d of 30000", e)
	}
}
