package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Severity grades a Problem found by Verify.
type Severity string

// Severities. Only SevCorrupt makes a buffer unhealthy.
const (
	// SevCorrupt is damage that loses batches (or has lost them: an
	// unreviewed .bad segment).
	SevCorrupt Severity = "corrupt"
	// SevRecoverable is what a crash leaves and Open repairs without
	// losing anything acknowledged: a torn write at the end of the newest
	// segment, metadata behind the data, an unfinished journal write.
	SevRecoverable Severity = "recoverable"
	// SevNote is worth knowing and harmless.
	SevNote Severity = "note"
)

// Problem is one finding of Verify: where, what, and how many batches and
// events it affects.
type Problem struct {
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Offset   int64    `json:"offset"`
	Length   int64    `json:"length,omitempty"` // bytes affected from Offset
	What     string   `json:"what"`
	Batches  int64    `json:"batches,omitempty"`
	Events   int64    `json:"events,omitempty"`
}

// SegmentCheck is what Verify found in one diskqueue segment.
type SegmentCheck struct {
	File       string `json:"file"`
	Size       int64  `json:"size"`
	From       int64  `json:"from"`       // diskqueue's read position in it (0 unless the read segment)
	Frames     int64  `json:"frames"`     // frames from From on whose CRC verifies and that are still queued
	Events     int64  `json:"events"`     // in those frames
	Duplicates int64  `json:"duplicates"` // verified frames already consumed (skipped when read again)
}

// BadFile is a .bad segment: what diskqueue renamed after a read error.
type BadFile struct {
	File string `json:"file"`
	Size int64  `json:"size"`
	// Harmless is a .bad holding nothing unconsumed (diskqueue bug #38):
	// Open removes it.
	Harmless bool `json:"harmless"`
	// Salvageable frames: their CRC verifies and their seq is not consumed.
	Frames int64 `json:"frames"`
	Events int64 `json:"events"`
}

// VerifyReport is the result of Verify for one buffer.
type VerifyReport struct {
	Dir     string `json:"dir"`
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"` // no SevCorrupt problem

	Batches int64 `json:"batches"` // queued, verified
	Events  int64 `json:"events"`
	// Bytes is what counts against the cap: queued and in-flight frames.
	Bytes          int64  `json:"bytes"`
	InFlight       int    `json:"in_flight"`
	InFlightEvents int64  `json:"in_flight_events"`
	MaxBytes       int64  `json:"max_bytes,omitempty"` // the cap; 0 when unknown
	BadBytes       int64  `json:"bad_bytes"`           // in .bad files
	DiskBytes      int64  `json:"disk_bytes"`          // every regular file in Dir and Dir/inflight
	Consumed       uint64 `json:"consumed"`            // highest seq consumed (consumed record and journal)

	Segments []SegmentCheck `json:"segments"`
	Bad      []BadFile      `json:"bad_files"`
	Problems []Problem      `json:"problems"`
}

func (r *VerifyReport) add(p Problem) {
	r.Problems = append(r.Problems, p)
	if p.Severity == SevCorrupt {
		r.Healthy = false
	}
}

// ErrLocked is wrapped by the offline tools (Verify, Salvage, ClearBad)
// when a running queue, normally an agent's, holds the buffer's lock.
var ErrLocked = errors.New("locked by a running agent")

// lockOffline takes the lock an open Queue holds, so that the offline tools
// never run beside one. The directory must exist: nothing is created but
// the lock file.
func lockOffline(dir, name string) (*os.File, error) {
	if !validName(name) {
		return nil, fmt.Errorf("buffer: %s: bad queue name %q", dir, name)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("buffer %s: %w", name, err)
	}
	f, err := lockDir(dir, name)
	if err != nil {
		if isWouldBlock(err) {
			return nil, fmt.Errorf("buffer %s: %s: %w (%s is held): stop the agent first",
				name, dir, ErrLocked, filepath.Join(dir, name+".lock"))
		}
		return nil, fmt.Errorf("buffer %s: %w", name, err)
	}
	return f, nil
}

// Verify checks the buffer named name in dir offline: every frame diskqueue
// has yet to read (length, CRC, seq), diskqueue's metadata, the in-flight
// journal and consumed record, .bad segments, and the bytes held against
// maxBytes (0: unknown). It takes the buffer's lock, failing with ErrLocked
// while the buffer is open, and changes no file but the lock file.
func Verify(dir, name string, maxBytes int64) (*VerifyReport, error) {
	lock, err := lockOffline(dir, name)
	if err != nil {
		return nil, err
	}
	defer unlockDir(lock)
	r := &VerifyReport{Dir: dir, Name: name, Healthy: true, MaxBytes: maxBytes,
		Segments: []SegmentCheck{}, Bad: []BadFile{}, Problems: []Problem{}}
	if err := r.verifyJournal(); err != nil {
		return nil, fmt.Errorf("buffer %s: verify: %w", name, err)
	}
	nums, bads, err := r.listDir()
	if err != nil {
		return nil, fmt.Errorf("buffer %s: verify: %w", name, err)
	}
	start := r.verifyMeta(nums)
	for i, num := range nums {
		if num < start.readFileNum {
			r.add(Problem{Severity: SevRecoverable, File: segmentPath(dir, name, num),
				What: "segment before the read position: consumed, its removal cut short; Open removes it"})
			continue
		}
		from := int64(0)
		if num == start.readFileNum {
			from = start.readPos
		}
		// A torn write lies past the write position persisted (Open's rule,
		// repair.go): a clean close persists it exactly.
		tornFrom := int64(0)
		if start.known && num == start.writeFileNum {
			tornFrom = start.writePos
		}
		if err := r.verifySegment(segmentPath(dir, name, num), from, i == len(nums)-1, tornFrom); err != nil {
			return nil, fmt.Errorf("buffer %s: verify: %w", name, err)
		}
	}
	for _, b := range bads {
		if err := r.verifyBad(filepath.Join(dir, b)); err != nil {
			return nil, fmt.Errorf("buffer %s: verify: %w", name, err)
		}
	}
	if r.MaxBytes > 0 && r.Bytes+r.BadBytes > r.MaxBytes {
		r.add(Problem{Severity: SevNote, File: dir, Length: r.Bytes + r.BadBytes - r.MaxBytes,
			What: fmt.Sprintf("holds %d bytes (%d in .bad files) above its cap of %d: writers wait (or drop, by when_full) until it drains",
				r.Bytes+r.BadBytes, r.BadBytes, r.MaxBytes)})
	}
	return r, nil
}

// listDir returns the segment numbers in order and the .bad file names,
// and adds up DiskBytes.
func (r *VerifyReport) listDir() (nums []int64, bads []string, err error) {
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil {
			r.DiskBytes += fi.Size()
		}
		fn := e.Name()
		if num, ok := segmentNum(r.Name, fn); ok {
			nums = append(nums, num)
		} else if quarantined(r.Name, fn) {
			bads = append(bads, fn)
		} else if strings.HasPrefix(fn, r.Name+".diskqueue.meta.dat.") && strings.HasSuffix(fn, ".tmp") {
			r.add(Problem{Severity: SevRecoverable, File: filepath.Join(r.Dir, fn),
				What: "metadata write cut short by a crash; Open removes it"})
		}
	}
	slices.Sort(nums)
	return nums, bads, nil
}

// isWouldBlock reports a lock held elsewhere.
func isWouldBlock(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// metaStart is diskqueue's metadata as Verify takes it.
type metaStart struct {
	dqMeta
	known bool // read from a valid file
}

// verifyMeta checks diskqueue's metadata against the segments present and
// returns where reading starts.
func (r *VerifyReport) verifyMeta(nums []int64) metaStart {
	mp := metaPath(r.Dir, r.Name)
	m, err := readMeta(mp)
	if err != nil {
		m := metaStart{}
		if len(nums) > 0 {
			m.readFileNum = nums[0]
			what := "metadata missing: Open rebuilds it from the segments and reads every one"
			if !isNotExist(err) {
				what = fmt.Sprintf("metadata unreadable (%v): Open rebuilds it from the segments and reads every one", err)
			}
			r.add(Problem{Severity: SevRecoverable, File: mp, What: what})
		}
		return m
	}
	if len(nums) > 0 && nums[len(nums)-1] > m.writeFileNum {
		r.add(Problem{Severity: SevRecoverable, File: mp, What: fmt.Sprintf(
			"segments beyond the write segment %06d (up to %06d): Open moves writes past them", m.writeFileNum, nums[len(nums)-1])})
	}
	if fi, err := os.Stat(segmentPath(r.Dir, r.Name, m.readFileNum)); err == nil && m.readPos > fi.Size() {
		r.add(Problem{Severity: SevCorrupt, File: mp, Offset: m.readPos, What: fmt.Sprintf(
			"read position %d is beyond the end of segment %06d (%d bytes)", m.readPos, m.readFileNum, fi.Size())})
	}
	if fi, err := os.Stat(segmentPath(r.Dir, r.Name, m.writeFileNum)); err == nil && fi.Size() < m.writePos {
		// diskqueue advances its write position after a write returns: a
		// process crash leaves the file longer, never shorter.
		r.add(Problem{Severity: SevCorrupt, File: segmentPath(r.Dir, r.Name, m.writeFileNum), Offset: fi.Size(),
			Length: m.writePos - fi.Size(), What: fmt.Sprintf(
				"write segment ends %d bytes short of diskqueue's write position %d: batches written there are gone (power loss or truncation); Open moves writes to a new segment",
				m.writePos-fi.Size(), m.writePos)})
	}
	return metaStart{dqMeta: m, known: true}
}

// verifyJournal checks inflight/*.batch (each read whole and its CRC
// checked) and the consumed record.
func (r *VerifyReport) verifyJournal() error {
	jdir := filepath.Join(r.Dir, "inflight")
	entries, err := os.ReadDir(jdir)
	if err != nil && !isNotExist(err) {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(jdir, e.Name())
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			r.DiskBytes += fi.Size()
		}
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			r.add(Problem{Severity: SevRecoverable, File: path,
				What: "journal write cut short by a crash: the batch is still in its segment; Open removes this file"})
			continue
		}
		seq, ok := journalSeq(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		frame, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h, ok := checkFrame(frame)
		switch {
		case !ok || h.seq != seq:
			events := int64(0)
			if len(frame) >= headerSize {
				events = parseHeader(frame).eventsOf()
			}
			r.add(Problem{Severity: SevCorrupt, File: path, Length: int64(len(frame)), Batches: 1, Events: events,
				What: "in-flight batch fails its CRC (or names another seq): dropped as corrupt when replayed; events are as its header claims"})
		default:
			r.InFlight++
			r.InFlightEvents += h.eventsOf()
		}
		r.Bytes += lenPrefix + int64(len(frame))
		r.Consumed = max(r.Consumed, seq)
	}
	cpath := filepath.Join(r.Dir, "consumed")
	b, err := os.ReadFile(cpath)
	switch {
	case isNotExist(err):
		// A queue never opened, or opened by an older Pulse: Open writes it.
	case err != nil:
		return err
	case len(b) < consumedSize ||
		binary.BigEndian.Uint32(b[8:12]) != crc32.Checksum(b[:8], castagnoli) ||
		binary.BigEndian.Uint64(b[:8]) >= maxSeq:
		r.add(Problem{Severity: SevRecoverable, File: cpath, Length: int64(len(b)),
			What: "consumed record does not verify: batches read again after a crash may be delivered twice, nothing is lost"})
	default:
		r.Consumed = max(r.Consumed, binary.BigEndian.Uint64(b[:8]))
	}
	return nil
}

// verifyBad reports a .bad segment and what in it can be salvaged.
func (r *VerifyReport) verifyBad(path string) error {
	buf, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	bf := BadFile{File: path, Size: int64(len(buf)), Harmless: consumedBad(path, r.Consumed)}
	r.BadBytes += bf.Size
	if bf.Harmless {
		r.Bad = append(r.Bad, bf)
		r.add(Problem{Severity: SevNote, File: path, Length: bf.Size,
			What: "holds only consumed batches (diskqueue bug #38): Open removes it"})
		return nil
	}
	sc := scanBad(buf, r.Consumed)
	bf.Frames, bf.Events = sc.saved.batches, sc.saved.events
	r.Bad = append(r.Bad, bf)
	var lost int64
	for _, g := range sc.gaps {
		lost += g.Length
	}
	r.add(Problem{Severity: SevCorrupt, File: path, Length: bf.Size, Batches: bf.Frames, Events: bf.Events,
		What: fmt.Sprintf("quarantined segment not reviewed: %d verifiable batches (%d events) not yet consumed can be put back with `pulse buffer salvage`, %d bytes do not verify; `pulse buffer clear-bad` removes it",
			bf.Frames, bf.Events, lost)})
	return nil
}
