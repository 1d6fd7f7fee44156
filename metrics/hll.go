package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/axiomhq/hyperloglog"
)

// hllPrecision is fixed: sketches of different precision do not merge.
// 2^14 registers give about 0.8% standard error; small sets stay in the
// library's sparse form, which is far smaller than the 16 KiB dense one.
const hllPrecision = 14

func newHLL() *hyperloglog.Sketch { return hyperloglog.New14() }

// appendHLL appends the library's binary form (version 2).
func appendHLL(dst []byte, h *hyperloglog.Sketch) []byte {
	if h == nil {
		h = newHLL()
	}
	// Estimate folds the unordered temporary set of a sparse sketch into its
	// sorted list, so that equal sketches encode to equal bytes.
	h.Estimate()
	out, err := h.AppendBinary(dst)
	if err != nil {
		return dst // the library never fails here; keep dst intact if it does
	}
	return out
}

var errHLL = errors.New("bad hyperloglog")

// DecodeHLL decodes a snapshot's HLL: a HyperLogLog of precision 14,
// mergeable with others of its kind. Errors wrap ErrBadFragment.
func DecodeHLL(b []byte) (*hyperloglog.Sketch, error) {
	h, err := decodeHLL(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFragment, err)
	}
	return h, nil
}

// decodeHLL checks the library's binary form completely before handing it
// over: the library's own decoder trusts lengths and would panic or
// allocate gigabytes on garbage.
func decodeHLL(b []byte) (*hyperloglog.Sketch, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes", errHLL, len(b))
	}
	if b[0] != 2 || b[1] != hllPrecision || b[2] != 0 {
		return nil, fmt.Errorf("%w: header % x", errHLL, b[:3])
	}
	switch b[3] {
	case 0: // dense: 2^p registers
		if sz := binary.BigEndian.Uint32(b[4:8]); sz != 1<<hllPrecision || len(b) != 8+int(sz) {
			return nil, fmt.Errorf("%w: dense size %d in %d bytes", errHLL, sz, len(b))
		}
		b = append([]byte(nil), b...) // the library keeps the slice as its registers
	case 1: // sparse: temporary set of uint32, then a delta-varint list
		tmp := uint64(binary.BigEndian.Uint32(b[4:8]))
		if tmp > uint64(len(b)-8)/4 {
			return nil, fmt.Errorf("%w: temporary set of %d in %d bytes", errHLL, tmp, len(b))
		}
		if err := checkSparseList(b[8+4*tmp:]); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: form %d", errHLL, b[3])
	}
	h := new(hyperloglog.Sketch)
	if err := h.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %w", errHLL, err)
	}
	return h, nil
}

// checkSparseList validates count, last value, size and every varint of
// the library's compressed list: strictly increasing uint32 values, the
// count and last value matching.
func checkSparseList(b []byte) error {
	if len(b) < 12 {
		return fmt.Errorf("%w: sparse list header in %d bytes", errHLL, len(b))
	}
	count := binary.BigEndian.Uint32(b[0:4])
	last := binary.BigEndian.Uint32(b[4:8])
	sz := binary.BigEndian.Uint32(b[8:12])
	list := b[12:]
	if uint64(len(list)) != uint64(sz) {
		return fmt.Errorf("%w: sparse list of %d bytes, %d present", errHLL, sz, len(list))
	}
	var x uint64
	var n uint32
	for i := 0; i < len(list); {
		var d uint64
		j := 0
		for ; ; j++ {
			if i+j >= len(list) || j == 5 {
				return fmt.Errorf("%w: sparse list varint at %d", errHLL, i)
			}
			c := list[i+j]
			d |= uint64(c&0x7f) << (7 * j)
			if c&0x80 == 0 {
				break
			}
		}
		i += j + 1
		if n > 0 && d == 0 {
			return fmt.Errorf("%w: sparse list not increasing", errHLL)
		}
		x += d
		n++
		if x > 1<<32-1 || n > 1<<25 {
			return fmt.Errorf("%w: sparse list value out of range", errHLL)
		}
	}
	if n != count || x != uint64(last) {
		return fmt.Errorf("%w: sparse list count %d last %d, header says %d and %d", errHLL, n, x, count, last)
	}
	return nil
}
