package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

var errShort = errors.New("truncated")

// reader decodes from a byte slice, remembering the first error so that
// callers check once instead of after every field. It never panics: reads
// past the end return zero values and set err.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.left() < 1 {
		r.fail(fmt.Errorf("%w at byte %d", errShort, r.off))
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail(fmt.Errorf("bad uvarint at byte %d", r.off))
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail(fmt.Errorf("bad varint at byte %d", r.off))
		return 0
	}
	r.off += n
	return v
}

// bytes returns the next n bytes, aliasing the input.
func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.left()) {
		r.fail(fmt.Errorf("%w: %d bytes wanted at byte %d, %d left", errShort, n, r.off, r.left()))
		return nil
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p
}

// lenBytes reads a uvarint length and that many bytes.
func (r *reader) lenBytes() []byte { return r.bytes(r.uvarint()) }

func (r *reader) string() string { return string(r.lenBytes()) }

func (r *reader) uint64() uint64 {
	p := r.bytes(8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

func (r *reader) float64() float64 { return math.Float64frombits(r.uint64()) }

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendFloat64(dst []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
}
