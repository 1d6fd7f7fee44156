package protocol

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// EncodingS2 is the Content-Encoding of a body compressed as one S2 block
// (github.com/klauspost/compress/s2; a superset of Snappy's block format).
// It costs about a third of zstd's CPU to compress and half to decompress,
// for about 1.7 times the bytes: the choice for links where CPU is
// scarcer than bandwidth.
const EncodingS2 = "s2"

// Compression names how an output compresses its pulse batches.
type Compression string

// Compressions.
const (
	CompressZstd Compression = "zstd" // the default
	CompressS2   Compression = "s2"
	CompressNone Compression = "none"
)

// Valid reports whether c is a known compression ("" means zstd).
func (c Compression) Valid() bool {
	switch c {
	case "", CompressZstd, CompressS2, CompressNone:
		return true
	}
	return false
}

// Compress appends src compressed with c to dst; with CompressNone it
// appends src as it is.
func (c Compression) Compress(dst, src []byte) []byte {
	switch c {
	case CompressS2:
		return CompressS2Block(dst, src)
	case CompressNone:
		return append(dst, src...)
	}
	return Compress(dst, src)
}

// CompressS2Block appends the S2 block compression of src to dst.
func CompressS2Block(dst, src []byte) []byte {
	n := s2.MaxEncodedLen(len(src))
	if n < 0 {
		// Too large for one block: cannot happen for batches, which are
		// bounded far below 4 GiB. Sent uncompressed rather than lost.
		return append(dst, src...)
	}
	dst = grow(dst, n)
	out := s2.Encode(dst[len(dst):len(dst)+n], src)
	return dst[:len(dst)+len(out)]
}

// DecompressS2 appends the decompression of one S2 block to dst, refusing
// output larger than limit bytes before decoding anything: the block
// states its decoded length up front. Errors wrap ErrBadBatch.
func DecompressS2(dst, src []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return dst, fmt.Errorf("%w: s2: %v", ErrBadBatch, err)
	}
	if n > limit {
		return dst, fmt.Errorf("%w: decompressed body exceeds %d bytes", ErrBadBatch, limit)
	}
	dst = grow(dst, n)
	out, err := s2.Decode(dst[len(dst):len(dst)+n], src)
	if err != nil {
		return dst, fmt.Errorf("%w: s2: %v", ErrBadBatch, err)
	}
	return dst[:len(dst)+len(out)], nil
}

// EncodingOf returns the Content-Encoding of a payload made by
// Compression.Compress: "zstd" for a zstd frame, "" for an uncompressed
// batch (which starts with Magic), else "s2". An S2 block of a batch
// starts with its length and a literal tag, never with either magic, so a
// stored payload tells its own encoding even after the output's
// configuration changed.
func EncodingOf(payload []byte) string {
	switch {
	case bytes.HasPrefix(payload, []byte(ZstdMagic)):
		return EncodingZstd
	case bytes.HasPrefix(payload, []byte(Magic)):
		return ""
	}
	return EncodingS2
}

// grow makes room for n more bytes after len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		b = append(make([]byte, 0, len(b)+n), b...)
	}
	return b
}
