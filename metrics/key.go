package metrics

import (
	"cmp"
	"slices"
	"strings"
)

// Dim is one dimension of a key: a name and its value (e.g. dyno=web).
type Dim struct {
	Name, Value string
}

// Key identifies a metric series: its name, kind, unit and dimensions.
// Dims are sorted by name (then value); Observe sorts them in place if they
// are not. A Key's strings must not change while the Key is in use.
type Key struct {
	Name string
	Unit string
	Kind Kind
	Dims []Dim
}

// MaxDims bounds the dimensions of one key, so that a malformed fragment or
// a runaway rule cannot build huge keys.
const MaxDims = 64

// FNV-1a, 64 bit. Spelled out rather than hash/fnv so that Hash neither
// allocates nor converts strings to bytes.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// The canonical form is
//
//	name|kind|unit|dim=value,dim=value
//
// with '\', '|', '=' and ',' inside name, unit and dims escaped by a
// backslash, so that distinct keys never share a canonical form. It is
// part of the contract of `balance: hash`: do not change it.
func needsEscape(c byte) bool {
	return c == '\\' || c == '|' || c == '=' || c == ','
}

// String returns the canonical form of k.
func (k Key) String() string {
	return string(k.AppendCanonical(nil))
}

// AppendCanonical appends the canonical form of k to dst.
func (k Key) AppendCanonical(dst []byte) []byte {
	dst = appendEscaped(dst, k.Name)
	dst = append(dst, '|')
	dst = append(dst, k.Kind.String()...)
	dst = append(dst, '|')
	dst = appendEscaped(dst, k.Unit)
	dst = append(dst, '|')
	for i, d := range k.Dims {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendEscaped(dst, d.Name)
		dst = append(dst, '=')
		dst = appendEscaped(dst, d.Value)
	}
	return dst
}

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return dst
}

// Hash returns the FNV-1a 64-bit hash of k's canonical form. It is stable
// across processes and versions: hash-balanced outputs route by it.
func (k Key) Hash() uint64 {
	h := uint64(fnvOffset64)
	h = hashEscaped(h, k.Name)
	h = hashByte(h, '|')
	h = hashRaw(h, k.Kind.String())
	h = hashByte(h, '|')
	h = hashEscaped(h, k.Unit)
	h = hashByte(h, '|')
	for i, d := range k.Dims {
		if i > 0 {
			h = hashByte(h, ',')
		}
		h = hashEscaped(h, d.Name)
		h = hashByte(h, '=')
		h = hashEscaped(h, d.Value)
	}
	return h
}

func hashByte(h uint64, c byte) uint64 {
	return (h ^ uint64(c)) * fnvPrime64
}

func hashRaw(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = hashByte(h, s[i])
	}
	return h
}

func hashEscaped(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			h = hashByte(h, '\\')
		}
		h = hashByte(h, s[i])
	}
	return h
}

// Equal reports whether k and o are the same series.
func (k Key) Equal(o Key) bool {
	return k.Name == o.Name && k.Kind == o.Kind && k.Unit == o.Unit &&
		slices.Equal(k.Dims, o.Dims)
}

// Compare orders keys by name, kind, unit, then dims.
func (k Key) Compare(o Key) int {
	if c := strings.Compare(k.Name, o.Name); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Kind, o.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(k.Unit, o.Unit); c != 0 {
		return c
	}
	return slices.CompareFunc(k.Dims, o.Dims, compareDim)
}

func compareDim(a, b Dim) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}

// SortDims sorts dims by name, then value, in place, without allocating.
func SortDims(dims []Dim) {
	if !dimsSorted(dims) {
		slices.SortFunc(dims, compareDim)
	}
}

func dimsSorted(dims []Dim) bool {
	for i := 1; i < len(dims); i++ {
		if compareDim(dims[i-1], dims[i]) > 0 {
			return false
		}
	}
	return true
}

// clone returns a copy of k that shares no slice with the caller's.
func (k Key) clone() Key {
	// Deep: a caller may hand Observe strings that alias its read buffer.
	k.Name, k.Unit = strings.Clone(k.Name), strings.Clone(k.Unit)
	k.Dims = slices.Clone(k.Dims)
	for i := range k.Dims {
		k.Dims[i].Name, k.Dims[i].Value = strings.Clone(k.Dims[i].Name), strings.Clone(k.Dims[i].Value)
	}
	return k
}
