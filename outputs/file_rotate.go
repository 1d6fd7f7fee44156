package outputs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	filePrefix = "events-"
	fileSuffix = ".log"
)

// rotatingFile appends payloads to Dir/events-NNNNNN.log, starting a new file
// when the current one would grow past maxBytes, and keeping at most
// maxFiles files. It is owned by one goroutine.
type rotatingFile struct {
	dir      string
	maxBytes int64
	maxFiles int
	log      *slog.Logger

	numbers []uint64 // files on disk, oldest first; the current one last
	next    uint64   // number of the next file to create
	f       *os.File // current file, nil until the next write
	size    int64    // bytes in f
	nl      [1]byte  // the newline appended to a payload lacking one
}

// openRotatingFile scans dir so that numbering continues after the highest
// file there. Each run starts a new file: the last one may end in a write
// torn by a crash, and new lines must not be glued to it.
func openRotatingFile(dir string, maxBytes int64, maxFiles int, log *slog.Logger) (*rotatingFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	r := &rotatingFile{dir: dir, maxBytes: maxBytes, maxFiles: maxFiles, log: log, next: 1, nl: [1]byte{'\n'}}
	for _, e := range entries {
		if n, ok := parseFileName(e.Name()); ok && e.Type().IsRegular() {
			r.numbers = append(r.numbers, n)
		}
	}
	slices.Sort(r.numbers)
	if len(r.numbers) > 0 {
		last := r.numbers[len(r.numbers)-1]
		r.next = last + 1
		if cut, err := trimTornTail(filepath.Join(dir, fileName(last))); err != nil {
			return nil, err
		} else if cut > 0 {
			log.Warn("cut a torn last line left by a crash; its batch was not acknowledged and comes again", "file", fileName(last), "bytes", cut)
		}
	}
	return r, nil
}

// trimTornTail cuts a partial last line off the file at path: kill -9 can
// interrupt a large write(2) half-way. The batch was not acknowledged, so it
// is delivered again whole. It returns the number of bytes cut.
func trimTornTail(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := info.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, fmt.Errorf("read %s: %w", path, err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			keep := start + int64(i) + 1
			if keep == size {
				return 0, nil
			}
			return size - keep, f.Truncate(keep)
		}
		end = start
	}
	return size, f.Truncate(0)
}

// write appends p, plus a newline if p lacks one, to the current file,
// rotating first if p would not fit; p is never split across files. It
// returns the number of bytes written and whether a new file was started.
// On error the file is cut back to where it was, so a retry leaves no torn
// payload behind.
func (r *rotatingFile) write(p []byte) (n int64, created bool, err error) {
	if len(p) == 0 {
		return 0, false, nil
	}
	newline := p[len(p)-1] != '\n'
	need := int64(len(p))
	if newline {
		need++
	}
	if r.f != nil && r.size > 0 && r.size+need > r.maxBytes {
		if err := r.closeCurrent(); err != nil {
			return 0, false, err
		}
	}
	if r.f == nil {
		if err := r.create(); err != nil {
			return 0, false, err
		}
		created = true
	}
	_, err = r.f.Write(p)
	if err == nil && newline {
		_, err = r.f.Write(r.nl[:])
	}
	if err != nil {
		if terr := r.f.Truncate(r.size); terr != nil {
			// Cannot cut the torn tail off: leave it in this file and go on
			// in a new one.
			r.log.Error("cannot truncate after failed write", "file", r.f.Name(), "err", terr)
			r.closeCurrent()
		}
		return 0, created, fmt.Errorf("write %s: %w", r.f.Name(), err)
	}
	r.size += need
	return need, created, nil
}

// create opens the next file, then enforces maxFiles.
func (r *rotatingFile) create() error {
	// A file of the next number may appear meanwhile (another writer, a
	// copy); skip over it rather than append to it. Bounded: give up after
	// a while rather than spin.
	for range 1000 {
		path := filepath.Join(r.dir, fileName(r.next))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if errors.Is(err, fs.ErrExist) {
			r.next++
			continue
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		r.f, r.size = f, 0
		r.numbers = append(r.numbers, r.next)
		r.next++
		r.prune()
		return nil
	}
	return fmt.Errorf("create in %s: no free file number after %s", r.dir, fileName(r.next))
}

// prune removes the oldest files beyond maxFiles. A file that cannot be
// removed is tried again at the next rotation; delivery goes on.
func (r *rotatingFile) prune() {
	for r.maxFiles > 0 && len(r.numbers) > r.maxFiles {
		path := filepath.Join(r.dir, fileName(r.numbers[0]))
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("cannot remove old file", "file", path, "err", err)
			return
		}
		r.numbers = r.numbers[1:]
	}
}

// closeCurrent syncs and closes the current file, if any.
func (r *rotatingFile) closeCurrent() error {
	if r.f == nil {
		return nil
	}
	f := r.f
	r.f, r.size = nil, 0
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return nil
}

func fileName(n uint64) string {
	return fmt.Sprintf("%s%06d%s", filePrefix, n, fileSuffix)
}

func parseFileName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, filePrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, fileSuffix)
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}
