package protocol

import (
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Both are safe for concurrent use through EncodeAll/DecodeAll, and costly
// to build: one of each per process.
var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
)

// Compress appends the zstd compression of src to dst.
func Compress(dst, src []byte) []byte {
	return encoder.EncodeAll(src, dst)
}

// Decompress appends the decompression of src to dst, refusing output
// larger than max bytes (a zip bomb guard). Errors wrap ErrBadBatch.
func Decompress(dst, src []byte, max int) ([]byte, error) {
	out, err := decoder.DecodeAll(src, dst)
	if err != nil {
		return dst, fmt.Errorf("%w: zstd: %v", ErrBadBatch, err)
	}
	if len(out)-len(dst) > max {
		return dst, fmt.Errorf("%w: decompressed body exceeds %d bytes", ErrBadBatch, max)
	}
	return out, nil
}
