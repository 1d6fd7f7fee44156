package metrics

import (
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"
)

func TestKeyCanonical(t *testing.T) {
	tests := []struct {
		key  Key
		want string
		hash uint64
	}{
		{Key{Name: "router.service", Kind: Measure, Unit: "ms", Dims: []Dim{{"dyno", "web"}, {"status", "2xx"}}},
			"router.service|measure|ms|dyno=web,status=2xx", 0},
		{Key{Name: "errors", Kind: Counter}, "errors|counter||", 0},
		{Key{Name: "a|b", Kind: Sample, Unit: "x=y", Dims: []Dim{{"k,1", `v\2`}}},
			`a\|b|sample|x\=y|k\,1=v\\2`, 0},
		{Key{Name: "users", Kind: Unique, Dims: []Dim{{"app", "ünï"}}}, "users|unique||app=ünï", 0},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		h := fnv.New64a()
		h.Write([]byte(tt.want))
		if got := tt.key.Hash(); got != h.Sum64() {
			t.Errorf("Hash(%q) = %#x, want FNV-1a %#x", tt.want, got, h.Sum64())
		}
	}
}

// TestKeyHashGolden pins hashes: hash-balanced outputs route by them, so a
// change here moves every key to another merger.
func TestKeyHashGolden(t *testing.T) {
	tests := []struct {
		key  Key
		want uint64
	}{
		{Key{Name: "router.service", Kind: Measure, Unit: "ms", Dims: []Dim{{"dyno", "web"}, {"status", "2xx"}}}, 0xbce69dc127de3ba3},
		{Key{Name: "errors", Kind: Counter}, 0xa0ca6452e7c30ace},
	}
	for _, tt := range tests {
		if got := tt.key.Hash(); got != tt.want {
			t.Errorf("%s: Hash() = %#x, want %#x", tt.key, got, tt.want)
		}
	}
}

func TestKeyHashMatchesCanonicalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`ab|=,\é`)
	str := func() string {
		b := make([]byte, rng.IntN(6))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	seen := map[string]Key{}
	for range 5000 {
		k := Key{Name: str(), Unit: str(), Kind: Kind(1 + rng.IntN(4))}
		for range rng.IntN(3) {
			k.Dims = append(k.Dims, Dim{str(), str()})
		}
		SortDims(k.Dims)
		c := k.String()
		h := fnv.New64a()
		h.Write([]byte(c))
		if k.Hash() != h.Sum64() {
			t.Fatalf("Hash(%q) differs from FNV-1a of the canonical form", c)
		}
		if prev, ok := seen[c]; ok && !prev.Equal(k) {
			t.Fatalf("distinct keys %#v and %#v share canonical form %q", prev, k, c)
		}
		seen[c] = k
	}
}

func TestSortDims(t *testing.T) {
	d := []Dim{{"b", "1"}, {"a", "2"}, {"a", "1"}}
	SortDims(d)
	want := []Dim{{"a", "1"}, {"a", "2"}, {"b", "1"}}
	for i := range want {
		if d[i] != want[i] {
			t.Fatalf("SortDims = %v, want %v", d, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { SortDims(d) }); n != 0 {
		t.Errorf("SortDims of sorted dims allocates %v", n)
	}
	k := Key{Name: "x", Kind: Counter, Dims: d}
	if n := testing.AllocsPerRun(100, func() { _ = k.Hash() }); n != 0 {
		t.Errorf("Hash allocates %v", n)
	}
}

func TestWindowAt(t *testing.T) {
	tests := []struct {
		at   time.Time
		l    time.Duration
		want time.Time
	}{
		{time.Date(2024, 5, 1, 10, 0, 7, 123, time.UTC), 10 * time.Second, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{time.Date(2024, 5, 1, 10, 0, 10, 0, time.UTC), 10 * time.Second, time.Date(2024, 5, 1, 10, 0, 10, 0, time.UTC)},
		{time.Date(2024, 5, 1, 12, 59, 59, 0, time.FixedZone("X", 3600)), time.Minute, time.Date(2024, 5, 1, 11, 59, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		w := WindowAt(tt.at, tt.l)
		if !w.Start.Equal(tt.want) || w.Start.Location() != time.UTC || w.Len != tt.l {
			t.Errorf("WindowAt(%s, %s) = %s, want start %s", tt.at, tt.l, w, tt.want)
		}
		if !w.aligned() {
			t.Errorf("%s not aligned", w)
		}
		if w.End().Sub(w.Start) != tt.l {
			t.Errorf("End - Start = %s", w.End().Sub(w.Start))
		}
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{Counter, Measure, Sample, Unique} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if k, err := ParseKind("count"); err != nil || k != Counter {
		t.Errorf("ParseKind(count) = %v, %v", k, err)
	}
	if _, err := ParseKind("gauge"); err == nil {
		t.Error("ParseKind(gauge) succeeded")
	}
}
