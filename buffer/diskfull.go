package buffer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Waits for room on a full disk: short first, so that a disk freed by an
// acknowledgement is used at once, then no busier than once a second.
const (
	diskFullFirstWait = 50 * time.Millisecond
	diskFullMaxWait   = time.Second
)

// isDiskFull reports a write refused for want of room (or quota) rather
// than for a fault: one worth waiting out.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// metaDiskFull reports diskqueue failing to write its metadata for a full
// disk: its tmp file (<name>.diskqueue.meta.dat.<n>.tmp) or the rename
// over the file — not a segment's fsync, which would be a write lost.
func metaDiskFull(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case !isDiskFull(err):
		return false
	case errors.As(err, &pe):
		return strings.Contains(filepath.Base(pe.Path), ".diskqueue.meta.dat")
	case errors.As(err, &le):
		return strings.Contains(filepath.Base(le.New), ".diskqueue.meta.dat")
	}
	return false
}

// untilRoom runs write until it succeeds, fails otherwise than for a full
// disk, ctx ends or the queue closes. While the disk is full it waits —
// backpressure, like a full buffer under Block — and says so, rate-limited:
// another process may free the room, or our own outputs by delivering.
func (q *Queue) untilRoom(ctx context.Context, op string, write func() error) error {
	wait := diskFullFirstWait
	for {
		err := write()
		if err == nil || !isDiskFull(err) {
			return err
		}
		q.diskFull("disk full: waiting for room", "op", op, "dir", q.opts.Dir, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-q.closing:
			t.Stop()
			return errors.Join(err, q.errClosed(op))
		}
		wait = min(2*wait, diskFullMaxWait)
	}
}

// diskFull counts a write refused for a full disk and logs msg with args,
// rate-limited.
func (q *Queue) diskFull(msg string, args ...any) {
	q.mu.Lock()
	q.counters.DiskFullWaits++
	ok, held := q.diskFullLog.Allow(time.Now())
	q.mu.Unlock()
	if ok {
		q.log.Warn(msg, append(args, "suppressed", held)...)
	}
}
