package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Every compression round-trips, and a stored payload names its own
// encoding, for bodies of every size and compressibility.
func TestCompressionsRoundTripAndNameThemselves(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var w Writer
		w.Reset(nil)
		for range rng.IntN(50) {
			rec := make([]byte, rng.IntN(300))
			for j := range rec {
				if i%2 == 0 {
					rec[j] = byte(rng.IntN(256))
				} else {
					rec[j] = "ab=1 "[rng.IntN(5)]
				}
			}
			w.Append(rec)
		}
		body := w.Bytes()
		for _, c := range []struct {
			c    Compression
			want string
		}{{"", EncodingZstd}, {CompressZstd, EncodingZstd}, {CompressS2, EncodingS2}, {CompressNone, ""}} {
			p := c.c.Compress([]byte("keep"), body)
			if string(p[:4]) != "keep" {
				t.Fatalf("%q: dst prefix lost", c.c)
			}
			p = p[4:]
			if got := EncodingOf(p); got != c.want {
				t.Fatalf("body %d, %q: EncodingOf = %q, want %q", i, c.c, got, c.want)
			}
			var out []byte
			var err error
			switch c.want {
			case EncodingZstd:
				out, err = Decompress(nil, p, 1<<20)
			case EncodingS2:
				out, err = DecompressS2(nil, p, 1<<20)
			default:
				out = p
			}
			if err != nil || !bytes.Equal(out, body) {
				t.Fatalf("body %d, %q: round trip: err %v, equal %v", i, c.c, err, bytes.Equal(out, body))
			}
		}
	}
}

func TestDecompressS2Refuses(t *testing.T) {
	big := CompressS2Block(nil, bytes.Repeat([]byte("x"), 1<<20))
	tests := []struct {
		name  string
		src   []byte
		limit int
		want  string
	}{
		{"over the limit", big, 1 << 10, "exceeds 1024 bytes"},
		{"empty", nil, 1 << 20, "s2:"},
		{"truncated", big[:len(big)/2], 1 << 20, "s2:"},
		{"garbage", []byte{0x05, 0xff, 0xff, 0xff}, 1 << 20, "s2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecompressS2(nil, tt.src, tt.limit)
			if !errors.Is(err, ErrBadBatch) || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("err = %v, want ErrBadBatch with %q", err, tt.want)
			}
		})
	}
}

func FuzzDecompressS2(f *testing.F) {
	f.Add(CompressS2Block(nil, build("a", "bb", "ccc")))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x10})
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := DecompressS2(nil, src, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrBadBatch) {
				t.Fatalf("error %v does not wrap ErrBadBatch", err)
			}
			return
		}
		if len(out) > 1<<16 {
			t.Fatalf("%d bytes past the limit", len(out))
		}
	})
}

func BenchmarkCompress(b *testing.B) {
	var w Writer
	w.Reset(nil)
	rng := rand.New(rand.NewPCG(3, 4))
	for w.Len() < 1<<20 {
		w.Append(fmt.Appendf(nil, "at=info method=GET path=/apps/%d/dynos host=app%d.example.com request_id=%016x fwd=10.0.%d.%d dyno=web.%d connect=%dms service=%dms status=%d bytes=%d protocol=https",
			rng.IntN(1000), rng.IntN(50), rng.Uint64(), rng.IntN(256), rng.IntN(256), rng.IntN(20), rng.IntN(5), rng.IntN(900), []int{200, 200, 200, 404, 503}[rng.IntN(5)], rng.IntN(50000)))
	}
	body := w.Bytes()
	for _, c := range []Compression{CompressZstd, CompressS2} {
		b.Run(string(c), func(b *testing.B) {
			var out []byte
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				out = c.Compress(out[:0], body)
			}
			b.ReportMetric(float64(len(out))/float64(len(body)), "ratio")
		})
	}
}
