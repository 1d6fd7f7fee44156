package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"pulse/idcount"
)

// IDs counts how often each event id ("id=N" in a line) was seen.
type IDs = idcount.IDs

// Report summarises the counts.
type Report = idcount.Report

// NewIDs tracks ids 0..n-1.
func NewIDs(n int) *IDs { return idcount.New(n) }

// ScanDir counts the ids in every file under dir (a file output's or a
// sink's directory).
func ScanDir(dir string, n int) (*IDs, error) { return idcount.ScanDirs(n, dir) }

// ScanDirs counts the ids in every file under all dirs together: the nodes
// of one cluster.
func ScanDirs(n int, dirs ...string) (*IDs, error) { return idcount.ScanDirs(n, dirs...) }

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
