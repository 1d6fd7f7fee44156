package fanout

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// ackFile records, for each batch of the shared buffer still in flight,
// which outputs are done with it (delivered it, or hold a copy in their own
// buffer). After a restart the shared buffer hands those batches out again,
// and the record keeps them from the outputs that already had them. It is a
// file of fixed slots, one per batch in the window, each overwritten in
// place with one pwrite: [seq u64][mask u64][crc32c u32][zero u32]. A slot
// that does not verify, or a record lost with the page cache on a power
// loss, only costs duplicates; a slot is never read for a seq other than
// its own.
type ackFile struct {
	f     *os.File
	free  []int // slots to reuse
	slots int   // slots in the file
	rec   [slotSize]byte
}

const slotSize = 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// openAcks opens (or creates) the record at path and returns the masks it
// holds by seq. Every slot is free: the window is empty at Open.
func openAcks(path string) (*ackFile, map[uint64]uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	masks := map[uint64]uint64{}
	a := &ackFile{f: f, slots: len(b) / slotSize}
	for i := range a.slots {
		r := b[i*slotSize : (i+1)*slotSize]
		seq, mask := binary.BigEndian.Uint64(r), binary.BigEndian.Uint64(r[8:])
		if seq != 0 && binary.BigEndian.Uint32(r[16:]) == crc32.Checksum(r[:16], castagnoli) {
			masks[seq] |= mask
		}
		a.free = append(a.free, a.slots-1-i) // lowest first when popped
	}
	return a, masks, nil
}

// alloc returns a free slot, growing the file by one when none is.
func (a *ackFile) alloc() int {
	if n := len(a.free); n > 0 {
		s := a.free[n-1]
		a.free = a.free[:n-1]
		return s
	}
	a.slots++
	return a.slots - 1
}

// set records mask as the outputs done with seq, in slot.
func (a *ackFile) set(slot int, seq, mask uint64) error {
	binary.BigEndian.PutUint64(a.rec[:8], seq)
	binary.BigEndian.PutUint64(a.rec[8:16], mask)
	binary.BigEndian.PutUint32(a.rec[16:20], crc32.Checksum(a.rec[:16], castagnoli))
	_, err := a.f.WriteAt(a.rec[:], int64(slot)*slotSize)
	return err
}

// release frees slot once its batch is acknowledged in the shared buffer.
// The stale record is left: its seq is never handed out again.
func (a *ackFile) release(slot int) {
	a.free = append(a.free, slot)
}

func (a *ackFile) close() error {
	if a == nil || a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
