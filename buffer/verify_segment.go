package buffer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

// verifySegment reads one segment whole and checks every frame from from
// on as diskqueue and Next will read it: by length prefix, each frame's CRC
// and seq. newest is the highest-numbered segment, the one a crash may
// leave with a torn last frame.
func (r *VerifyReport) verifySegment(path string, from int64, newest bool) error {
	buf, err := os.ReadFile(path)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	sc := SegmentCheck{File: path, Size: int64(len(buf)), From: from}
	var crcRun *Problem // consecutive frames failing their CRC, reported as one
	p := int(min(from, int64(len(buf))))
	for p < len(buf) {
		size, ok := frameAt(buf, p)
		if !ok {
			break
		}
		h := parseHeader(buf[p+lenPrefix:])
		if verifiedFrameLen(buf, p, maxSeq) > 0 {
			crcRun = nil
			if h.seq <= r.Consumed {
				sc.Duplicates++
			} else {
				sc.Frames++
				sc.Events += h.eventsOf()
				r.Bytes += int64(size)
			}
			p += size
			continue
		}
		// diskqueue reads it; Next drops it as corrupt and reads on.
		if crcRun != nil && crcRun.Offset+crcRun.Length == int64(p) {
			crcRun.Length += int64(size)
			crcRun.Batches++
			crcRun.Events += h.eventsOf()
		} else {
			r.add(Problem{Severity: SevCorrupt, File: path, Offset: int64(p), Length: int64(size), Batches: 1, Events: h.eventsOf(),
				What: "CRC mismatch: the batch is dropped as corrupt when read (events as its header claims); reading goes on after it"})
			crcRun = &r.Problems[len(r.Problems)-1]
		}
		p += size
	}
	r.Batches += sc.Frames
	r.Events += sc.Events
	r.Segments = append(r.Segments, sc)
	if p >= len(buf) {
		return nil
	}
	r.add(r.cutAt(path, buf, p, newest))
	return nil
}

// cutAt describes a segment that stops parsing at p: diskqueue fails to
// read there, renames the segment .bad and skips the rest of it. At the end
// of the newest segment, an incomplete frame with nothing verifiable after
// it is an interrupted append: never acknowledged to its source, so read
// again from there.
func (r *VerifyReport) cutAt(path string, buf []byte, p int, newest bool) Problem {
	tail := buf[p:]
	next := resync(buf, p+1, maxSeq)
	if newest && next == len(buf) && tornFrame(tail) {
		pr := Problem{Severity: SevRecoverable, File: path, Offset: int64(p), Length: int64(len(tail)), Batches: 1,
			What: fmt.Sprintf("torn write (%d bytes of an interrupted append): recoverable, nothing acknowledged lost", len(tail))}
		if len(tail) >= frameOverhead {
			pr.Events = parseHeader(tail[lenPrefix:]).eventsOf()
		}
		return pr
	}
	// Like scanLost: each stretch of garbage counts as one batch, with the
	// events of its header if that looks sound, and every verified frame
	// after it is lost with the rest of the segment (salvage gets those
	// back from the .bad file).
	pr := Problem{Severity: SevCorrupt, File: path, Offset: int64(p), Length: int64(len(tail))}
	var saved tally
	for q := p; q < len(buf); {
		pr.Batches++
		if next-q >= frameOverhead {
			if h := parseHeader(buf[q+lenPrefix:]); h.seq > r.Consumed && h.seq < maxSeq {
				pr.Events += h.eventsOf()
			}
		}
		for q = next; q < len(buf); {
			n := verifiedFrameLen(buf, q, maxSeq)
			if n == 0 {
				break
			}
			if h := parseHeader(buf[q+lenPrefix:]); h.seq > r.Consumed {
				saved.batches++
				saved.events += h.eventsOf()
			}
			q += n
		}
		if q < len(buf) {
			next = resync(buf, q+1, maxSeq)
		}
	}
	pr.Batches += saved.batches
	pr.Events += saved.events
	where := "cut in an older segment"
	if newest {
		where = "damage before the end of the newest segment"
	}
	pr.What = fmt.Sprintf("%s: diskqueue stops reading here and skips the remaining %d bytes (kept as .bad); %d batches (%d events) after the damage verify and can be salvaged",
		where, len(tail), saved.batches, saved.events)
	return pr
}

// frameAt returns the size (length prefix included) of the frame at
// buf[p:] if diskqueue reads it: a plausible length, complete in buf.
func frameAt(buf []byte, p int) (int, bool) {
	if len(buf)-p < frameOverhead {
		return 0, false
	}
	n := binary.BigEndian.Uint32(buf[p:])
	if !msgSizePlausible(n) || int64(len(buf)-p-lenPrefix) < int64(n) {
		return 0, false
	}
	return lenPrefix + int(n), true
}

// verifiedFrameLen is the size of a whole frame at buf[p:] with a good CRC
// and a seq below nextSeq, or 0.
func verifiedFrameLen(buf []byte, p int, nextSeq uint64) int {
	size, _, ok := verifiedFrameAt(buf, p, nextSeq)
	if !ok {
		return 0
	}
	return size
}

// tornFrame reports whether tail is what an interrupted append leaves: the
// start of one frame (shorter than a length prefix, or shorter than the
// length it states), or zeros where the file grew but the data never
// landed.
func tornFrame(tail []byte) bool {
	if len(tail) < lenPrefix {
		return true
	}
	if len(bytes.Trim(tail, "\x00")) == 0 {
		return true
	}
	n := binary.BigEndian.Uint32(tail)
	return msgSizePlausible(n) && int64(len(tail)-lenPrefix) < int64(n)
}
