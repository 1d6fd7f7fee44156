package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy of the quantile sketch: a quantile reported by a
// Measure's sketch is within 1% (relative) of the exact value at its rank.
const RelativeAccuracy = 0.01

// sketchMapping is shared, read-only, by every sketch: mapping equality is
// checked on merge, and one instance saves memory per key.
var sketchMapping = mustLogMapping(RelativeAccuracy)

// The range of bin indexes a valid sketch can hold; a decoded sketch outside
// it is garbage (and would make stores allocate for nothing).
var (
	minSketchIndex = sketchMapping.Index(sketchMapping.MinIndexableValue())
	maxSketchIndex = sketchMapping.Index(sketchMapping.MaxIndexableValue())
)

func mustLogMapping(acc float64) *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(acc)
	if err != nil {
		panic(err) // a constant argument: cannot happen
	}
	return m
}

// newSketch returns an empty DDSketch. Buffered paginated stores keep a few
// values as a plain list and only grow pages where values cluster, which is
// much smaller than dense stores for the many keys that see few values.
func newSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(sketchMapping, store.NewBufferedPaginatedStore(), store.NewBufferedPaginatedStore())
}

// The sketch encoding is this package's own, not the library's: it is
// versioned with the fragment, and decoding it can be fully checked.
//
//	uvarint zero count
//	positive store, negative store: uvarint bins, then per bin in
//	ascending index order: varint index delta, uvarint count (>= 1)
func appendSketch(dst []byte, s *ddsketch.DDSketch) []byte {
	if s == nil {
		return append(dst, 0, 0, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(s.GetZeroCount()))
	dst = appendStore(dst, s.GetPositiveValueStore())
	return appendStore(dst, s.GetNegativeValueStore())
}

func appendStore(dst []byte, st store.Store) []byte {
	n := 0
	st.ForEach(func(int, float64) bool { n++; return false })
	dst = binary.AppendUvarint(dst, uint64(n))
	prev := 0
	st.ForEach(func(index int, count float64) bool {
		dst = binary.AppendVarint(dst, int64(index-prev))
		dst = binary.AppendUvarint(dst, uint64(count))
		prev = index
		return false
	})
	return dst
}

var errSketch = errors.New("bad sketch")

// DecodeSketch decodes a snapshot's Sketch: a DDSketch of RelativeAccuracy,
// mergeable with others of its kind. Errors wrap ErrBadFragment.
func DecodeSketch(b []byte) (*ddsketch.DDSketch, error) {
	s, err := decodeSketch(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFragment, err)
	}
	return s, nil
}

// decodeSketch decodes what appendSketch wrote.
func decodeSketch(b []byte) (*ddsketch.DDSketch, error) {
	r := reader{b: b}
	zero := r.uvarint()
	s := newSketch()
	total := zero
	for _, st := range []store.Store{s.GetPositiveValueStore(), s.GetNegativeValueStore()} {
		n := r.uvarint()
		// Each bin takes at least two bytes: a bound before looping.
		if r.err == nil && n > uint64(r.left())/2 {
			return nil, fmt.Errorf("%w: %d bins in %d bytes", errSketch, n, r.left())
		}
		index := 0
		for i := uint64(0); i < n && r.err == nil; i++ {
			d := r.varint()
			c := r.uvarint()
			if r.err != nil {
				break
			}
			if i > 0 && d <= 0 {
				return nil, fmt.Errorf("%w: bin indexes not increasing", errSketch)
			}
			next := int64(index) + d
			if next < int64(minSketchIndex) || next > int64(maxSketchIndex) {
				return nil, fmt.Errorf("%w: bin index %d out of range", errSketch, next)
			}
			if c == 0 || c > 1<<53 || total+c < total {
				return nil, fmt.Errorf("%w: bin count %d", errSketch, c)
			}
			index = int(next)
			total += c
			st.AddWithCount(index, float64(c))
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", errSketch, r.err)
	}
	if r.left() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errSketch, r.left())
	}
	if zero > 1<<53 {
		return nil, fmt.Errorf("%w: zero count %d", errSketch, zero)
	}
	if zero > 0 {
		if err := s.AddWithCount(0, float64(zero)); err != nil {
			return nil, fmt.Errorf("%w: %w", errSketch, err)
		}
	}
	return s, nil
}
