package buffer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"pulse/durable"
)

// recovered is what the segments hold at Open.
type recovered struct {
	queued tally  // frames diskqueue will hand out, duplicates of consumed ones included
	maxSeq uint64 // highest plausible seq seen in a header

	tornWrites, tornBytes int64 // torn writes truncated (see repair.go)
	lost                  tally // batches lost to damage (events: those known)
	unknownEvents         int64 // lost batches whose events are unknown
}

// recoverSegments runs before diskqueue starts. It counts what diskqueue will
// deliver, from its read position on, reading only length prefixes and
// headers, and repairs the segments and metadata where diskqueue itself
// would lose or overwrite data:
//
//   - no metadata (a crash before the first sync) or unreadable metadata:
//     diskqueue would start at segment 0, position 0, and overwrite it.
//     Rebuild it to read every segment present and write to a new one.
//   - segments beyond the write segment: never read, overwritten later.
//     Move writing past them.
//   - a segment that does not parse to its end: a torn write at the end of
//     the newest one is truncated, other damage is quarantined and the
//     segment rewritten with the frames that verify (repair.go).
//   - a write segment that is shorter than the write position (diskqueue
//     would append after a hole), or that was rewritten: move writing to a
//     new segment.
//
// consumed is the highest seq consumed (the journal's record): damaged
// frames up to it are not counted as lost.
func recoverSegments(dir, name string, consumed uint64, fsync FsyncMode, log *slog.Logger) (recovered, error) {
	var rec recovered
	entries, err := os.ReadDir(dir)
	if err != nil {
		return rec, err
	}
	var nums []int64
	for _, e := range entries {
		fn := e.Name()
		if num, ok := segmentNum(name, fn); ok && e.Type().IsRegular() {
			nums = append(nums, num)
			continue
		}
		// A write cut short by a crash: diskqueue's metadata
		// (meta.dat.<n>.tmp), Open's (durable.TmpPath: meta.dat.tmp), a
		// repair's segment or quarantine (.dat.tmp, .dat.bad.tmp; older
		// versions: .dat.repair.tmp).
		if strings.HasPrefix(fn, name+".diskqueue.") && strings.HasSuffix(fn, durable.TmpSuffix) {
			if err := os.Remove(filepath.Join(dir, fn)); err != nil && !isNotExist(err) {
				return rec, err
			}
		}
	}
	slices.Sort(nums)

	mp := metaPath(dir, name)
	meta, err := readMeta(mp)
	rewrite, metaKnown := false, err == nil
	switch {
	case err == nil:
	case isNotExist(err) && len(nums) == 0:
		return rec, nil // a new queue
	default:
		if !isNotExist(err) {
			log.Warn("diskqueue metadata unreadable, rebuilding it from the segments", "err", err)
		} else {
			log.Warn("diskqueue metadata missing, rebuilding it from the segments", "segments", len(nums))
		}
		meta = dqMeta{}
		if len(nums) > 0 {
			meta.readFileNum, meta.writeFileNum = nums[0], nums[len(nums)-1]+1
		}
		rewrite = true
	}

	// Segments before the read position were consumed; their removal was cut
	// short. They only take space.
	for _, num := range nums {
		if num < meta.readFileNum {
			fn := segmentPath(dir, name, num)
			log.Warn("removing consumed diskqueue segment", "file", fn)
			if err := os.Remove(fn); err != nil && !isNotExist(err) {
				return rec, err
			}
		}
	}
	nums = slices.DeleteFunc(nums, func(n int64) bool { return n < meta.readFileNum })
	origWrite := meta // the write position as persisted, before any move
	if len(nums) > 0 && nums[len(nums)-1] > meta.writeFileNum {
		log.Warn("diskqueue segments beyond the write position, moving writes past them",
			"write_file", meta.writeFileNum, "last_file", nums[len(nums)-1])
		meta.writeFileNum, meta.writePos = nums[len(nums)-1]+1, 0
		rewrite = true
	}

	st := seqTail{consumed: consumed}
	var wsize, wend int64 // the write segment's size and clean end
	moveWrites := false
	for i, num := range nums {
		start := int64(0)
		if num == meta.readFileNum {
			start = meta.readPos
		}
		path := segmentPath(dir, name, num)
		size, end, err := countSegment(path, start, &rec, &st)
		if err != nil {
			return rec, err
		}
		if end < size {
			// A torn write is possible only where writes went on: past the
			// write position persisted for the newest segment (any position
			// if none was, or if writes had already moved past it).
			newest := i == len(nums)-1
			tornOK := newest && (!metaKnown || num != origWrite.writeFileNum || end >= origWrite.writePos)
			var nextFirst uint64
			if !newest {
				nextFirst = firstSeq(segmentPath(dir, name, nums[i+1]))
			}
			res, err := repairSegment(path, end, tornOK, nextFirst, &st, log)
			if err != nil {
				return rec, err
			}
			rec.note(path, size, end, res, log)
			size, end = res.newSize, res.newSize
			moveWrites = moveWrites || res.rewritten && num == meta.writeFileNum
		}
		if num == meta.writeFileNum {
			wsize, wend = size, end
		}
	}
	if moveWrites || wsize != meta.writePos || wend != wsize {
		// Routine after a kill -9: the write position persisted lags.
		log.Info("diskqueue write segment does not end at the write position, moving writes to a new segment",
			"file", segmentPath(dir, name, meta.writeFileNum), "size", wsize, "write_pos", meta.writePos, "clean_end", wend)
		meta.writeFileNum, meta.writePos = meta.writeFileNum+1, 0
		rewrite = true
	}
	if rewrite {
		meta.depth = rec.queued.batches
		if err := writeMeta(mp, meta, fsync); err != nil {
			if !isDiskFull(err) {
				return rec, err
			}
			// No room for a new copy: the old one's block is there. An
			// Open that failed here would keep the agent from starting
			// on a full disk, where it should wait for room instead.
			if ierr := overwriteMeta(mp, meta, fsync); ierr != nil {
				return rec, fmt.Errorf("%w (and %w)", err, ierr)
			}
			log.Warn("disk full: no room for a new copy of diskqueue's metadata, overwrote it in place", "file", mp, "err", err)
		}
	}
	return rec, nil
}

// note adds a repair's outcome to rec and logs it: a torn write once at
// WARN, corruption once at ERROR.
func (rec *recovered) note(path string, size, end int64, res repairResult, log *slog.Logger) {
	rec.maxSeq = max(rec.maxSeq, res.maxSeq)
	if res.torn > 0 {
		rec.tornWrites++
		rec.tornBytes += res.torn
		log.Warn("recovered an interrupted write: truncated the incomplete last frame of the newest segment; its batch was never acknowledged to its source, which sends it again",
			"file", path, "bytes", res.torn, "clean_end", end, "never_acknowledged", true)
		return
	}
	rec.queued.batches += res.kept.batches
	rec.queued.events += res.kept.events
	rec.queued.bytes += res.kept.bytes
	rec.lost.batches += res.lost.batches
	rec.lost.events += res.lost.events
	rec.unknownEvents += res.unknown
	ranges := make([]string, 0, len(res.damaged))
	for _, d := range res.damaged {
		ranges = append(ranges, fmt.Sprintf("%d-%d", d.off, d.end))
	}
	log.Error("corrupt diskqueue segment: damaged bytes quarantined as .bad, every frame that verifies kept",
		"file", path, "bad_file", path+".bad", "size", size, "damaged", strings.Join(ranges, ","),
		"bad_bytes", res.badBytes, "lost_batches", res.lost.batches, "lost_events", res.lost.events,
		"lost_batches_events_unknown", res.unknown, "salvaged_batches", res.kept.batches, "salvaged_events", res.kept.events)
}

// firstSeq is the seq of the first frame of a segment, 0 if it has none.
func firstSeq(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var b [frameOverhead]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return 0
	}
	if h := parseHeader(b[lenPrefix:]); h.seq < maxSeq {
		return h.seq
	}
	return 0
}

// countSegment adds the frames of one segment from start on to rec.
func countSegment(path string, start int64, rec *recovered, st *seqTail) (size, end int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	size = fi.Size()
	end = walkFrames(f, start, size, func(fr frameRef) {
		rec.queued.add(fr)
		if fr.hdr.seq < maxSeq {
			rec.maxSeq = max(rec.maxSeq, fr.hdr.seq)
			st.last = max(st.last, fr.hdr.seq)
		}
	})
	return size, end, nil
}

// removeConsumedBad removes .bad segments that hold nothing unconsumed: the
// ones diskqueue bug #38 leaves when a crash comes between its rename and
// our removal. Such a file parses cleanly to its end and its last frame is
// consumed; a segment renamed for real corruption does not parse cleanly.
// It returns the number of .bad segments kept.
func removeConsumedBad(dir, name string, consumed uint64, log *slog.Logger) (kept int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		fn, ok := strings.CutSuffix(e.Name(), ".bad")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if _, ok := segmentNum(name, fn); !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		clean, last, err := lastFrame(path)
		if err != nil {
			return kept, err
		}
		if !clean || last > consumed {
			kept++
			continue
		}
		log.Debug("removing consumed .bad segment", "file", path)
		if err := os.Remove(path); err != nil && !isNotExist(err) {
			return kept, err
		}
	}
	return kept, nil
}

// lastFrame reads a whole segment: clean if it is verified frames to its
// end (every CRC checked: a quarantined frame that failed its CRC is not
// harmless, whatever its seq), last the seq of its last frame (0 if none).
func lastFrame(path string) (clean bool, last uint64, err error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return false, 0, err
	}
	for p := 0; p < len(buf); {
		n, h, ok := verifiedFrameAt(buf, p, maxSeq)
		if !ok {
			return false, last, nil
		}
		last = h.seq
		p += n
	}
	return true, last, nil
}
