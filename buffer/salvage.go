package buffer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Range is a stretch of a file.
type Range struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// badScan is a .bad segment read frame by frame.
type badScan struct {
	frames []frameRef // verified, not consumed, in file order
	saved  tally      // over frames
	dups   tally      // verified frames already consumed
	gaps   []Range    // bytes that do not verify
}

// scanBad reads a .bad segment from its start, resyncing past garbage to
// the next frame whose CRC verifies, like scanLost. diskqueue read the
// frames before the point where it failed (and Next consumed them, unless
// their seq is above consumed); it never read those after it, whatever
// their seq: the queue went on with later segments, so consumed is
// likely above them.
func scanBad(buf []byte, consumed uint64) badScan {
	var s badScan
	cut := 0 // where diskqueue failed to read
	for {
		n, ok := frameAt(buf, cut)
		if !ok {
			break
		}
		cut += n
	}
	for p := 0; p < len(buf); {
		n := verifiedFrameLen(buf, p, maxSeq)
		if n == 0 {
			next := resync(buf, p+1, maxSeq)
			s.gaps = append(s.gaps, Range{Offset: int64(p), Length: int64(next - p)})
			p = next
			continue
		}
		fr := frameRef{off: int64(p), size: int64(n), hdr: parseHeader(buf[p+lenPrefix:])}
		if p < cut && fr.hdr.seq <= consumed {
			s.dups.add(fr)
		} else {
			s.frames = append(s.frames, fr)
			s.saved.add(fr)
		}
		p += n
	}
	return s
}

// SalvagedBatch is a batch recovered from a .bad segment.
type SalvagedBatch struct {
	Seq     uint64 // its seq when first written
	Key     uint64 // as given to PutKey
	Events  int
	Payload []byte // valid during the call only
}

// SalvageOptions configure Salvage.
type SalvageOptions struct {
	// MaxBytes is the buffer's cap while batches are put back: those that
	// do not fit are left in their .bad file. 0 (cap unknown) takes what
	// the buffer holds plus what is salvaged.
	MaxBytes int64
	// Write, if set, receives every salvaged batch instead of the queue
	// (pulse buffer salvage -to FILE); the .bad file is removed only if it
	// returns nil for each.
	Write func(SalvagedBatch) error
	// Sync, if set, runs after the last Write and before any .bad file is
	// removed (flush and fsync what Write wrote); an error keeps them all.
	Sync   func() error
	Logger *slog.Logger // for the Queue opened to put batches back; default discards
}

// SalvageFile is what Salvage did with one .bad segment.
type SalvageFile struct {
	File         string  `json:"file"`
	Size         int64   `json:"size"`
	Saved        int64   `json:"saved_batches"`
	SavedEvents  int64   `json:"saved_events"`
	SavedBytes   int64   `json:"saved_bytes"`
	Consumed     int64   `json:"consumed_batches"` // verified but already consumed: skipped
	Unsaved      []Range `json:"unsaved"`          // bytes that do not verify
	UnsavedBytes int64   `json:"unsaved_bytes"`
	// Left are verified batches not saved (the cap reached, or Write
	// failed): the file is kept.
	Left    int64  `json:"left_batches,omitempty"`
	Removed bool   `json:"removed"`
	Error   string `json:"error,omitempty"`
}

// SalvageReport is the result of Salvage for one buffer.
type SalvageReport struct {
	Dir   string        `json:"dir"`
	Name  string        `json:"name"`
	Files []SalvageFile `json:"files"`
	// Saved totals over Files.
	Batches int64 `json:"saved_batches"`
	Events  int64 `json:"saved_events"`
}

// Salvage re-reads every .bad segment of the buffer frame by frame and
// puts each batch whose CRC verifies and whose seq is not consumed back
// into the queue (with its events count and key; it gets a new seq and
// goes to the back of the queue), or hands it to opts.Write. A .bad file
// all of whose verified batches were saved is removed: what is left in it
// does not verify, and the report names those ranges. Harmless .bad files
// (only consumed batches) are removed too. Like Verify it refuses, with
// ErrLocked, a buffer held open.
func Salvage(dir, name string, opts SalvageOptions) (*SalvageReport, error) {
	lock, err := lockOffline(dir, name)
	if err != nil {
		return nil, err
	}
	rep := &SalvageReport{Dir: dir, Name: name, Files: []SalvageFile{}}
	consumed, bads, held, err := badState(dir, name)
	if err != nil {
		_ = unlockDir(lock)
		return nil, fmt.Errorf("buffer %s: salvage: %w", name, err)
	}
	// Scan first, holding the lock, to size the queue and skip a needless
	// Open. (The data_dir lock, taken by pulse buffer, keeps an agent from
	// starting between unlocking here and Open.)
	var need int64
	scans := make([]badScan, len(bads))
	for i, path := range bads {
		buf, err := os.ReadFile(path)
		if err != nil {
			_ = unlockDir(lock)
			return nil, fmt.Errorf("buffer %s: salvage: %w", name, err)
		}
		scans[i] = scanBad(buf, consumed)
		need += scans[i].saved.bytes
	}
	_ = unlockDir(lock)

	var q *Queue
	if opts.Write == nil && need > 0 {
		logger := opts.Logger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		maxBytes := opts.MaxBytes
		if maxBytes <= 0 {
			maxBytes = max(MinMaxBytes, held+need+MaxPayloadLimit)
		}
		q, err = Open(Options{Dir: dir, Name: name, MaxBytes: maxBytes, WhenFull: DropNewest, Logger: logger})
		if err != nil {
			if isWouldBlock(err) {
				return nil, fmt.Errorf("buffer %s: %s: %w: stop the agent first", name, dir, ErrLocked)
			}
			return nil, fmt.Errorf("buffer %s: salvage: %w", name, err)
		}
	}
	// A file is put back whole or not at all, so that a kept one holds no
	// batch already back in the queue (salvaging it again, -to FILE say,
	// would duplicate it).
	room := int64(1) << 62
	if q != nil {
		room = q.opts.MaxBytes - held
	}
	for i, path := range bads {
		var sf SalvageFile
		if n := scans[i].saved.bytes; n > room {
			sf = SalvageFile{File: path, Consumed: scans[i].dups.batches, Unsaved: scans[i].gaps, Left: scans[i].saved.batches,
				Error: fmt.Sprintf("its %d verified batches (%d bytes) do not fit under the cap (%d bytes free): salvage -to FILE, or let the buffer drain first", scans[i].saved.batches, n, max(room, 0))}
			for _, g := range sf.Unsaved {
				sf.UnsavedBytes += g.Length
			}
			if sf.Unsaved == nil {
				sf.Unsaved = []Range{}
			}
			if fi, err := os.Stat(path); err == nil {
				sf.Size = fi.Size()
			}
		} else {
			room -= n
			sf = salvageFile(q, path, scans[i], opts.Write)
		}
		rep.Batches += sf.Saved
		rep.Events += sf.SavedEvents
		rep.Files = append(rep.Files, sf)
	}
	if q != nil {
		if err := q.Close(); err != nil {
			return rep, fmt.Errorf("buffer %s: salvage: %w", name, err)
		}
	}
	if opts.Write != nil && opts.Sync != nil {
		if err := opts.Sync(); err != nil {
			return rep, fmt.Errorf("buffer %s: salvage: %w", name, err)
		}
	}
	// Removed only once the queue is closed: its batches are then written.
	for i := range rep.Files {
		sf := &rep.Files[i]
		if sf.Error != "" || sf.Left > 0 {
			continue
		}
		if err := os.Remove(sf.File); err != nil && !errors.Is(err, fs.ErrNotExist) {
			sf.Error = err.Error()
			continue
		}
		sf.Removed = true
	}
	return rep, nil
}

// salvageFile puts one scanned .bad file's verified batches back (q) or
// writes them (write).
func salvageFile(q *Queue, path string, s badScan, write func(SalvagedBatch) error) SalvageFile {
	sf := SalvageFile{File: path, Consumed: s.dups.batches, Unsaved: s.gaps}
	if sf.Unsaved == nil {
		sf.Unsaved = []Range{}
	}
	for _, g := range s.gaps {
		sf.UnsavedBytes += g.Length
	}
	buf, err := os.ReadFile(path)
	if isNotExist(err) && len(s.frames) == 0 {
		return sf // harmless, removed by Open
	}
	if err != nil {
		sf.Error = err.Error()
		sf.Left = int64(len(s.frames))
		return sf
	}
	sf.Size = int64(len(buf))
	for i, fr := range s.frames {
		// Checked again: the file was read twice.
		n := verifiedFrameLen(buf, int(fr.off), maxSeq)
		if int64(n) != fr.size || parseHeader(buf[fr.off+lenPrefix:]) != fr.hdr {
			sf.Error = fmt.Sprintf("%s changed while salvaging", path)
			sf.Left = int64(len(s.frames) - i)
			return sf
		}
		b := SalvagedBatch{Seq: fr.hdr.seq, Key: fr.hdr.key, Events: int(fr.hdr.eventsOf()),
			Payload: buf[fr.off+frameOverhead : fr.off+fr.size]}
		saved, err := putSalvaged(q, b, write)
		if err != nil && sf.Error == "" {
			sf.Error = fmt.Sprintf("batch seq %d at offset %d: %v", b.Seq, fr.off, err)
		}
		if !saved {
			sf.Left++
			continue
		}
		sf.Saved++
		sf.SavedEvents += int64(b.Events)
		sf.SavedBytes += fr.size
	}
	return sf
}

// putSalvaged stores one batch; saved is false when the cap left no room.
func putSalvaged(q *Queue, b SalvagedBatch, write func(SalvagedBatch) error) (saved bool, err error) {
	if write != nil {
		if err := write(b); err != nil {
			return false, err
		}
		return true, nil
	}
	dropped := q.Stats().DroppedNewestBatches
	if err := q.PutKey(context.Background(), b.Key, b.Payload, b.Events); err != nil {
		return false, err
	}
	if q.Stats().DroppedNewestBatches != dropped {
		return false, fmt.Errorf("buffer full: the cap leaves no room (salvage with -to FILE instead)")
	}
	return true, nil
}

// badState returns the highest seq consumed (the consumed record and the
// journal, as Open takes it), the .bad segments of name in dir, and the
// bytes the queue holds against its cap (as Inspect counts them).
func badState(dir, name string) (consumed uint64, bads []string, held int64, err error) {
	in, err := Inspect(dir, name)
	if err != nil {
		return 0, nil, 0, err
	}
	consumed = readConsumed(filepath.Join(dir, "consumed"))
	if entries, err := os.ReadDir(filepath.Join(dir, "inflight")); err == nil {
		for _, e := range entries {
			if seq, ok := journalSeq(e.Name()); ok {
				consumed = max(consumed, seq)
			}
		}
	}
	bads, err = badFiles(dir, name)
	return consumed, bads, in.Bytes, err
}

// badFiles lists the .bad segments of name in dir, in order.
func badFiles(dir, name string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bads []string
	for _, e := range entries {
		if e.Type().IsRegular() && quarantined(name, e.Name()) {
			bads = append(bads, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(bads)
	return bads, nil
}

// ClearedFile is a .bad file removed by ClearBad.
type ClearedFile struct {
	File string `json:"file"`
	Size int64  `json:"size"`
}

// ClearBad removes every .bad segment of the buffer, reviewed (and
// salvaged, if wanted) by the operator: what the health alarm reports.
// Like Verify it refuses, with ErrLocked, a buffer held open.
func ClearBad(dir, name string) ([]ClearedFile, error) {
	lock, err := lockOffline(dir, name)
	if err != nil {
		return nil, err
	}
	defer unlockDir(lock)
	bads, err := badFiles(dir, name)
	if err != nil {
		return nil, fmt.Errorf("buffer %s: clear-bad: %w", name, err)
	}
	cleared := []ClearedFile{}
	for _, path := range bads {
		fi, err := os.Stat(path)
		if err != nil {
			return cleared, fmt.Errorf("buffer %s: clear-bad: %w", name, err)
		}
		if err := os.Remove(path); err != nil {
			return cleared, fmt.Errorf("buffer %s: clear-bad: %w", name, err)
		}
		cleared = append(cleared, ClearedFile{File: path, Size: fi.Size()})
	}
	return cleared, nil
}

// QueueName returns the name of the queue whose files are in dir (a
// buffer's directory), from its lock, metadata or segment files.
func QueueName(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	names := map[string]bool{}
	for _, e := range entries {
		fn := e.Name()
		if n, ok := strings.CutSuffix(fn, ".lock"); ok && validName(n) {
			names[n] = true
		} else if n, _, ok := strings.Cut(fn, ".diskqueue."); ok && validName(n) {
			names[n] = true
		}
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("%s is not a buffer directory (no <name>.lock or <name>.diskqueue.* files)", dir)
	case 1:
		for n := range names {
			return n, nil
		}
	}
	return "", fmt.Errorf("%s holds the files of several queues %v", dir, slices.Sorted(maps.Keys(names)))
}
