package buffer

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"pulse/lograte"
)

// FsyncMode says when a Queue forces its writes to stable storage, that is
// what a power loss (or a kernel crash) may take. A process crash, kill -9
// included, loses nothing Put accepted in any mode: every write is in the
// kernel's page cache before Put or Next returns.
//
// The files the queue replaces whole go through package durable (tmp +
// rename, so a kill -9 leaves the old or the new file, never a part): the
// in-flight journal's files with durable.Sync under FsyncAlways and
// durable.NoSync otherwise (FsyncInterval syncs them on its ticker); the
// metadata Open rewrites after recovery with durable.Sync, except under
// FsyncNever (durable.NoSync: a lost rewrite is rebuilt from the segments
// at the next Open); a segment Open repairs, and its quarantine (.bad),
// with durable.Sync in every mode, as they replace bytes that may have been
// durable long before.
type FsyncMode string

const (
	// FsyncNever leaves flushing to the OS (Linux writes dirty pages back
	// within about 30 s, vm.dirty_expire_centisecs). The queue calls no
	// fsync of its own and diskqueue syncs only where it must: when it
	// starts a new segment, when it removes one fully read, and at Close.
	// A power loss may lose batches written in the last ~30 s, and leave
	// in-flight journal files empty (reported as corrupt at the next Open).
	FsyncNever FsyncMode = "never"
	// FsyncInterval syncs at most every FsyncInterval: diskqueue syncs its
	// write segment and metadata on a ticker of that period while it is
	// busy, and the queue syncs the in-flight journal and the directories
	// on the same period. A power loss loses at most what was written in
	// the last interval: batches put, and batches Next moved from the
	// segments to the in-flight journal.
	FsyncInterval FsyncMode = "interval"
	// FsyncAlways syncs the write segment before Put returns (so before a
	// source is acknowledged) and a batch's journal file and directory
	// before Next takes it off diskqueue: a power loss loses nothing Put
	// returned for. It costs one fsync per Put and two per Next.
	FsyncAlways FsyncMode = "always"
)

// DefaultFsyncInterval is Options.FsyncInterval's default, Vector's too.
const DefaultFsyncInterval = 500 * time.Millisecond

// Options.SyncEvery and SyncTimeout when a mode wants no periodic diskqueue
// sync: diskqueue's count never reaches the first, and its ticker never fires
// within the second.
const (
	noSyncEvery   = 1 << 62
	noSyncTimeout = 24 * 365 * time.Hour
)

// valid reports a known mode; "" is the default.
func (m FsyncMode) valid() bool {
	switch m {
	case "", FsyncNever, FsyncInterval, FsyncAlways:
		return true
	}
	return false
}

// syncer forces the queue's files to stable storage per Options.Fsync: the
// write segment after each Put under FsyncAlways (diskqueue's own sync runs
// only after Put has returned), and the journal and directories on a ticker
// under FsyncInterval. The journal syncs itself under FsyncAlways.
type syncer struct {
	mode FsyncMode
	dir  string
	name string
	jr   *journal
	log  *slog.Logger

	writes atomic.Uint64 // frames written to diskqueue

	mu     sync.Mutex // serialises segment syncs
	seg    *os.File   // FsyncAlways: the segment diskqueue writes to, found after the first Put
	segNum int64
	synced uint64 // writes covered by the last segment sync

	stop chan struct{} // FsyncInterval: closed by close
	done chan struct{}

	errLog lograte.Limiter
	onSync func(path string) // tests only: called before each fsync
}

func newSyncer(opts Options, jr *journal, log *slog.Logger) *syncer {
	s := &syncer{mode: opts.Fsync, dir: opts.Dir, name: opts.Name, jr: jr, log: log,
		errLog: lograte.Limiter{Every: 10 * time.Second}, onSync: opts.onSync}
	if s.mode == FsyncInterval {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.loop(opts.FsyncInterval)
	}
	return s
}

// wrote counts a frame written to diskqueue. Callers hold wmu.
func (s *syncer) wrote() { s.writes.Add(1) }

// put makes every frame written so far durable under FsyncAlways: one fsync
// of the write segment, shared by Puts that wrote before it started.
func (s *syncer) put() error {
	if s.mode != FsyncAlways {
		return nil
	}
	want := s.writes.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.synced >= want {
		return nil
	}
	if err := s.findSegment(); err != nil {
		return err
	}
	if err := fsync(s.seg, s.onSync); err != nil {
		return err
	}
	s.synced = want
	return nil
}

// findSegment points seg at the segment diskqueue writes to: the highest
// numbered one, as recovery moves writing past every segment present and
// diskqueue numbers new ones in order. A segment new to the queue gets its
// directory entry synced too. Callers hold mu.
func (s *syncer) findSegment() error {
	if s.seg == nil {
		entries, err := os.ReadDir(s.dir)
		if err != nil {
			return err
		}
		num := int64(-1)
		for _, e := range entries {
			if n, ok := segmentNum(s.name, e.Name()); ok && e.Type().IsRegular() {
				num = max(num, n)
			}
		}
		if num < 0 {
			return fmt.Errorf("no diskqueue segment in %s after a write", s.dir)
		}
		if err := s.openSegment(num); err != nil {
			return err
		}
	}
	for {
		next := segmentPath(s.dir, s.name, s.segNum+1)
		if _, err := os.Stat(next); isNotExist(err) {
			return nil
		} else if err != nil {
			return err
		}
		// diskqueue synced the old segment when it moved on, but a Put
		// racing the roll may have written to it after our last sync.
		if err := fsync(s.seg, s.onSync); err != nil {
			return err
		}
		_ = s.seg.Close()
		s.seg = nil
		if err := s.openSegment(s.segNum + 1); err != nil {
			return err
		}
	}
}

func (s *syncer) openSegment(num int64) error {
	f, err := os.Open(segmentPath(s.dir, s.name, num))
	if err != nil {
		return err
	}
	s.seg, s.segNum = f, num
	return syncDirHooked(s.dir, s.onSync)
}

// loop syncs the journal and the directories every interval, until close.
// diskqueue syncs the segments on its own ticker of the same period.
func (s *syncer) loop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.flush(); err != nil {
				if ok, held := s.errLog.Allow(time.Now()); ok {
					s.log.Error("buffer fsync failed", "err", err, "suppressed", held)
				}
			}
		case <-s.stop:
			return
		}
	}
}

// flush syncs the journal files written since the last flush that are still
// there, the journal's directory (renames and removals) and the queue's
// (segments and metadata diskqueue created).
func (s *syncer) flush() error {
	if err := s.jr.syncPending(); err != nil {
		return err
	}
	return syncDirHooked(s.dir, s.onSync)
}

// close stops the ticker and, unless the mode is FsyncNever, syncs what the
// last interval left. Call it after diskqueue's Close, which syncs the
// segment and metadata.
func (s *syncer) close() error {
	var err error
	if s.stop != nil {
		close(s.stop)
		<-s.done
		err = s.flush()
	}
	s.mu.Lock()
	if s.seg != nil {
		_ = s.seg.Close()
		s.seg = nil
	}
	s.mu.Unlock()
	return err
}

// fsync forces f's data to stable storage, calling hook first if set.
func fsync(f *os.File, hook func(string)) error {
	if hook != nil {
		hook(f.Name())
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	return nil
}

// syncDirHooked makes the entries of dir (files created, renamed, removed)
// durable, calling hook first if set. Windows cannot open a directory for
// it, and needs no such sync.
func syncDirHooked(dir string, hook func(string)) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = fsync(f, hook)
	_ = f.Close()
	return err
}
