package buffer

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// tally is a count of frames.
type tally struct {
	batches, events, bytes int64
}

func (t *tally) add(fr frameRef) {
	t.batches++
	t.events += fr.hdr.eventsOf()
	t.bytes += fr.size
}

// frameRef is a frame found in a segment without reading its payload.
type frameRef struct {
	off  int64 // offset of the length prefix
	size int64 // lenPrefix + message length: what it costs against MaxBytes
	hdr  header
}

// walkFrames calls fn for every frame from off on that diskqueue will read
// successfully (plausible length, complete in the file), reading only length
// prefixes and headers. It returns where it stopped: size if the segment ends
// cleanly, else the offset at which diskqueue will hit a read error.
func walkFrames(r io.ReaderAt, off, size int64, fn func(frameRef)) int64 {
	var b [frameOverhead]byte
	for off < size {
		if size-off < frameOverhead {
			return off
		}
		if _, err := r.ReadAt(b[:], off); err != nil {
			return off
		}
		n := binary.BigEndian.Uint32(b[:lenPrefix])
		if !msgSizePlausible(n) || off+lenPrefix+int64(n) > size {
			return off
		}
		fr := frameRef{off: off, size: lenPrefix + int64(n), hdr: parseHeader(b[lenPrefix:])}
		fn(fr)
		off += fr.size
	}
	return off
}

// resyncWindow bounds how much of a corrupt segment is searched for frames
// after the point of corruption.
const resyncWindow = 64 << 20

// lostFrames is what a read error in a segment cost.
type lostFrames struct {
	// counted are the frames that were counted as queued (the ones diskqueue
	// would have read without error) and that it now skips.
	counted tally
	// batches and events estimate everything lost, counted or not.
	batches, events int64
}

// scanLost estimates what diskqueue loses by skipping path from readPos to its
// end. Frames up to the point of corruption are exact. Past it (never counted
// as queued: recoverSegments makes sure nothing is appended behind garbage)
// the rest is searched for frames whose CRC verifies and whose seq is below
// nextSeq; the garbage between counts as one batch, with the events of its
// header if that still looks sound.
func scanLost(path string, readPos int64, nextSeq uint64) (lostFrames, error) {
	var lost lostFrames
	f, err := os.Open(path)
	if err != nil {
		return lost, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return lost, err
	}
	size := fi.Size()
	end := walkFrames(f, readPos, size, func(fr frameRef) {
		lost.counted.add(fr)
	})
	lost.batches, lost.events = lost.counted.batches, lost.counted.events
	if end >= size {
		return lost, nil
	}
	buf := make([]byte, min(size-end, resyncWindow))
	n, err := f.ReadAt(buf, end)
	if err != nil && err != io.EOF {
		return lost, fmt.Errorf("read %s at %d: %w", path, end, err)
	}
	buf = buf[:n]
	for p := 0; p < len(buf); {
		next := resync(buf, p+1, nextSeq)
		lost.batches++
		if next-p >= frameOverhead {
			if h := parseHeader(buf[p+lenPrefix:]); h.seq > 0 && h.seq < nextSeq {
				lost.events += h.eventsOf()
			}
		}
		for p = next; p < len(buf); {
			size, h, ok := verifiedFrameAt(buf, p, nextSeq)
			if !ok {
				break
			}
			lost.batches++
			lost.events += h.eventsOf()
			p += size
		}
	}
	return lost, nil
}

// resync returns the offset of the first verified frame in buf at or after
// from, or len(buf).
func resync(buf []byte, from int, nextSeq uint64) int {
	for o := from; o+frameOverhead <= len(buf); o++ {
		if _, _, ok := verifiedFrameAt(buf, o, nextSeq); ok {
			return o
		}
	}
	return len(buf)
}

// verifiedFrameAt checks for a whole frame at buf[p:] with a plausible seq
// and a good CRC; size includes the length prefix.
func verifiedFrameAt(buf []byte, p int, nextSeq uint64) (size int, h header, ok bool) {
	if len(buf)-p < frameOverhead {
		return 0, header{}, false
	}
	n := binary.BigEndian.Uint32(buf[p:])
	if !msgSizePlausible(n) || int64(len(buf)-p-lenPrefix) < int64(n) {
		return 0, header{}, false
	}
	h = parseHeader(buf[p+lenPrefix:])
	if h.seq == 0 || h.seq >= nextSeq {
		return 0, header{}, false
	}
	msg := buf[p+lenPrefix : p+lenPrefix+int(n)]
	if h.crc != crc32.Checksum(msg[4:], castagnoli) {
		return 0, header{}, false
	}
	return lenPrefix + int(n), h, true
}
