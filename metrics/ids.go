package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"sync"
	"time"

	"pulse/durable"
)

// IDSource hands out fragment ids: unique per agent, across restarts.
type IDSource interface {
	NextID() (uint64, error)
}

// IDBlock is how many ids FileIDs reserves with one write.
const IDBlock = 1 << 16

// FileIDs is an IDSource that survives kill -9: it reserves ids in blocks
// and persists the end of a block (tmp + fsync + rename + fsync of the
// directory) before handing out any id of it. After a crash it continues
// after the persisted end, skipping at most one block.
type FileIDs struct {
	path  string
	block uint64

	mu   sync.Mutex
	next uint64 // next id to hand out
	end  uint64 // first id not reserved on disk
}

// The file holds the end of the reserved range:
//
//	"PIDS" | version 1 | uint64 end (big endian) | crc32c of the 13 bytes
const (
	idsMagic   = "PIDS"
	idsVersion = 1
	idsLen     = 4 + 1 + 8 + 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// NewFileIDs opens (or creates) the id file at path. A missing file starts
// the sequence at the current Unix time in nanoseconds rather than at 1, so
// that an agent whose state directory was wiped is still very unlikely to
// reuse ids that mergers remember. A corrupt file is an error: guessing
// could repeat ids, which mergers would drop as duplicates.
func NewFileIDs(path string) (*FileIDs, error) {
	return newFileIDs(path, IDBlock, time.Now())
}

func newFileIDs(path string, block uint64, now time.Time) (*FileIDs, error) {
	s := &FileIDs{path: path, block: block}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.next = max(1, uint64(now.UnixNano()))
	case err != nil:
		return nil, fmt.Errorf("metrics: read id file: %w", err)
	default:
		end, err := parseIDFile(b)
		if err != nil {
			return nil, fmt.Errorf("metrics: id file %s: %w", path, err)
		}
		s.next = end
	}
	s.end = s.next
	return s, nil
}

func parseIDFile(b []byte) (uint64, error) {
	if len(b) != idsLen || !bytes.Equal(b[:4], []byte(idsMagic)) || b[4] != idsVersion {
		return 0, errors.New("not an id file of version 1")
	}
	if crc32.Checksum(b[:idsLen-4], crcTable) != binary.BigEndian.Uint32(b[idsLen-4:]) {
		return 0, errors.New("checksum mismatch")
	}
	return binary.BigEndian.Uint64(b[5:13]), nil
}

// NextID returns the next id, reserving a new block on disk first when the
// current one is used up.
func (s *FileIDs) NextID() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.end {
		end := s.next + s.block
		if end < s.next {
			return 0, errors.New("metrics: fragment ids exhausted")
		}
		if err := s.persist(end); err != nil {
			return 0, err
		}
		s.end = end
	}
	id := s.next
	s.next++
	return id, nil
}

func (s *FileIDs) persist(end uint64) error {
	b := make([]byte, 0, idsLen)
	b = append(b, idsMagic...)
	b = append(b, idsVersion)
	b = binary.BigEndian.AppendUint64(b, end)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
	// durable.Sync: the block's end must survive a power loss before any id
	// of it is handed out, or a restart would hand the same ids out again.
	if err := durable.WriteFile(s.path, b, 0o644, durable.Sync); err != nil {
		return fmt.Errorf("metrics: reserve fragment ids: %w", err)
	}
	return nil
}

// memIDs is the IDSource used when none is configured: a counter seeded
// from the clock. Unique across restarts only as long as the clock moves
// forward faster than ids are used, so agents should configure FileIDs.
type memIDs struct {
	mu   sync.Mutex
	next uint64
}

func (m *memIDs) NextID() (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.next
	m.next++
	return id, nil
}
