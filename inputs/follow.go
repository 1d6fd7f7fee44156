package inputs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"

	"pulse/event"
	"pulse/lograte"
)

// readsPerTurn bounds how many buffers are read from one file before the
// others get their turn.
const readsPerTurn = 4

// follower is the state of one File.Run, owned by Run's goroutine: the
// followed files and the buffer their lines are cut from. All files share
// one buffer: a batch is handed on before the buffer is reused, and a line
// incomplete at the end of a turn is read again at the next.
type follower struct {
	f    *File
	opts *FileOptions
	log  *slog.Logger
	emit event.Emit
	ctx  context.Context // Run's, for emit

	buf   []byte
	lb    *lineBatcher
	tails []*tail
	byID  map[fileID]*tail

	lastPoll time.Time
	lastGlob time.Time
	rescan   bool // scan the globs at the end of this round

	// Scan results, reused from one scan to the next.
	scanPaths map[string]fileID
	scanIDs   map[fileID]string
	scanOrder []fileID

	openLog, readLog, cutLog lograte.Limiter

	patterns      []patternState // per opts.Paths, for the logs
	patternsStart time.Time      // the first scan
}

func newFollower(f *File, emit event.Emit) *follower {
	o := &f.opts
	every := 10 * time.Second
	lb := newLineBatcher(o.Name, "", o.MaxLineBytes, o.BatchEvents, o.BatchBytes)
	// A file is read again from its checkpoint: commits may wait.
	lb.batch.Replayable = true
	return &follower{
		f:         f,
		opts:      o,
		log:       f.log,
		emit:      emit,
		buf:       make([]byte, readBufferSize(o.MaxLineBytes, o.BatchBytes)),
		lb:        lb,
		byID:      make(map[fileID]*tail),
		scanPaths: make(map[string]fileID),
		scanIDs:   make(map[fileID]string),
		openLog:   lograte.Limiter{Every: every},
		readLog:   lograte.Limiter{Every: every},
		cutLog:    lograte.Limiter{Every: every},
	}
}

// run reads the files round by round until ctx is done or emit fails. Files
// with data are read without pause; files at their end are read again at
// each poll, when they are also checked for truncation and rotation.
func (fl *follower) run(ctx context.Context) error {
	fl.ctx = ctx
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		now := time.Now()
		poll := now.Sub(fl.lastPoll) >= fl.opts.PollInterval
		if poll {
			fl.lastPoll = now
		}
		progress := false
		for _, t := range fl.tails {
			if t.idle && !poll {
				continue
			}
			read, err := fl.read(t)
			if err != nil {
				return err
			}
			switch {
			case read:
				progress = true
				t.awayPolls = 0
			case poll:
				if err := fl.check(t); err != nil {
					return err
				}
			}
		}
		fl.reap()
		if fl.rescan || now.Sub(fl.lastGlob) >= fl.opts.GlobInterval {
			fl.scan(nil, false)
		}
		if progress {
			continue
		}
		wait := time.Until(fl.lastPoll.Add(fl.opts.PollInterval))
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
	return nil
}

// read reads t from its offset for up to readsPerTurn buffers, handing on
// the complete lines. It reports whether it found data it had not seen
// before (an incomplete last line read again is not news).
func (fl *follower) read(t *tail) (read bool, err error) {
	fl.lb.split.skipping = t.skipping
	defer func() {
		t.skipping = fl.lb.split.skipping
		if read {
			// One fstat a turn, for the truncation warning only. The
			// largest size seen: a truncation just now must not hide
			// what it took.
			if fi, err := t.file.Stat(); err == nil {
				t.size = max(t.size, fi.Size())
			}
		}
	}()
	w := 0 // bytes in buf, which starts at file offset t.pos
	for range readsPerTurn {
		n, rerr := t.file.ReadAt(fl.buf[w:], t.pos+int64(w))
		if rerr != nil && rerr != io.EOF {
			fl.readFailed(t, rerr)
		}
		if n == 0 {
			t.idle = true
			return read, nil
		}
		w += n
		if end := t.pos + int64(w); end > t.seen {
			t.seen = end
			read = true
		}
		r, err := fl.cut(t, w, time.Now())
		if err != nil {
			return read, err
		}
		t.pos += int64(r)
		w = copy(fl.buf, fl.buf[r:w])
		if rerr != nil {
			t.idle = true // a short read: at the end for now
			return read, nil
		}
	}
	t.idle = false
	return read, nil
}

// cut hands on the complete lines in fl.buf[:w], read from t at t.pos at
// time now, and returns the number of bytes consumed.
func (fl *follower) cut(t *tail, w int, now time.Time) (r int, err error) {
	for {
		k, full := fl.lb.fill(fl.buf[r:w])
		r += k
		if !full {
			break
		}
		if err := fl.flush(t, t.pos+int64(r), now); err != nil {
			return r, err
		}
	}
	return r, fl.flush(t, t.pos+int64(r), now)
}

// flush hands on the batch, if any, of t's events up to offset end.
func (fl *follower) flush(t *tail, end int64, now time.Time) error {
	lb := fl.lb
	if len(lb.batch.Events) == 0 {
		fl.f.ckpt.skip(t.entry, end)
		return nil
	}
	if lb.cut > 0 {
		if ok, n := fl.cutLog.Allow(now); ok {
			fl.log.Warn("lines longer than max_line_bytes cut", "path", t.path,
				"max_line_bytes", fl.opts.MaxLineBytes, "lines", lb.cut, "suppressed", n)
		}
	}
	b := &lb.batch
	b.Source = t.path
	b.Time = now
	b.Commit = fl.f.ckpt.track(t.entry, end)
	fl.f.stats.count(lb)
	err := fl.emit(fl.ctx, b)
	lb.reset()
	if err != nil {
		return fmt.Errorf("inputs: file %q: emit %s: %w", fl.opts.Name, t.path, err)
	}
	return nil
}

// check looks at a file a poll found at its end: truncated, moved away from
// its path, or, if it is an orphan that stayed at its end for a poll,
// finished.
func (fl *follower) check(t *tail) error {
	if fi, err := t.file.Stat(); err == nil && fi.Size() < t.pos {
		fl.truncated(t, fi.Size())
		return nil
	}
	if t.orphan {
		// Writers often go on appending to a renamed file until told to
		// reopen: give them a poll at the end, and a glob interval.
		t.awayPolls++
		if t.awayPolls >= 2 && time.Since(t.awaySince) >= fl.opts.GlobInterval {
			return fl.finish(t)
		}
		return nil
	}
	fi, err := os.Stat(t.path)
	switch {
	case err == nil:
		if id, ok := fileIDOf(fi); ok && id == t.id {
			return nil
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		fl.readFailed(t, err)
		return nil
	}
	// Keep reading the open file to its end; a rescan finds it again if it
	// moved to a path that matches too, and finds what replaced it.
	fl.orphaned(t, time.Now())
	t.awayPolls = 1 // this poll found it at its end
	fl.rescan = true
	return nil
}

// orphaned marks t as no longer at its path: renamed (a rotation) if the
// file still has a name, else deleted.
func (fl *follower) orphaned(t *tail, now time.Time) {
	t.orphan, t.awayPolls, t.awaySince = true, 0, now
	fi, err := t.file.Stat()
	if err != nil {
		return
	}
	if linksOf(fi) == 0 {
		fl.log.Info("file deleted", "path", t.path)
		return
	}
	fl.log.Info("file renamed away", "path", t.path)
	if !t.moved {
		t.moved = true
		fl.f.rotations.Add(1)
	}
}

// truncated starts t over at offset 0: it was truncated in place
// (copytruncate) below what was read of it.
func (fl *follower) truncated(t *tail, size int64) {
	fl.f.truncations.Add(1)
	// Bytes the file held past the read offset are gone with the
	// truncation (with copytruncate they are only in the copy). t.size was
	// last seen when the file was read: more may have been written since,
	// above all while the input was held back by a full buffer.
	fl.log.Warn("file truncated, reading it from the start: at least unread_bytes past offset were written before the truncation and not read (with copytruncate they are only in the copy)",
		"path", t.path, "offset", t.pos, "size", size, "unread_bytes", max(t.size-t.pos, 0))
	fl.f.ckpt.truncated(t.entry)
	t.pos, t.seen, t.size = 0, 0, size
	t.skipping = false
	t.idle = false
	t.awayPolls = 0
}

// finish hands on the last, unterminated line of an orphan at its end and
// marks it done, to be closed and forgotten by reap.
func (fl *follower) finish(t *tail) error {
	n, rerr := t.file.ReadAt(fl.buf, t.pos)
	if rerr == nil || n == len(fl.buf) {
		t.awayPolls = 0 // it grew after all: read on
		t.idle = false
		return nil
	}
	if rerr != io.EOF {
		fl.readFailed(t, rerr)
	}
	fl.lb.split.skipping = t.skipping
	now := time.Now()
	r, err := fl.cut(t, n, now)
	if err != nil {
		return err
	}
	if ev, cut := fl.lb.split.last(fl.buf[r:n]); len(ev) > 0 {
		fl.lb.add(ev, cut)
	}
	t.skipping = false
	if err := fl.flush(t, t.pos+int64(n), now); err != nil {
		return err
	}
	t.pos += int64(n)
	t.done = true
	fl.log.Info("file finished", "path", t.path, "offset", t.pos)
	return nil
}

// reap closes and forgets the files that are done.
func (fl *follower) reap() {
	fl.tails = slices.DeleteFunc(fl.tails, func(t *tail) bool {
		if !t.done {
			return false
		}
		fl.drop(t)
		return true
	})
	fl.f.files.Store(int64(len(fl.tails)))
}

// drop closes t and forgets it and its checkpoint.
func (fl *follower) drop(t *tail) {
	t.file.Close()
	delete(fl.byID, t.id)
	fl.f.ckpt.remove(t.entry)
}

// close closes every file; their checkpoints are kept for the final write.
func (fl *follower) close() {
	for _, t := range fl.tails {
		t.file.Close()
	}
	fl.tails = nil
	clear(fl.byID)
	fl.f.files.Store(0)
}

// readFailed logs a failed read or stat, at most once per interval.
func (fl *follower) readFailed(t *tail, err error) {
	if ok, n := fl.readLog.Allow(time.Now()); ok {
		fl.log.Warn("reading file failed", "path", t.path, "err", err, "suppressed", n)
	}
}
