// Package protocol is Pulse's native batch format between Pulse processes:
// a length-framed run of records, optionally zstd-compressed, carried by
// POST /v1/batch. docs/protocol.md describes it for other implementations.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic opens every batch body (after decompression).
const Magic = "PLS1"

// ZstdMagic opens every zstd frame. A batch body starting with it cannot be
// uncompressed (that starts with Magic): receivers decompress it even
// without a Content-Encoding.
const ZstdMagic = "\x28\xb5\x2f\xfd"

// HTTP names.
const (
	Path              = "/v1/batch"
	ContentType       = "application/x-pulse-batch"
	HeaderStream      = "X-Pulse-Stream"
	HeaderBatchID     = "X-Pulse-Batch-Id"
	HeaderEvents      = "X-Pulse-Events"
	HeaderAgent       = "X-Pulse-Agent"
	EncodingZstd      = "zstd"
	DefaultMaxRecords = 1 << 20
)

// ErrBadBatch marks a body that is not a valid batch; receivers answer 400.
var ErrBadBatch = errors.New("bad batch")

// Writer builds a batch body in memory. The zero value is not ready: call
// Reset first.
type Writer struct {
	buf   []byte
	count int
}

// Reset starts a new batch in buf's storage.
func (w *Writer) Reset(buf []byte) {
	w.buf = append(buf[:0], Magic...)
	w.count = 0
}

// Append adds one record.
func (w *Writer) Append(rec []byte) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(rec)))
	w.buf = append(w.buf, rec...)
	w.count++
}

// Len returns the body size so far, and Count the records.
func (w *Writer) Len() int   { return len(w.buf) }
func (w *Writer) Count() int { return w.count }

// Bytes returns the body. It aliases the Writer's storage.
func (w *Writer) Bytes() []byte { return w.buf }

// Limits bound what a Reader accepts.
type Limits struct {
	MaxRecords     int // default DefaultMaxRecords
	MaxRecordBytes int // default: the body size
}

// Each calls fn for every record of body, in order. Records alias body.
// It returns an error wrapping ErrBadBatch if body is malformed; records
// before the fault have been passed to fn already, so a caller that must be
// all-or-nothing validates first with Count.
func Each(body []byte, lim Limits, fn func(rec []byte) error) error {
	if len(body) < len(Magic) || string(body[:len(Magic)]) != Magic {
		return fmt.Errorf("%w: missing %q magic", ErrBadBatch, Magic)
	}
	if lim.MaxRecords <= 0 {
		lim.MaxRecords = DefaultMaxRecords
	}
	if lim.MaxRecordBytes <= 0 {
		lim.MaxRecordBytes = len(body)
	}
	p := body[len(Magic):]
	off := len(Magic)
	for n := 0; len(p) > 0; n++ {
		if n == lim.MaxRecords {
			return fmt.Errorf("%w: more than %d records", ErrBadBatch, lim.MaxRecords)
		}
		size, k := binary.Uvarint(p)
		if k <= 0 {
			return fmt.Errorf("%w: record %d at byte %d: bad length prefix", ErrBadBatch, n, off)
		}
		if size > uint64(lim.MaxRecordBytes) || size > uint64(len(p)-k) {
			return fmt.Errorf("%w: record %d at byte %d: length %d exceeds the %d bytes left (or the record limit)", ErrBadBatch, n, off, size, len(p)-k)
		}
		if fn != nil {
			if err := fn(p[k : k+int(size)]); err != nil {
				return err
			}
		}
		p = p[k+int(size):]
		off += k + int(size)
	}
	return nil
}

// Count validates body and returns its number of records.
func Count(body []byte, lim Limits) (int, error) {
	n := 0
	err := Each(body, lim, func([]byte) error { n++; return nil })
	return n, err
}
