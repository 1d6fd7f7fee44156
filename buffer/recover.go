package buffer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// recovered is what the segments hold at Open.
type recovered struct {
	queued tally  // frames diskqueue will hand out, duplicates of consumed ones included
	maxSeq uint64 // highest plausible seq seen in a header
}

// recoverSegments runs before diskqueue starts. It counts what diskqueue will
// deliver, from its read position on, reading only length prefixes and
// headers, and repairs the metadata where diskqueue itself would lose or
// overwrite data:
//
//   - no metadata (a crash before the first sync) or unreadable metadata:
//     diskqueue would start at segment 0, position 0, and overwrite it.
//     Rebuild it to read every segment present and write to a new one.
//   - segments beyond the write segment: never read, overwritten later.
//     Move writing past them.
//   - a write segment that is shorter than the write position (diskqueue
//     would append after a hole) or ends in garbage or a torn frame (appended
//     frames would be lost with it when the reader hits the garbage): move
//     writing to a new segment.
//
// The last rule is what lets scanLost treat everything past a point of
// corruption as never counted.
func recoverSegments(dir, name string, log *slog.Logger) (recovered, error) {
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
		// A metadata write cut short by a crash.
		if strings.HasPrefix(fn, name+".diskqueue.meta.dat.") && strings.HasSuffix(fn, ".tmp") {
			if err := os.Remove(filepath.Join(dir, fn)); err != nil && !isNotExist(err) {
				return rec, err
			}
		}
	}
	slices.Sort(nums)

	mp := metaPath(dir, name)
	meta, err := readMeta(mp)
	rewrite := false
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
	if len(nums) > 0 && nums[len(nums)-1] > meta.writeFileNum {
		log.Warn("diskqueue segments beyond the write position, moving writes past them",
			"write_file", meta.writeFileNum, "last_file", nums[len(nums)-1])
		meta.writeFileNum, meta.writePos = nums[len(nums)-1]+1, 0
		rewrite = true
	}

	var wsize, wend int64 // the write segment's size and clean end
	for _, num := range nums {
		start := int64(0)
		if num == meta.readFileNum {
			start = meta.readPos
		}
		size, end, err := countSegment(segmentPath(dir, name, num), start, &rec)
		if err != nil {
			return rec, err
		}
		if num == meta.writeFileNum {
			wsize, wend = size, end
		}
	}
	if wsize != meta.writePos || wend != wsize {
		log.Warn("diskqueue write segment does not end cleanly at the write position, moving writes to a new segment",
			"file", segmentPath(dir, name, meta.writeFileNum), "size", wsize, "write_pos", meta.writePos, "clean_end", wend)
		meta.writeFileNum, meta.writePos = meta.writeFileNum+1, 0
		rewrite = true
	}
	if rewrite {
		meta.depth = rec.queued.batches
		if err := writeMeta(mp, meta); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// countSegment adds the frames of one segment from start on to rec.
func countSegment(path string, start int64, rec *recovered) (size, end int64, err error) {
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

// lastFrame walks a whole segment: clean if it parses to its end, last the
// seq of its last frame (0 if none).
func lastFrame(path string) (clean bool, last uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, 0, err
	}
	end := walkFrames(f, 0, fi.Size(), func(fr frameRef) { last = fr.hdr.seq })
	return end == fi.Size(), last, nil
}
