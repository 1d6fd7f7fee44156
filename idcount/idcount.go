// Package idcount proves completeness: it counts how often each event id
// (the N of "id=N" in a line) arrived, across the files of a destination.
package idcount

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// IDs counts how often each event id (the N of "id=N", as pulse gen ends
// every line) was seen, for ids 0..n-1. It is safe for concurrent use.
type IDs struct {
	mu      sync.Mutex
	counts  []uint32
	lines   int64
	unknown int64
}

// New tracks ids 0..n-1.
func New(n int) *IDs { return &IDs{counts: make([]uint32, n)} }

// AddLines counts the ids in newline-separated data. It does not allocate.
func (c *IDs) AddLines(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		c.lines++
		id, ok := lineID(line)
		if !ok || id >= len(c.counts) {
			c.unknown++
			continue
		}
		c.counts[id]++
	}
}

// lineID returns the N of the last "id=N" in line that starts the line or
// follows a space or a quote (so request_id= does not count).
func lineID(line []byte) (int, bool) {
	i := len(line)
	for {
		i = bytes.LastIndex(line[:i], []byte("id="))
		if i < 0 {
			return 0, false
		}
		if i == 0 || line[i-1] == ' ' || line[i-1] == '"' {
			break
		}
	}
	n, digits := 0, 0
	for _, ch := range line[i+3:] {
		if ch < '0' || ch > '9' || digits > 12 {
			break
		}
		n = n*10 + int(ch-'0')
		digits++
	}
	return n, digits > 0
}

// Report summarises what ids saw.
type Report struct {
	Lines      int64 `json:"lines"`
	Unique     int   `json:"unique"`
	Duplicates int64 `json:"duplicates"`
	Unknown    int64 `json:"unknown"`
	Missing    int   `json:"missing"`
	FirstMiss  []int `json:"first_missing,omitempty"`
}

func (r Report) String() string {
	s := fmt.Sprintf("%d lines, %d unique ids, %d duplicates, %d missing", r.Lines, r.Unique, r.Duplicates, r.Missing)
	if len(r.FirstMiss) > 0 {
		s += fmt.Sprintf(" (first %v)", r.FirstMiss)
	}
	if r.Unknown > 0 {
		s += fmt.Sprintf(", %d without an id", r.Unknown)
	}
	return s
}

func (c *IDs) Report() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Report{Lines: c.lines, Unknown: c.unknown}
	for id, n := range c.counts {
		if n == 0 {
			r.Missing++
			if len(r.FirstMiss) < 10 {
				r.FirstMiss = append(r.FirstMiss, id)
			}
			continue
		}
		r.Unique++
		r.Duplicates += int64(n - 1)
	}
	return r
}

// Complete reports whether every id was seen at least once.
func (c *IDs) Complete() bool { return c.CompleteFrom(0) }

// CompleteFrom reports whether every id from first on was seen.
func (c *IDs) CompleteFrom(first int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.counts[min(first, len(c.counts)):] {
		if n == 0 {
			return false
		}
	}
	return true
}

// ScanDirs counts the ids in every file under dirs (the nodes of one
// cluster together). Files still being written (*.tmp) are skipped.
func ScanDirs(n int, dirs ...string) (*IDs, error) {
	c := New(n)
	buf := make([]byte, 1<<20)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".tmp") {
				return err
			}
			return c.addFile(path, buf)
		})
		if err != nil {
			return c, fmt.Errorf("idcount: scan %s: %w", dir, err)
		}
	}
	return c, nil
}

// addFile counts a file's lines in chunks of len(buf), carrying a cut line
// over to the next chunk.
func (c *IDs) addFile(path string, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	have := 0
	for {
		n, err := f.Read(buf[have:])
		have += n
		end := bytes.LastIndexByte(buf[:have], '\n')
		if end >= 0 {
			c.AddLines(buf[:end+1])
			have = copy(buf, buf[end+1:have])
		} else if have == len(buf) {
			c.mu.Lock()
			c.lines++ // a line longer than the buffer: count it as unknown
			c.unknown++
			c.mu.Unlock()
			have = 0
		}
		if err == io.EOF {
			c.AddLines(buf[:have])
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// DirBytes sums the sizes of the regular files under dirs.
func DirBytes(dirs ...string) int64 {
	var total int64
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
			return nil
		})
	}
	return total
}
