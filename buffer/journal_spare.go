package buffer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// spares keeps the files of acknowledged journal entries for the next
// ones, under Dir/spare. Creating and unlinking a file per batch was the
// journal's main cost: on ext4 a create scans the inode bitmap past every
// recently deleted inode (recently_deleted), and a fresh file allocates and
// an unlink frees its page cache. A spare is overwritten in place, cut to
// the frame's length and renamed to inflight/<seq>.batch, so the journal's
// invariant holds as with tmp + rename: a .batch file appears by rename only
// once written whole. Ack renames it back. Spares are never read: Open
// removes whatever a crash left in Dir/spare.
//
// Spares hold disk the cap does not count, so their bytes are bounded
// (maxBytes, a sixteenth of the queue's MaxBytes: under the one segment,
// an eighth, the cap may be exceeded by anyway).
type spares struct {
	dir      string
	maxBytes int64

	mu     sync.Mutex
	free   []*spare
	held   map[uint64]*spare // journaled through a spare, by seq
	kept   int               // free, and on their way there (remove's rename)
	bytes  int64             // sizes of those
	next   int               // name of the next new spare
	closed bool
}

// maxSpares bounds the free spares: more batches in flight than that at
// once are journaled in new files again.
const maxSpares = 16

type spare struct {
	f    *os.File
	path string // where it is now: dir/<n>.spare or inflight/<seq>.batch
	size int64
}

// openSpares empties (or creates) Dir/spare.
func openSpares(dir string, maxBytes int64) (*spares, error) {
	s := &spares{dir: filepath.Join(dir, "spare"), maxBytes: maxBytes, held: make(map[uint64]*spare)}
	if err := os.RemoveAll(s.dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, err
	}
	return s, nil
}

// write journals frame as path (inflight/<seq>.batch) through a spare,
// a new one if none is free. On error nothing is at path and the spare is
// dropped: its content is unknown.
func (s *spares) write(seq uint64, path string, frame []byte) error {
	sp, err := s.take()
	if err != nil {
		return err
	}
	_, err = sp.f.WriteAt(frame, 0)
	if err == nil && sp.size > int64(len(frame)) {
		err = sp.f.Truncate(int64(len(frame)))
	}
	if err == nil {
		sp.size = int64(len(frame))
		err = rename(sp.path, path)
	}
	if err != nil {
		s.drop(sp)
		return err
	}
	sp.path = path
	s.mu.Lock()
	s.held[seq] = sp
	s.mu.Unlock()
	return nil
}

// take returns a free spare or a new empty one.
func (s *spares) take() (*spare, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, os.ErrClosed
	}
	if n := len(s.free); n > 0 {
		sp := s.free[n-1]
		s.free = s.free[:n-1]
		s.kept--
		s.bytes -= sp.size
		s.mu.Unlock()
		return sp, nil
	}
	s.next++
	path := filepath.Join(s.dir, "new-"+strconv.Itoa(s.next)+".spare")
	s.mu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &spare{f: f, path: path}, nil
}

// remove forgets the journal entry of seq at path. handled is false when
// seq was not journaled through a spare: the caller removes path itself.
// A spare goes back to the free ones if there is room, else it is removed.
func (s *spares) remove(seq uint64) (handled bool, err error) {
	s.mu.Lock()
	sp, ok := s.held[seq]
	delete(s.held, seq)
	keep := ok && !s.closed && s.kept < maxSpares && s.bytes+sp.size <= s.maxBytes
	if keep {
		// Counted now, so that concurrent removes respect the bounds.
		s.kept++
		s.bytes += sp.size
	}
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	if keep {
		free := filepath.Join(s.dir, "acked-"+strconv.FormatUint(seq, 10)+".spare")
		if err := rename(sp.path, free); err == nil {
			sp.path = free
			s.mu.Lock()
			if !s.closed {
				s.free = append(s.free, sp)
				s.mu.Unlock()
				return true, nil
			}
			s.kept--
			s.bytes -= sp.size
			s.mu.Unlock()
			s.drop(sp)
			return true, nil
		}
		s.mu.Lock()
		s.kept--
		s.bytes -= sp.size
		s.mu.Unlock()
	}
	_ = sp.f.Close()
	err = os.Remove(sp.path)
	if isNotExist(err) {
		err = nil
	}
	return true, err
}

// drop closes a spare that is not at a journal path and removes it.
func (s *spares) drop(sp *spare) {
	_ = sp.f.Close()
	_ = os.Remove(sp.path)
}

// close closes every spare and removes the free ones; the held ones stay
// as the journal entries they are.
func (s *spares) close() error {
	s.mu.Lock()
	s.closed = true
	free, held := s.free, s.held
	s.free, s.held, s.kept, s.bytes = nil, map[uint64]*spare{}, 0, 0
	s.mu.Unlock()
	var first error
	for _, sp := range free {
		_ = sp.f.Close()
		if err := os.Remove(sp.path); err != nil && !isNotExist(err) && first == nil {
			first = fmt.Errorf("remove spare: %w", err)
		}
	}
	for _, sp := range held {
		_ = sp.f.Close()
	}
	return first
}

// rename is os.Rename without its Lstat of the new name (which only turns
// renaming onto a directory into EEXIST): the journal renames twice per
// batch and output, and each Lstat is one more path lookup in the kernel.
func rename(from, to string) error {
	if err := syscall.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
