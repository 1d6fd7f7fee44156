package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// IDs counts how often each event id (the N of "id=N" in a line) was seen,
// for ids 0..n-1. Tests use it to prove every event arrived.
type IDs struct {
	mu      sync.Mutex
	counts  []uint32
	lines   int64
	unknown int64
}

// NewIDs tracks ids 0..n-1.
func NewIDs(n int) *IDs { return &IDs{counts: make([]uint32, n)} }

// AddLines counts the ids in newline-separated data.
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
		id, ok := parseID(line)
		if !ok || id >= len(c.counts) {
			c.unknown++
			continue
		}
		c.counts[id]++
	}
}

func parseID(line []byte) (int, bool) {
	i := bytes.Index(line, []byte("id="))
	if i < 0 || (i > 0 && line[i-1] != ' ' && line[i-1] != '"') {
		return 0, false
	}
	n, digits := 0, 0
	for _, ch := range line[i+3:] {
		if ch < '0' || ch > '9' {
			break
		}
		n = n*10 + int(ch-'0')
		digits++
	}
	return n, digits > 0
}

// Report summarises the counts.
type Report struct {
	Lines      int64 // lines seen
	Unique     int   // distinct ids seen
	Duplicates int64 // lines beyond the first for an id
	Unknown    int64 // lines without a known id
	Missing    []int // first missing ids (at most 10)
	MissingN   int   // how many ids are missing
}

func (r Report) String() string {
	return fmt.Sprintf("lines=%d unique=%d duplicates=%d unknown=%d missing=%d %v", r.Lines, r.Unique, r.Duplicates, r.Unknown, r.MissingN, r.Missing)
}

// Report returns the current counts.
func (c *IDs) Report() Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Report{Lines: c.lines, Unknown: c.unknown}
	for id, n := range c.counts {
		switch {
		case n == 0:
			r.MissingN++
			if len(r.Missing) < 10 {
				r.Missing = append(r.Missing, id)
			}
		default:
			r.Unique++
			r.Duplicates += int64(n - 1)
		}
	}
	return r
}

// Complete reports whether every id was seen at least once.
func (c *IDs) Complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.counts {
		if n == 0 {
			return false
		}
	}
	return true
}

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

// ScanDir counts the ids in every regular file under dir (a file output's
// or a sink's directory). Files named *.tmp are skipped.
func ScanDir(dir string, n int) (*IDs, error) { return ScanDirs(n, dir) }

// ScanDirs counts the ids in every file under all dirs together: the nodes
// of one cluster.
func ScanDirs(n int, dirs ...string) (*IDs, error) {
	ids := NewIDs(n)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".tmp") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ids.AddLines(b)
			return nil
		})
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// WriteLines writes n lines "… id=N …" padded to about size bytes each to
// path, and returns the number of bytes written.
func WriteLines(path string, n, size int) (int64, error) {
	return writeLines(path, n, size, nil)
}

// WriteNoisyLines is WriteLines with random padding, which compresses
// about as badly as real logs with request ids: for filling buffers that
// hold compressed batches.
func WriteNoisyLines(path string, n, size int, seed uint64) (int64, error) {
	return writeLines(path, n, size, rand.New(rand.NewPCG(seed, seed)))
}

func writeLines(path string, n, size int, rng *rand.Rand) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	pad := strings.Repeat("x", max(size-90, 1))
	var total int64
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	noise := []byte(pad)
	for i := range n {
		if rng != nil {
			for j := range noise {
				noise[j] = alphabet[rng.IntN(len(alphabet))]
			}
			pad = string(noise)
		}
		fmt.Fprintf(&buf, "2026-11-21T10:00:00.000000+00:00 app[web.1]: at=info id=%d method=GET path=/items pad=%s\n", i, pad)
		if buf.Len() > 1<<20 || i == n-1 {
			w, err := f.Write(buf.Bytes())
			total += int64(w)
			if err != nil {
				f.Close()
				return total, err
			}
			buf.Reset()
		}
	}
	return total, f.Close()
}
