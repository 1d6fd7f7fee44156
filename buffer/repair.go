package buffer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"pulse/durable"
)

// A segment that does not parse to its end is one of two things, told apart
// at Open before diskqueue reads it:
//
// A torn write: the end of the newest segment, past the last complete frame
// and at or past the write position diskqueue last persisted, holds the
// start of one frame (or zeros where the file grew and the data never
// landed) and nothing verifiable after it. diskqueue writes a frame with one
// write(2) of an unbuffered os.File, from a bytes.Buffer it assembled in
// memory (writeOne), and answers Put only once that write returned: a kill -9
// can cut only the frame whose Put had not returned, whose batch was then
// never acknowledged to its source and is read again from it. Open truncates
// the segment to its clean end and counts a torn write (Stats.TornWrites).
// (A power loss is different: without FsyncAlways, pages of batches Put did
// return for may be lost too, and a tail of them looks the same. The first
// frame lost is then counted as a torn write, not as a loss.)
//
// Anything else is corruption: a cut in an older segment, damage in the
// middle of one, or a cut of the newest one before the write position (a
// clean close persists it exactly). diskqueue would stop reading there and
// skip the rest of the segment as .bad, losing every frame behind the
// damage. Open instead quarantines the bytes that do not verify in
// <segment>.bad, rewrites the segment with every frame whose CRC verifies
// (their seqs in order), and counts what was lost: the batches by their
// seqs (the ones missing between the verified frames around the damage,
// exact unless a write failed at runtime, which skips a seq), the events by
// the headers of the damaged batches that survived. A batch whose header was
// destroyed too is counted with unknown events (logged).

// damage is one stretch of a segment that does not verify.
type damage struct {
	off, end int64  // [off, end) in the segment
	prevSeq  uint64 // seq of the last verified frame before it, 0 if none
	nextSeq  uint64 // seq of the first verified frame after it, 0 if none in the segment
}

// repairResult is what repairSegment found and did.
type repairResult struct {
	torn      int64 // bytes of a torn write truncated (0 if none)
	damaged   []damage
	kept      tally // verified frames after the first damage, put back
	lost      tally // batches lost (events: those whose header survived)
	unknown   int64 // lost batches whose events are unknown
	badBytes  int64 // bytes written to the .bad file
	maxSeq    uint64
	newSize   int64
	rewritten bool
}

// seqTail tracks the seqs of the frames walked in queue order, to count
// the batches missing where damage is.
type seqTail struct {
	last     uint64 // highest seq seen so far (plausible ones only)
	consumed uint64 // frames up to it were consumed: not lost if damaged
}

// repairSegment handles a segment that walkFrames stops in at end, before
// its size. tornOK says whether its tail may be a torn write: it is the
// newest segment and end is at or past the persisted write position.
// nextFirst is the seq of the first frame of the next segment, 0 if none.
func repairSegment(path string, end int64, tornOK bool, nextFirst uint64, st *seqTail, log *slog.Logger) (repairResult, error) {
	var res repairResult
	buf, err := os.ReadFile(path)
	if err != nil {
		return res, err
	}
	size := int64(len(buf))
	if end > size { // changed since it was walked: cannot happen before diskqueue starts
		return res, fmt.Errorf("repair %s: clean end %d beyond size %d", path, end, size)
	}
	tail := buf[end:]
	// Not the newest segment, but the next one goes on with the very next
	// seq: nothing was lost, the tail is a write torn by a crash before
	// that segment was started (the recovery of older versions moved
	// writes on without truncating).
	continued := st.last > 0 && nextFirst == st.last+1
	if (tornOK || continued) && resyncAfter(buf, int(end)+1, st.last) == len(buf) && tornTail(tail) {
		if err := os.Truncate(path, end); err != nil {
			return res, fmt.Errorf("truncate torn write in %s: %w", path, err)
		}
		res.torn, res.newSize = int64(len(tail)), end
		return res, nil
	}

	// Split the rest into verified frames and damaged stretches.
	var out bytes.Buffer
	out.Write(buf[:end])
	for p := int(end); p < len(buf); {
		next := resyncAfter(buf, p+1, st.last)
		d := damage{off: int64(p), end: int64(next), prevSeq: st.last}
		for p = next; p < len(buf); {
			n, h, ok := verifiedFrameAt(buf, p, maxSeq)
			if !ok || h.seq <= st.last {
				break
			}
			if d.nextSeq == 0 {
				d.nextSeq = h.seq
			}
			out.Write(buf[p : p+n])
			fr := frameRef{off: int64(p), size: int64(n), hdr: h}
			res.kept.add(fr)
			st.last = h.seq
			p += n
		}
		if d.nextSeq == 0 {
			d.nextSeq = nextFirst
		}
		res.damaged = append(res.damaged, d)
	}
	res.maxSeq = st.last
	for _, d := range res.damaged {
		b, ev, unknown := lostIn(buf[d.off:d.end], d, st.consumed)
		res.lost.batches += b
		res.lost.events += ev
		res.unknown += unknown
		res.badBytes += d.end - d.off
	}

	// Quarantine first, then replace the segment: a crash in between
	// leaves the damaged segment, repaired again at the next Open. The
	// .bad file may already hold frames of this segment that failed their
	// CRC at runtime (Queue.quarantine): appended to, unless a repair cut
	// short already did.
	bad := path + ".bad"
	var quarantined bytes.Buffer
	for _, d := range res.damaged {
		quarantined.Write(buf[d.off:d.end])
	}
	prev, err := os.ReadFile(bad)
	if err != nil && !isNotExist(err) {
		return res, fmt.Errorf("quarantine damage of %s: %w", path, err)
	}
	if !bytes.HasSuffix(prev, quarantined.Bytes()) {
		quarantined = *bytes.NewBuffer(append(prev, quarantined.Bytes()...))
	} else {
		quarantined = *bytes.NewBuffer(prev)
	}
	// durable.Sync for both, in every Fsync mode: they replace bytes that
	// may have been on disk for long, and a power loss must not turn a
	// repair into the loss of batches that were durable before it. (Rare:
	// only at Open, only for damage.) A tmp file a crash leaves is removed
	// at the next Open (recoverSegments).
	if err := durable.WriteFile(bad, quarantined.Bytes(), 0o600, durable.Sync); err != nil {
		return res, fmt.Errorf("quarantine damage of %s: %w", path, err)
	}
	if err := durable.WriteFile(path, out.Bytes(), 0o600, durable.Sync); errors.Is(err, durable.ErrDirSync) {
		log.Warn("cannot fsync the buffer directory after a repair", "err", err)
	} else if err != nil {
		return res, fmt.Errorf("rewrite %s: %w", path, err)
	}
	res.newSize, res.rewritten = int64(out.Len()), true
	return res, nil
}

// lostIn counts the batches lost in one damaged stretch b: by seq when the
// verified frames around it tell (those not consumed yet), else one per
// header found. Events are those of the headers that still name the seqs
// expected in order from the stretch's start; the other lost batches have
// unknown events.
func lostIn(b []byte, d damage, consumed uint64) (batches, events, unknown int64) {
	var matched, found, foundEvents int64
	expect := d.prevSeq + 1
	for p := 0; len(b)-p >= frameOverhead; {
		h := parseHeader(b[p+lenPrefix:])
		if d.prevSeq == 0 && p == 0 && h.seq > 0 && h.seq < maxSeq {
			expect = h.seq // nothing before it to go by: trust the first header's seq
		}
		if h.seq != expect || (d.nextSeq != 0 && h.seq >= d.nextSeq) {
			break
		}
		matched++
		if h.seq > consumed {
			found++
			foundEvents += h.eventsOf()
		}
		expect++
		n := binary.BigEndian.Uint32(b[p:])
		if !msgSizePlausible(n) || int64(p)+lenPrefix+int64(n) > int64(len(b)) {
			break
		}
		p += lenPrefix + int(n)
	}
	if d.prevSeq != 0 && d.nextSeq > d.prevSeq {
		from := max(d.prevSeq, consumed) + 1
		if d.nextSeq > from {
			batches = int64(d.nextSeq - from)
		}
	} else {
		// Nothing after it to go by: the batches whose headers are left,
		// or one if none is (a stretch of garbage where a frame was).
		batches = found
		if matched == 0 {
			batches = 1
		}
	}
	return batches, foundEvents, max(batches-found, 0)
}

// resyncAfter is the offset of the first frame at or after from whose CRC
// verifies and whose seq is above last, or len(buf).
func resyncAfter(buf []byte, from int, last uint64) int {
	for o := from; o+frameOverhead <= len(buf); o++ {
		if _, h, ok := verifiedFrameAt(buf, o, maxSeq); ok && h.seq > last {
			return o
		}
	}
	return len(buf)
}

// tornTail reports whether tail is what an interrupted append leaves: the
// start of one frame (shorter than a length prefix, or shorter than the
// length it states), or zeros where the file grew but the data never
// landed.
func tornTail(tail []byte) bool {
	if len(tail) < lenPrefix || len(bytes.Trim(tail, "\x00")) == 0 {
		return true
	}
	n := binary.BigEndian.Uint32(tail)
	return msgSizePlausible(n) && int64(len(tail)-lenPrefix) < int64(n)
}
