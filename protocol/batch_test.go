package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func build(recs ...string) []byte {
	var w Writer
	w.Reset(nil)
	for _, r := range recs {
		w.Append([]byte(r))
	}
	return w.Bytes()
}

func TestRoundTrip(t *testing.T) {
	recs := []string{"one", "", strings.Repeat("x", 300), "ünï\n\x00"}
	body := build(recs...)
	var got []string
	if err := Each(body, Limits{}, func(r []byte) error { got = append(got, string(r)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != strings.Join(recs, "|") {
		t.Fatalf("got %q", got)
	}
	z := Compress(nil, body)
	back, err := Decompress(nil, z, 1<<20)
	if err != nil || !bytes.Equal(back, body) {
		t.Fatalf("zstd round trip: %v", err)
	}
}

func TestBadBodies(t *testing.T) {
	good := build("abc", "defg")
	tests := []struct {
		name string
		body []byte
		lim  Limits
		want string
	}{
		{"empty", nil, Limits{}, "missing"},
		{"bad magic", []byte("PLS2\x01a"), Limits{}, "missing"},
		{"truncated record", good[:len(good)-1], Limits{}, "record 1 at byte 8: length 4 exceeds the 3 bytes left"},
		{"bad varint", append([]byte(Magic), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), Limits{}, "bad length prefix"},
		{"too many records", good, Limits{MaxRecords: 1}, "more than 1 records"},
		{"record too big", good, Limits{MaxRecordBytes: 3}, "record 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Count(tt.body, tt.lim)
			if !errors.Is(err, ErrBadBatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadBatch containing %q", err, tt.want)
			}
		})
	}
	if _, err := Decompress(nil, []byte("not zstd"), 1<<20); !errors.Is(err, ErrBadBatch) {
		t.Errorf("bad zstd: %v", err)
	}
	if _, err := Decompress(nil, Compress(nil, make([]byte, 1<<20)), 1<<10); !errors.Is(err, ErrBadBatch) {
		t.Errorf("zip bomb guard: %v", err)
	}
}

func FuzzEach(f *testing.F) {
	f.Add(build("a", "bb", ""))
	f.Add([]byte(Magic))
	f.Add([]byte("PLS1\x80"))
	f.Fuzz(func(t *testing.T, body []byte) {
		n := 0
		total := 0
		err := Each(body, Limits{MaxRecords: 1000}, func(r []byte) error { n++; total += len(r); return nil })
		if err != nil && !errors.Is(err, ErrBadBatch) {
			t.Fatalf("error not ErrBadBatch: %v", err)
		}
		if err == nil {
			// A valid body re-encodes to a valid body of the same records
			// (not always the same bytes: varints may be non-minimal).
			var w Writer
			w.Reset(nil)
			_ = Each(body, Limits{MaxRecords: 1000}, func(r []byte) error { w.Append(r); return nil })
			m, err := Count(w.Bytes(), Limits{})
			if err != nil || m != n || total > len(body) || w.Len() > len(body) {
				t.Fatalf("re-encoded: %d records (%v), want %d", m, err, n)
			}
		}
	})
}

func BenchmarkWriterAppend(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 240)
	var w Writer
	buf := make([]byte, 0, 2<<20)
	b.ReportAllocs()
	b.SetBytes(240 * 4096)
	for b.Loop() {
		w.Reset(buf)
		for range 4096 {
			w.Append(line)
		}
		buf = w.Bytes()
	}
}

func TestDecompressGrowsForHighRatios(t *testing.T) {
	body := make([]byte, 10<<20) // zeros: a ratio in the thousands
	z := Compress(nil, body)
	out, err := Decompress(nil, z, 16<<20)
	if err != nil || len(out) != len(body) {
		t.Fatalf("len %d err %v", len(out), err)
	}
	prefix := []byte("keep")
	out, err = Decompress(prefix, Compress(nil, []byte("tail")), 100)
	if err != nil || string(out) != "keeptail" {
		t.Fatalf("append: %q %v", out, err)
	}
}
