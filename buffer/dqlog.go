package buffer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nsqio/go-diskqueue"
)

// diskqueue's log lines that matter, as its source spells them.
const (
	dqReadError  = "DISKQUEUE(%s) reading at %d of %s - %s"
	dqJump       = "DISKQUEUE(%s) jump to next file and saving bad file as %s"
	dqRenameFail = "DISKQUEUE(%s) failed to rename bad diskqueue file %s to %s"
	dqMetaError  = "DISKQUEUE(%s) failed to retrieveMetaData - %s"
	dqDepthHigh  = "DISKQUEUE(%s) positive depth at tail (%d), data loss, resetting 0..."
	dqDepthLow   = "DISKQUEUE(%s) negative depth at tail (%d), metadata corruption, resetting 0..."
	dqReadOpened = "DISKQUEUE(%s): readOne() opened %s"
	dqSyncFail   = "DISKQUEUE(%s) failed to sync - %s"
)

// logDiskQueue is diskqueue's log function. diskqueue calls it from its loop
// goroutine (and from New and Close), synchronously: it must not call back
// into diskqueue. A read error is the one place to learn that diskqueue is
// about to rename a segment to .bad and skip the rest of it.
func (q *Queue) logDiskQueue(lvl diskqueue.LogLevel, f string, args ...any) {
	level := slog.LevelDebug // INFO lines (a segment opened, closing) are routine
	switch lvl {
	case diskqueue.WARN:
		level = slog.LevelWarn
	case diskqueue.ERROR, diskqueue.FATAL:
		level = slog.LevelError
	}
	switch f {
	case dqReadOpened:
		// diskqueue reads one frame ahead only once the last is
		// consumed: a frame peeked comes from the file it opened last.
		if len(args) == 2 {
			if file, ok := args[1].(string); ok {
				q.readFile.Store(&file)
			}
		}
	case dqReadError:
		if len(args) == 4 {
			pos, _ := args[1].(int64)
			file, _ := args[2].(string)
			err, _ := args[3].(error)
			q.onReadError(pos, file, err)
			return
		}
	case dqJump, dqRenameFail:
		if q.dqQuiet.Load() {
			level = slog.LevelDebug
		}
	case dqDepthHigh, dqDepthLow:
		// diskqueue's depth is stale after a crash or a skipped segment;
		// nothing here relies on it, and losses are counted in onReadError.
		level = slog.LevelDebug
	case dqSyncFail:
		// On a full disk diskqueue cannot write its metadata's tmp file,
		// and tries again at every turn of its loop: one WARN now and
		// then, not an ERROR per turn. Its positions stay right in memory;
		// the metadata on disk lags, which Open recovers from (as after a
		// kill -9).
		if len(args) == 2 {
			if err, _ := args[1].(error); metaDiskFull(err) {
				if ok, held := q.dqSyncLog.Allow(time.Now()); ok {
					q.log.Warn("disk full: diskqueue cannot persist its read and write positions; it keeps them in memory and retries, and the next start recovers them from the segments",
						"dir", q.opts.Dir, "err", err, "suppressed", held)
				}
				return
			}
		}
	case dqMetaError:
		// recoverSegments has dealt with the metadata; a missing write
		// segment is normal right after a rotation.
		if len(args) == 2 {
			if err, _ := args[1].(error); isNotExist(err) {
				level = slog.LevelDebug
			}
		}
	}
	if q.log.Enabled(context.Background(), level) {
		q.log.Log(context.Background(), level, fmt.Sprintf(f, args...), "component", "diskqueue")
	}
}

// onReadError runs when diskqueue failed to read at pos of file, just before
// it renames file to file.bad and skips to the next segment.
func (q *Queue) onReadError(pos int64, file string, readErr error) {
	fi, err := os.Stat(file)
	switch {
	case err != nil:
		// The segment is gone: consumed and removed, a crash came before
		// diskqueue persisted that. Nothing counted was in it.
		q.dqQuiet.Store(true)
		q.log.Debug("diskqueue segment missing, skipped", "file", file, "err", readErr)
	case pos == fi.Size():
		// diskqueue bug #38/#42: the reader had caught up when the writer
		// rotated, and it reads on past the end of a fully consumed segment.
		// Nothing is lost; the .bad file is removed once renamed.
		q.dqQuiet.Store(true)
		q.mu.Lock()
		q.benignN++
		q.mu.Unlock()
		if _, err := os.Stat(file + ".bad"); err == nil {
			// Frames of this segment that failed their CRC are
			// quarantined there (admit): diskqueue's rename must not
			// replace them. diskqueue renames after this returns, so
			// removing the consumed segment now makes its rename fail
			// (logged quietly) and leaves the quarantine alone.
			if err := os.Remove(file); err != nil && !isNotExist(err) {
				q.log.Warn("cannot remove consumed diskqueue segment", "file", file, "err", err)
			}
			q.log.Debug("diskqueue reads past a consumed segment (bug #38), removed it", "file", file)
			return
		}
		q.mu.Lock()
		q.benign = append(q.benign, benignBad{path: file + ".bad"})
		q.nbenign.Store(int32(len(q.benign)))
		q.mu.Unlock()
		q.log.Debug("diskqueue renames a consumed segment .bad (bug #38), removing it", "file", file)
	default:
		q.dqQuiet.Store(false)
		lost, serr := scanLost(file, pos, q.nextSeq.Load())
		q.mu.Lock()
		q.queued.sub(lost.counted)
		q.counters.CorruptBatches += lost.batches
		q.counters.LostEvents += lost.events
		q.freeSpace()
		q.mu.Unlock()
		q.disk.invalidate()
		args := []any{"file", file + ".bad", "pos", pos, "size", fi.Size(), "err", readErr,
			"lost_batches", lost.batches, "lost_events", lost.events}
		if serr != nil {
			args = append(args, "scan_err", serr)
		}
		q.log.Error("corrupt diskqueue segment: the rest of it is skipped and kept as .bad", args...)
	}
}
