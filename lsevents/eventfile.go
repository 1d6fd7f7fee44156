package lsevents

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
)

const (
	// headSize is how much of a line's start is kept to read its timestamp.
	headSize = 64
	// rateWindow is the span, in seconds of event time, that Rate covers.
	rateWindow = 60
)

// fileState is what is known of one event file, kept between looks so
// that a look reads only what was appended since the last one.
type fileState struct {
	info   os.FileInfo // at the last look: identity and size
	offset int64       // bytes read
	lines  int64       // complete lines in them

	sawFirst    bool
	first, last time.Time // timestamps of the first and last complete lines, zero if none

	head    [headSize]byte // start of the line being read
	headLen int

	// recent counts lines per second of event time, for the rateWindow
	// seconds up to newest.
	recent    map[int64]int64
	newest    int64
	hasNewest bool
}

// update reads what was appended to the file since the last look. A file
// replaced by another, or shorter than what was read, is read again from
// the start.
func (f *fileState) update(path string, fi os.FileInfo, buf []byte) error {
	if f.info != nil && (!os.SameFile(f.info, fi) || fi.Size() < f.offset) {
		*f = fileState{}
	}
	f.info = fi
	if fi.Size() == f.offset {
		return nil
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	// Up to the size seen, so that the counts match Bytes even while the
	// file grows.
	for f.offset < fi.Size() {
		n, err := file.ReadAt(buf[:min(int64(len(buf)), fi.Size()-f.offset)], f.offset)
		f.consume(buf[:n])
		f.offset += int64(n)
		if err == io.EOF {
			break // truncated meanwhile: read again at the next look
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	return nil
}

// consume counts the lines in p, which continues what was read before.
func (f *fileState) consume(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.keepHead(p)
			return
		}
		f.keepHead(p[:i])
		f.endLine()
		p = p[i+1:]
	}
}

func (f *fileState) keepHead(p []byte) {
	f.headLen += copy(f.head[f.headLen:], p)
}

func (f *fileState) endLine() {
	f.lines++
	sec, nsec, ok := parseTimestamp(f.head[:f.headLen])
	f.headLen = 0
	var t time.Time
	if ok {
		t = time.Unix(sec, nsec).UTC()
		f.count(sec)
	}
	if !f.sawFirst {
		f.sawFirst, f.first = true, t
	}
	f.last = t
}

// count adds a line at second sec to recent, forgetting seconds that have
// left the window.
func (f *fileState) count(sec int64) {
	if f.recent == nil {
		f.recent = make(map[int64]int64, rateWindow+1)
	}
	if !f.hasNewest || sec > f.newest {
		f.newest, f.hasNewest = sec, true
		for s := range f.recent {
			if s <= sec-rateWindow {
				delete(f.recent, s)
			}
		}
	}
	if sec > f.newest-rateWindow {
		f.recent[sec]++
	}
}

// eventTimeRate computes EventDir.Rate over the files' states.
func eventTimeRate(files []*fileState) *float64 {
	var newest int64
	found := false
	for _, f := range files {
		if f.hasNewest && (!found || f.newest > newest) {
			newest, found = f.newest, true
		}
	}
	if !found {
		return nil
	}
	lo := newest - rateWindow + 1
	earliest := newest
	var n int64
	for _, f := range files {
		if !f.first.IsZero() {
			earliest = min(earliest, f.first.Unix())
		}
		for s, c := range f.recent {
			if s >= lo {
				n += c
				earliest = min(earliest, s)
			}
		}
	}
	lo = max(lo, earliest)
	r := float64(n) / float64(newest-lo+1)
	return &r
}
