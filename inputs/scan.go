package inputs

import (
	"os"
	"path/filepath"
	"time"
)

// scan evaluates the globs: it starts following new files, re-links moved
// ones and marks the ones no match points to as orphans. At Run's start,
// offsets holds the loaded checkpoints, and first tells that there were
// none (StartAt applies); later scans pass nil and read new files from the
// beginning.
func (fl *follower) scan(offsets map[fileID]int64, first bool) {
	now := time.Now()
	fl.lastGlob = now
	fl.rescan = false
	clear(fl.scanPaths)
	clear(fl.scanIDs)
	fl.scanOrder = fl.scanOrder[:0]
	for i, pattern := range fl.opts.Paths {
		matches, _ := filepath.Glob(pattern) // patterns were checked in NewFile
		files := 0
		for _, p := range matches {
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue // gone since, or not a file to follow (directory, FIFO)
			}
			id, ok := fileIDOf(fi)
			if !ok {
				continue
			}
			files++
			fl.scanPaths[p] = id
			if _, dup := fl.scanIDs[id]; !dup {
				// First match wins: overlapping globs and hard links
				// name one file once.
				fl.scanIDs[id] = p
				fl.scanOrder = append(fl.scanOrder, id)
			}
		}
		fl.matched(i, files, now)
	}

	for _, t := range fl.tails {
		if fl.scanPaths[t.path] == t.id {
			fl.relink(t)
			continue
		}
		p, ok := fl.scanIDs[t.id]
		if !ok {
			if !t.orphan {
				fl.orphaned(t, now)
			}
			continue
		}
		fl.log.Info("file found under another path", "path", t.path, "new_path", p)
		if !t.moved {
			fl.f.rotations.Add(1) // renamed and found again in one scan
		}
		t.path, t.moved = p, false
		fl.f.ckpt.rename(t.entry, p)
		fl.relink(t)
	}

	for _, id := range fl.scanOrder {
		if _, ok := fl.byID[id]; ok {
			continue
		}
		fl.open(fl.scanIDs[id], offsets, first, now)
	}
	fl.f.files.Store(int64(len(fl.tails)))
}

// relink marks t as found at its path.
func (fl *follower) relink(t *tail) {
	t.orphan, t.awayPolls = false, 0
}

// open starts following the file at path. At Run's start (offsets not nil)
// it resumes at the file's committed offset, or if it has none and this is
// the first start, at StartAt; otherwise it reads from the beginning.
func (fl *follower) open(path string, offsets map[fileID]int64, first bool, now time.Time) {
	file, err := os.Open(path)
	if err != nil {
		if ok, n := fl.openLog.Allow(now); ok {
			fl.log.Warn("opening file failed", "path", path, "err", err, "suppressed", n)
		}
		return
	}
	fi, err := file.Stat()
	var id fileID
	ok := err == nil
	if ok {
		id, ok = fileIDOf(fi) // the open file's identity: it may have been replaced since the glob
	}
	if !ok || !fi.Mode().IsRegular() {
		file.Close()
		return
	}
	if _, dup := fl.byID[id]; dup {
		file.Close()
		return
	}
	var pos int64
	skipping := false
	if offset, ok := offsets[id]; ok {
		pos = offset
		if fi.Size() < offset {
			fl.f.truncations.Add(1)
			fl.log.Warn("file shorter than its checkpoint, reading it from the start", "path", path, "offset", offset, "size", fi.Size())
			pos = 0
		}
	} else if first && fl.opts.StartAt == StartAtEnd {
		pos = fi.Size()
		// Skip the rest of a line being written, not emit it as a line.
		var last [1]byte
		if pos > 0 {
			n, _ := file.ReadAt(last[:], pos-1)
			skipping = n == 1 && last[0] != '\n'
		}
	}
	t := &tail{id: id, path: path, file: file, pos: pos, seen: pos, skipping: skipping}
	t.entry = fl.f.ckpt.add(id, path, pos)
	fl.tails = append(fl.tails, t)
	fl.byID[id] = t
	fl.log.Info("following file", "path", path, "offset", pos, "size", fi.Size())
}

// emptyPatternGrace is how long a path pattern may match nothing, after it
// matched a file, before that is worth a warning: a rotation by rename
// leaves no file at the path for a moment.
const emptyPatternGrace = 10 * time.Second

// patternState is what the scans saw of one path pattern.
type patternState struct {
	emptySince time.Time // zero while it matches a file
	warned     bool      // a warning that it matches nothing is out
}

// matched notes that pattern i matched files regular files in the scan at
// now: a pattern that matches nothing at the start, or for
// emptyPatternGrace later on, is a warning — a typo in a path is otherwise
// silence — and files appearing after that warning are news again.
func (fl *follower) matched(i, files int, now time.Time) {
	if fl.patterns == nil {
		fl.patterns = make([]patternState, len(fl.opts.Paths))
		for j := range fl.patterns {
			fl.patterns[j].emptySince = now
		}
		fl.patternsStart = now
	}
	ps, pattern := &fl.patterns[i], fl.opts.Paths[i]
	if files > 0 {
		if ps.warned {
			fl.log.Info("path pattern matches files now", "pattern", pattern, "files", files)
		}
		*ps = patternState{}
		return
	}
	if ps.emptySince.IsZero() {
		ps.emptySince = now
	}
	if ps.warned || (!ps.emptySince.Equal(fl.patternsStart) && now.Sub(ps.emptySince) < emptyPatternGrace) {
		return
	}
	ps.warned = true
	fl.log.Warn("path pattern matches no file; it is checked again every glob interval", "pattern", pattern, "since", ps.emptySince.Format(time.RFC3339))
}
