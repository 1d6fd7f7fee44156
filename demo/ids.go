package demo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ids counts how often each event id (the N of " id=N" that pulse gen
// ends every line with) was seen, for ids 0..n-1.
type ids struct {
	counts  []uint32
	lines   int64
	unknown int64
}

func newIDs(n int) *ids { return &ids{counts: make([]uint32, n)} }

// addLines counts the ids in newline-separated data. It does not allocate.
func (c *ids) addLines(data []byte) {
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

// lineID returns the N of the last " id=N" in line.
func lineID(line []byte) (int, bool) {
	i := bytes.LastIndex(line, []byte(" id="))
	if i < 0 {
		return 0, false
	}
	n, digits := 0, 0
	for _, ch := range line[i+4:] {
		if ch < '0' || ch > '9' || digits > 12 {
			break
		}
		n = n*10 + int(ch-'0')
		digits++
	}
	return n, digits > 0
}

// idReport summarises what ids saw.
type idReport struct {
	Lines      int64 `json:"lines"`
	Unique     int   `json:"unique"`
	Duplicates int64 `json:"duplicates"`
	Unknown    int64 `json:"unknown"`
	Missing    int   `json:"missing"`
	FirstMiss  []int `json:"first_missing,omitempty"`
}

func (r idReport) String() string {
	s := fmt.Sprintf("%d lines, %d unique ids, %d duplicates, %d missing", r.Lines, r.Unique, r.Duplicates, r.Missing)
	if len(r.FirstMiss) > 0 {
		s += fmt.Sprintf(" (first %v)", r.FirstMiss)
	}
	if r.Unknown > 0 {
		s += fmt.Sprintf(", %d without an id", r.Unknown)
	}
	return s
}

func (c *ids) report() idReport {
	r := idReport{Lines: c.lines, Unknown: c.unknown}
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

// scanDirs counts the ids in every file under dirs (the nodes of one
// cluster together). Files still being written (*.tmp) are skipped.
func scanDirs(n int, dirs ...string) (*ids, error) {
	c := newIDs(n)
	buf := make([]byte, 1<<20)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".tmp") {
				return err
			}
			return c.addFile(path, buf)
		})
		if err != nil {
			return c, fmt.Errorf("demo: scan %s: %w", dir, err)
		}
	}
	return c, nil
}

// addFile counts a file's lines in chunks of len(buf), carrying a cut line
// over to the next chunk.
func (c *ids) addFile(path string, buf []byte) error {
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
			c.addLines(buf[:end+1])
			have = copy(buf, buf[end+1:have])
		} else if have == len(buf) {
			c.lines++ // a line longer than the buffer: count it as unknown
			c.unknown++
			have = 0
		}
		if err == io.EOF {
			c.addLines(buf[:have])
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// dirBytes sums the sizes of the regular files under dirs.
func dirBytes(dirs ...string) int64 {
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
