package buffer

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"pulse/durable"
)

// journal makes acknowledgement possible on top of diskqueue, which forgets a
// message as soon as it is read. Before Next consumes a frame from diskqueue
// it writes the frame to inflight/<seq>.batch (tmp + rename, so a file
// present is whole) and records seq as the highest consumed; Ack removes the
// file. After a crash, the files left are handed out again, and frames that
// diskqueue delivers a second time (its read position is only persisted at
// its syncs) are recognised by seq <= consumed and skipped.
//
// Options.Fsync says what is fsynced (see sync.go): under FsyncAlways each
// journal file and its rename before the frame is consumed from diskqueue,
// under FsyncInterval the files still present at each tick. The consumed
// record is never synced: a stale one only lets duplicates through.
//
// A crash cannot tear the journal the way it tears a segment's last frame:
// a .batch file appears by rename only once written whole (a .tmp left
// behind is removed at Open, its frame still in diskqueue), and the consumed
// record is one 12-byte pwrite within a page, which a kill -9 does not cut
// (the kernel copies it in one go; a fatal signal is only acted on between
// pages). A power loss may leave either not verifying: a consumed record
// that does not verify costs duplicates only; a .batch that does not is
// counted as corrupt when replayed, as its frame may be gone from diskqueue.
type journal struct {
	dir      string   // Dir/inflight
	spares   *spares  // files of acknowledged entries, reused (journal_spare.go)
	consumed *os.File // Dir/consumed: [seq u64][crc32c of seq u32]
	rec      [consumedSize]byte

	fsync    FsyncMode
	onSync   func(path string)   // tests only: called before each fsync
	mu       sync.Mutex          // guards unsynced
	unsynced map[uint64]struct{} // FsyncInterval: journaled since the last syncPending
}

const (
	consumedSize  = 12
	journalSuffix = ".batch"
	tmpSuffix     = durable.TmpSuffix // a journal write cut short: <seq>.batch.tmp (older versions: <seq>.tmp)
)

// journaled is a batch found in the journal at Open.
type journaled struct {
	seq    uint64
	bytes  int64 // what it costs against MaxBytes, like the frame in a segment
	events int64
}

// openJournal opens the journal in dir, removes writes cut short by a crash
// and returns the batches left in flight in seq order, and the highest seq
// consumed from diskqueue.
func openJournal(dir string) (j *journal, left []journaled, consumed uint64, err error) {
	j = &journal{dir: filepath.Join(dir, "inflight")}
	if err := os.MkdirAll(j.dir, 0o750); err != nil {
		return nil, nil, 0, err
	}
	if j.spares, err = openSpares(dir, 0); err != nil {
		return nil, nil, 0, err
	}
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, nil, 0, err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			// Journaling never finished, so the frame was not consumed from
			// diskqueue and will come again.
			if err := os.Remove(filepath.Join(j.dir, name)); err != nil && !isNotExist(err) {
				return nil, nil, 0, err
			}
			continue
		}
		seq, ok := journalSeq(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := j.inspect(seq)
		if err != nil {
			return nil, nil, 0, err
		}
		left = append(left, b)
	}
	slices.SortFunc(left, func(a, b journaled) int { return cmp.Compare(a.seq, b.seq) })

	j.consumed, err = os.OpenFile(filepath.Join(dir, "consumed"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, err
	}
	n, err := j.consumed.ReadAt(j.rec[:], 0)
	switch {
	case n == consumedSize:
		seq := binary.BigEndian.Uint64(j.rec[:8])
		if binary.BigEndian.Uint32(j.rec[8:]) == crc32.Checksum(j.rec[:8], castagnoli) && seq < maxSeq {
			consumed = seq
		}
		// A bad record only costs duplicates: frames are then skipped only
		// up to the highest seq in the journal.
	case err != nil && err != io.EOF:
		j.consumed.Close()
		return nil, nil, 0, fmt.Errorf("read %s: %w", j.consumed.Name(), err)
	}
	if len(left) > 0 {
		// The journal file is written before the consumed record.
		consumed = max(consumed, left[len(left)-1].seq)
	}
	if n < consumedSize {
		// Written now, so that its block exists: setConsumed, an
		// overwrite in place, then needs no room even on a full disk.
		if err := j.setConsumed(consumed); err != nil {
			j.consumed.Close()
			return nil, nil, 0, fmt.Errorf("write %s: %w", j.consumed.Name(), err)
		}
	}
	return j, left, consumed, nil
}

// inspect reads the header of a journaled batch. A file that is short or
// whose header does not name its seq is kept with no events; its CRC fails
// when it is read for replay.
func (j *journal) inspect(seq uint64) (journaled, error) {
	f, err := os.Open(j.path(seq, journalSuffix))
	if err != nil {
		return journaled{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return journaled{}, err
	}
	b := journaled{seq: seq, bytes: lenPrefix + fi.Size()}
	var hb [headerSize]byte
	if _, err := f.ReadAt(hb[:], 0); err == nil {
		if h := parseHeader(hb[:]); h.seq == seq {
			b.events = h.eventsOf()
		}
	}
	return b, nil
}

func (j *journal) path(seq uint64, suffix string) string {
	return filepath.Join(j.dir, fmt.Sprintf("%020d%s", seq, suffix))
}

func journalSeq(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, journalSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil && seq > 0 && seq < maxSeq
}

// write journals a frame, written whole before it is renamed into place so
// that a file present is whole. What it syncs follows Options.Fsync:
// FsyncAlways durable.Sync — the file and its rename, before Next takes the
// frame off diskqueue, whose read position may then be persisted past it;
// FsyncInterval nothing, the ticker syncing the files still there within an
// interval (syncPending); FsyncNever nothing, atomic against a crash of the
// process only. The two without a sync write through a spare file (see
// journal_spare.go); FsyncAlways, whose fsyncs cost far more than a create,
// through durable's tmp file.
func (j *journal) write(seq uint64, frame []byte) error {
	if j.fsync == FsyncAlways {
		w := durable.Writer{Policy: durable.Sync, Perm: 0o600}
		if j.onSync != nil {
			w.Hook = func(s durable.Step, path string) {
				if s == durable.StepSync || s == durable.StepSyncDir {
					j.onSync(path)
				}
			}
		}
		return w.WriteFile(j.path(seq, journalSuffix), frame)
	}
	if err := j.spares.write(seq, j.path(seq, journalSuffix), frame); err != nil {
		return err
	}
	if j.fsync == FsyncInterval {
		j.mu.Lock()
		if j.unsynced == nil {
			j.unsynced = make(map[uint64]struct{})
		}
		j.unsynced[seq] = struct{}{}
		j.mu.Unlock()
	}
	return nil
}

// syncPending fsyncs the journal files written since the last call that are
// still there (an acknowledged batch needs no sync), then the directory.
func (j *journal) syncPending() error {
	j.mu.Lock()
	pending := j.unsynced
	j.unsynced = nil
	j.mu.Unlock()
	for seq := range pending {
		f, err := os.Open(j.path(seq, journalSuffix))
		if isNotExist(err) {
			continue
		}
		if err == nil {
			err = fsync(f, j.onSync)
			_ = f.Close()
		}
		if err != nil {
			j.requeue(pending) // tried again at the next tick
			return fmt.Errorf("journal batch %d: %w", seq, err)
		}
	}
	if err := syncDirHooked(j.dir, j.onSync); err != nil {
		j.requeue(pending)
		return err
	}
	return nil
}

// requeue adds seqs back to the files syncPending syncs; those removed
// meanwhile are skipped there.
func (j *journal) requeue(seqs map[uint64]struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.unsynced == nil {
		j.unsynced = seqs
		return
	}
	for seq := range seqs {
		j.unsynced[seq] = struct{}{}
	}
}

// read returns a journaled frame.
func (j *journal) read(seq uint64) ([]byte, error) {
	return os.ReadFile(j.path(seq, journalSuffix))
}

// remove forgets a journaled batch.
func (j *journal) remove(seq uint64) error {
	if j.fsync == FsyncInterval {
		j.mu.Lock()
		delete(j.unsynced, seq)
		j.mu.Unlock()
	}
	if handled, err := j.spares.remove(seq); handled {
		return err
	}
	err := os.Remove(j.path(seq, journalSuffix))
	if isNotExist(err) {
		return nil
	}
	return err
}

// setConsumed records seq as the highest seq consumed from diskqueue: one
// pwrite. Callers serialise (the consumer token).
func (j *journal) setConsumed(seq uint64) error {
	binary.BigEndian.PutUint64(j.rec[:8], seq)
	binary.BigEndian.PutUint32(j.rec[8:], crc32.Checksum(j.rec[:8], castagnoli))
	_, err := j.consumed.WriteAt(j.rec[:], 0)
	return err
}

func (j *journal) close() error {
	return errors.Join(j.spares.close(), j.consumed.Close())
}
