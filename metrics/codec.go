package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// FragmentVersion is the first byte of every encoded fragment.
const FragmentVersion = 1

// ErrBadFragment marks bytes that are not a valid fragment. A receiver
// counts and sets such records aside; it never retries them.
var ErrBadFragment = errors.New("bad fragment")

// AppendFragment appends the binary form of f to dst: one record of the
// fragments stream. It reorganizes f's sketches internally (sorting
// buffers), so it must not run concurrently with other use of f.
//
//	byte    version (1)
//	byte    kind
//	string  name, unit (uvarint length + bytes)
//	uvarint dims, then name and value of each (sorted)
//	varint  window start, Unix ns;  uvarint window length, ns
//	string  agent;  uvarint id;  uvarint count
//	float64 sum, sumsq, min, max (little endian)
//	measure: uvarint length + sketch;  unique: uvarint length + hyperloglog
//	sample:  float64 last, varint last time (Unix ns)
func AppendFragment(dst []byte, f *Fragment) []byte {
	dst = append(dst, FragmentVersion, byte(f.Kind))
	dst = appendString(dst, f.Name)
	dst = appendString(dst, f.Unit)
	dst = binary.AppendUvarint(dst, uint64(len(f.Dims)))
	for _, d := range f.Dims {
		dst = appendString(dst, d.Name)
		dst = appendString(dst, d.Value)
	}
	dst = binary.AppendVarint(dst, f.Start.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(f.Len))
	dst = appendString(dst, f.Agent)
	dst = binary.AppendUvarint(dst, f.ID)
	dst = appendMoments(dst, f)
	return appendKindPart(dst, f)
}

func appendMoments(dst []byte, f *Fragment) []byte {
	dst = binary.AppendUvarint(dst, f.Count)
	dst = appendFloat64(dst, f.Sum)
	dst = appendFloat64(dst, f.SumSq)
	dst = appendFloat64(dst, f.Min)
	return appendFloat64(dst, f.Max)
}

// appendKindPart writes the kind-specific tail. The sketches go behind a
// length so that a reader can skip or bound them.
func appendKindPart(dst []byte, f *Fragment) []byte {
	switch f.Kind {
	case Measure:
		return appendLenPrefixed(dst, func(b []byte) []byte { return appendSketch(b, f.Sketch) })
	case Unique:
		return appendLenPrefixed(dst, func(b []byte) []byte { return appendHLL(b, f.HLL) })
	case Sample:
		dst = appendFloat64(dst, f.Last)
		return binary.AppendVarint(dst, f.LastTime.UnixNano())
	}
	return dst
}

// appendLenPrefixed writes body behind its uvarint length without a
// temporary buffer: reserve one byte, write, and shift if the length needs
// more.
func appendLenPrefixed(dst []byte, body func([]byte) []byte) []byte {
	at := len(dst)
	dst = body(append(dst, 0))
	n := uint64(len(dst) - at - 1)
	var tmp [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(tmp[:], n)
	if l > 1 {
		dst = append(dst, tmp[:l-1]...)
		copy(dst[at+l:], dst[at+1:at+1+int(n)])
	}
	copy(dst[at:], tmp[:l])
	return dst
}

// DecodeFragment decodes one record written by AppendFragment. It checks
// every length and invariant and never panics; errors wrap ErrBadFragment.
// The fragment does not alias b.
func DecodeFragment(b []byte) (*Fragment, error) {
	f, err := decodeFragment(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFragment, err)
	}
	return f, nil
}

func decodeFragment(b []byte) (*Fragment, error) {
	r := reader{b: b}
	if v := r.byte(); r.err == nil && v != FragmentVersion {
		return nil, fmt.Errorf("version %d, want %d", v, FragmentVersion)
	}
	f := &Fragment{}
	f.Kind = Kind(r.byte())
	if r.err == nil && !f.Kind.Valid() {
		return nil, fmt.Errorf("kind %d", f.Kind)
	}
	f.Name = r.string()
	f.Unit = r.string()
	if err := decodeDims(&r, f); err != nil {
		return nil, err
	}
	start := r.varint()
	l := r.uvarint()
	if r.err == nil && (l == 0 || l > math.MaxInt64) {
		return nil, fmt.Errorf("window length %d", l)
	}
	f.Window = Window{Start: time.Unix(0, start).UTC(), Len: time.Duration(l)}
	f.Agent = r.string()
	f.ID = r.uvarint()
	if err := decodeMoments(&r, f); err != nil {
		return nil, err
	}
	if err := decodeKindPart(&r, f); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%d trailing bytes", r.left())
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

func decodeDims(r *reader, f *Fragment) error {
	n := r.uvarint()
	if r.err != nil {
		return r.err
	}
	if n > MaxDims {
		return fmt.Errorf("%d dims, at most %d", n, MaxDims)
	}
	if n == 0 {
		return nil
	}
	f.Dims = make([]Dim, n)
	for i := range f.Dims {
		f.Dims[i] = Dim{Name: r.string(), Value: r.string()}
	}
	return r.err
}

func decodeMoments(r *reader, f *Fragment) error {
	f.Count = r.uvarint()
	f.Sum = r.float64()
	f.SumSq = r.float64()
	f.Min = r.float64()
	f.Max = r.float64()
	if r.err != nil {
		return r.err
	}
	return nil
}

func decodeKindPart(r *reader, f *Fragment) error {
	switch f.Kind {
	case Measure:
		p := r.lenBytes()
		if r.err != nil {
			return r.err
		}
		s, err := decodeSketch(p)
		if err != nil {
			return err
		}
		f.Sketch = s
	case Unique:
		p := r.lenBytes()
		if r.err != nil {
			return r.err
		}
		h, err := decodeHLL(p)
		if err != nil {
			return err
		}
		f.HLL = h
	case Sample:
		f.Last = r.float64()
		f.LastTime = time.Unix(0, r.varint()).UTC()
	}
	return nil
}
