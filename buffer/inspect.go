package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Inspection is what a queue's directory holds, read from its files by
// Inspect without opening the queue.
type Inspection struct {
	Dir  string `json:"dir"`
	Name string `json:"name"`

	Batches int64 `json:"batches"` // queued, not yet handed out
	Events  int64 `json:"events"`  // in those batches
	// Bytes is what the queue counts against its MaxBytes: queued and
	// in-flight frames with their length prefixes.
	Bytes int64 `json:"bytes"`

	InFlight       int   `json:"in_flight"`        // handed out, not acknowledged (inflight/*.batch)
	InFlightEvents int64 `json:"in_flight_events"` // events in those batches

	Segments    int   `json:"segments"`     // diskqueue segment files present
	BadSegments int   `json:"bad_segments"` // .bad segments holding unconsumed data (real corruption)
	DiskBytes   int64 `json:"disk_bytes"`   // every file in Dir and Dir/inflight

	// Oldest is the modification time of the oldest file holding a batch
	// not yet acknowledged: a segment with queued batches, or an in-flight
	// file. A segment's mtime is when its last batch was written, so the
	// oldest batch may be older still. Zero when the queue is empty.
	Oldest time.Time `json:"oldest,omitzero"`
}

// Inspect reads the queue named name in dir, read-only: it takes no lock
// and changes no file, so it is safe while the queue is open in another
// process. Its counts are then a snapshot taken over several reads: a
// batch moving from the queue to in flight while Inspect runs may be
// missed, never counted twice. On a closed queue they are exact.
//
// Queued batches are the frames diskqueue has yet to hand out, from its
// persisted read position on, less those already consumed (seq at most
// the one recorded in the consumed file): diskqueue persists its position
// only at its syncs, so the frames in between would otherwise count twice.
func Inspect(dir, name string) (Inspection, error) {
	in := Inspection{Dir: dir, Name: name}
	if !validName(name) {
		return in, fmt.Errorf("buffer: inspect %s: bad queue name %q", dir, name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return in, fmt.Errorf("buffer %s: inspect: %w", name, err)
	}
	// In flight first, then the consumed record, then the segments: a batch
	// is journaled before it is recorded consumed, so this order counts a
	// batch that moves meanwhile at most once.
	consumed, err := in.inspectInflight(filepath.Join(dir, "inflight"))
	if err != nil {
		return in, fmt.Errorf("buffer %s: inspect: %w", name, err)
	}
	consumed = max(consumed, readConsumed(filepath.Join(dir, "consumed")))

	var nums []int64
	for _, e := range entries {
		fn := e.Name()
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			in.DiskBytes += fi.Size()
		}
		if num, ok := segmentNum(name, fn); ok && e.Type().IsRegular() {
			nums = append(nums, num)
			continue
		}
		if seg, ok := strings.CutSuffix(fn, ".bad"); ok && e.Type().IsRegular() {
			if _, ok := segmentNum(name, seg); ok && !consumedBad(filepath.Join(dir, fn), consumed) {
				in.BadSegments++
			}
		}
	}
	slices.Sort(nums)
	in.Segments = len(nums)

	// Without readable metadata the queue reads every segment at its next
	// Open (recoverSegments): so does Inspect.
	meta, err := readMeta(metaPath(dir, name))
	if err != nil {
		meta = dqMeta{}
		if len(nums) > 0 {
			meta.readFileNum = nums[0]
		}
	}
	for _, num := range nums {
		if num < meta.readFileNum {
			continue // consumed; its removal was cut short or is under way
		}
		start := int64(0)
		if num == meta.readFileNum {
			start = meta.readPos
		}
		if err := in.inspectSegment(segmentPath(dir, name, num), start, consumed); err != nil {
			return in, fmt.Errorf("buffer %s: inspect: %w", name, err)
		}
	}
	return in, nil
}

// inspectInflight counts the journaled batches and returns the highest seq
// among them.
func (in *Inspection) inspectInflight(dir string) (maxSeq uint64, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	j := journal{dir: dir}
	for _, e := range entries {
		seq, ok := journalSeq(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := j.inspect(seq)
		if errors.Is(err, fs.ErrNotExist) {
			continue // acknowledged meanwhile
		}
		if err != nil {
			return 0, err
		}
		in.InFlight++
		in.InFlightEvents += b.events
		in.Bytes += b.bytes
		maxSeq = max(maxSeq, seq)
		if fi, err := e.Info(); err == nil {
			in.DiskBytes += fi.Size()
			in.noteOldest(fi.ModTime())
		}
	}
	return maxSeq, nil
}

// inspectSegment counts the frames of one segment from start on whose seq
// is above consumed.
func (in *Inspection) inspectSegment(path string, start int64, consumed uint64) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // consumed and removed since the directory was read
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	found := false
	// A frame being appended may be torn at the end: walkFrames stops
	// before it.
	walkFrames(f, start, fi.Size(), func(fr frameRef) {
		if fr.hdr.seq <= consumed {
			return
		}
		found = true
		in.Batches++
		in.Events += fr.hdr.eventsOf()
		in.Bytes += fr.size
	})
	if found {
		in.noteOldest(fi.ModTime())
	}
	return nil
}

func (in *Inspection) noteOldest(t time.Time) {
	if in.Oldest.IsZero() || t.Before(in.Oldest) {
		in.Oldest = t
	}
}

// readConsumed reads the consumed record without opening it for writing:
// 0 if it is missing or does not verify, as openJournal takes it.
func readConsumed(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < consumedSize {
		return 0
	}
	seq := binary.BigEndian.Uint64(b[:8])
	if binary.BigEndian.Uint32(b[8:12]) != crc32.Checksum(b[:8], castagnoli) || seq >= maxSeq {
		return 0
	}
	return seq
}

// consumedBad reports whether a .bad segment holds nothing unconsumed: the
// harmless kind left by diskqueue bug #38, which the queue removes.
func consumedBad(path string, consumed uint64) bool {
	clean, last, err := lastFrame(path)
	return err == nil && clean && last <= consumed
}
