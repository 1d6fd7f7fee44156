package buffer

import (
	"encoding/binary"
	"fmt"
	"os"
)

// verifySegment reads one segment whole and checks every frame from from
// on as diskqueue and Next will read it: by length prefix, each frame's CRC
// and seq. newest is the highest-numbered segment, the one a crash may
// leave with a torn last frame, from tornFrom on.
func (r *VerifyReport) verifySegment(path string, from int64, newest bool, tornFrom int64) error {
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
	if p < len(buf) {
		r.add(r.cutAt(path, buf, p, newest && int64(p) >= tornFrom, &sc))
	}
	r.Batches += sc.Frames
	r.Events += sc.Events
	r.Segments = append(r.Segments, sc)
	return nil
}

// cutAt describes a segment that stops parsing at p, where diskqueue would
// fail to read. At the end of the newest segment (past the write position
// persisted), an incomplete frame with nothing verifiable after it is an
// interrupted append: never acknowledged to its source, so read again from
// there; Open truncates it. Anything else is damage: Open quarantines the
// stretches that do not verify in <segment>.bad and keeps the frames after
// them that verify (repair.go), which are added to sc.
func (r *VerifyReport) cutAt(path string, buf []byte, p int, tornOK bool, sc *SegmentCheck) Problem {
	tail := buf[p:]
	next := resync(buf, p+1, maxSeq)
	if tornOK && next == len(buf) && tornTail(tail) {
		pr := Problem{Severity: SevRecoverable, File: path, Offset: int64(p), Length: int64(len(tail)), Batches: 1,
			What: fmt.Sprintf("torn write (%d bytes of an interrupted append): recoverable, nothing acknowledged lost; Open truncates it", len(tail))}
		if len(tail) >= frameOverhead {
			pr.Events = parseHeader(tail[lenPrefix:]).eventsOf()
		}
		return pr
	}
	// Each stretch that does not verify counts as one batch lost, with the
	// events of its header if that looks sound (like scanLost).
	pr := Problem{Severity: SevCorrupt, File: path, Offset: int64(p)}
	var kept tally
	for q := p; q < len(buf); {
		pr.Batches++
		pr.Length += int64(next - q)
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
				kept.add(frameRef{size: int64(n), hdr: h})
			}
			q += n
		}
		if q < len(buf) {
			next = resync(buf, q+1, maxSeq)
		}
	}
	sc.Frames += kept.batches
	sc.Events += kept.events
	r.Bytes += kept.bytes
	pr.What = fmt.Sprintf("damaged: %d bytes from here do not verify (diskqueue would stop reading and skip the rest); Open quarantines them in .bad and keeps the %d batches (%d events) after them that verify",
		pr.Length, kept.batches, kept.events)
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
