package protocol

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Both are safe for concurrent use through EncodeAll/DecodeAll, and costly
// to build: one of each per process. Frames carry no content checksum
// (xxhash64 of the whole batch, 2% of the compression and of the
// decompression): a batch is covered by its buffer frame's CRC32C on disk
// and by TCP (and TLS) on the wire, and a garbled frame fails to decode
// anyway. Frames that carry one, from older senders, are still verified.
var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecodeAllCapLimit(true))
)

// Compress appends the zstd compression of src to dst.
func Compress(dst, src []byte) []byte {
	return encoder.EncodeAll(src, dst)
}

// Decompress appends the decompression of src to dst, refusing output
// larger than limit bytes (a zip bomb guard: memory stays bounded by limit).
// Errors wrap ErrBadBatch.
func Decompress(dst, src []byte, limit int) ([]byte, error) {
	// The decoder stops at cap(dst). Start from a room a typical ratio
	// fills, and grow it (re-decoding) only for bodies that compress better.
	room := min(limit+1, max(8*len(src)+64<<10, cap(dst)-len(dst)))
	for {
		buf := dst
		if cap(buf)-len(buf) < room {
			buf = append(make([]byte, 0, len(dst)+room), dst...)
		}
		out, err := decoder.DecodeAll(src, buf[:len(dst):len(dst)+room])
		switch {
		case errors.Is(err, zstd.ErrDecoderSizeExceeded) && room <= limit:
			room = min(limit+1, room*4)
			continue
		case errors.Is(err, zstd.ErrDecoderSizeExceeded) || err == nil && len(out)-len(dst) > limit:
			return dst, fmt.Errorf("%w: decompressed body exceeds %d bytes", ErrBadBatch, limit)
		case err != nil:
			return dst, fmt.Errorf("%w: zstd: %v", ErrBadBatch, err)
		}
		return out, nil
	}
}
