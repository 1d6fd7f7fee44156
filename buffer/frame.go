package buffer

import (
	"encoding/binary"
	"hash/crc32"
)

// A frame is one diskqueue message:
//
//	[crc32c u32][seq u64][events u32][key u64][payload]
//
// big-endian like diskqueue's own length prefix. The CRC (Castagnoli) covers
// everything after it, so a garbled header is caught as surely as a garbled
// payload. seq is the batch id: unique and increasing in queue order. key
// is the caller's routing key (the hash bucket of a hash-balanced output).
const (
	headerSize = 24
	// lenPrefix is diskqueue's per-message length prefix.
	lenPrefix = 4
	// frameOverhead is what a payload costs on top of its length in a segment.
	frameOverhead = lenPrefix + headerSize

	// maxEvents bounds the events of one batch. Put rejects more, so a header
	// claiming more is garbage and its events are not counted.
	maxEvents = 1 << 28
	// maxSeq bounds plausible sequence numbers: a garbled header must not
	// push the next seq towards overflow.
	maxSeq = 1 << 62

	minMsgSize = headerSize
	maxMsgSize = headerSize + MaxPayloadLimit
)

// castagnoli is immutable after initialisation (crc32 caches it anyway).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type header struct {
	crc    uint32
	seq    uint64
	events uint32
	key    uint64
}

// putHeader fills frame[:headerSize] for seq and events; the payload must
// already be in frame[headerSize:].
func putHeader(frame []byte, seq uint64, events uint32, key uint64) {
	binary.BigEndian.PutUint64(frame[4:12], seq)
	binary.BigEndian.PutUint32(frame[12:16], events)
	binary.BigEndian.PutUint64(frame[16:24], key)
	binary.BigEndian.PutUint32(frame[0:4], crc32.Checksum(frame[4:], castagnoli))
}

// parseHeader reads a header without checking it; b must hold headerSize bytes.
func parseHeader(b []byte) header {
	return header{
		crc:    binary.BigEndian.Uint32(b[0:4]),
		seq:    binary.BigEndian.Uint64(b[4:12]),
		events: binary.BigEndian.Uint32(b[12:16]),
		key:    binary.BigEndian.Uint64(b[16:24]),
	}
}

// checkFrame parses frame and verifies its CRC.
func checkFrame(frame []byte) (header, bool) {
	if len(frame) < headerSize {
		return header{}, false
	}
	h := parseHeader(frame)
	return h, h.crc == crc32.Checksum(frame[4:], castagnoli)
}

// eventsOf is the number of events a header is taken to hold. An implausible
// count (only possible in a garbled header) is taken as 0, consistently when
// counting at Open and when subtracting at consumption.
func (h header) eventsOf() int64 {
	if h.events > maxEvents {
		return 0
	}
	return int64(h.events)
}

// msgSizePlausible reports whether a diskqueue length prefix is one that
// diskqueue itself accepts (it treats anything else as corruption).
func msgSizePlausible(n uint32) bool {
	return n >= minMsgSize && n <= maxMsgSize
}

// FrameBytes is what a batch of payloadLen bytes counts in Stats.Bytes and
// against MaxBytes.
func FrameBytes(payloadLen int) int64 { return int64(frameOverhead + payloadLen) }
