package buffer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pulse/durable"
)

// diskqueue's on-disk names, as diskqueue spells them:
//
//	<name>.diskqueue.meta.dat           metadata, replaced by tmp + rename
//	<name>.diskqueue.meta.dat.<n>.tmp   a metadata write cut short (diskqueue's)
//	<name>.diskqueue.meta.dat.tmp       a metadata write cut short (Open's, durable.TmpPath)
//	<name>.diskqueue.%06d.dat           a segment
//	<name>.diskqueue.%06d.dat.bad       a segment diskqueue failed to read

func segmentPath(dir, name string, num int64) string {
	return filepath.Join(dir, fmt.Sprintf("%s.diskqueue.%06d.dat", name, num))
}

func metaPath(dir, name string) string {
	return filepath.Join(dir, name+".diskqueue.meta.dat")
}

// segmentNum parses a segment file name; ok is false for anything else.
func segmentNum(name, file string) (num int64, ok bool) {
	rest, found := strings.CutPrefix(file, name+".diskqueue.")
	if !found {
		return 0, false
	}
	digits, found := strings.CutSuffix(rest, ".dat")
	if !found || len(digits) < 6 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// dqMeta is diskqueue's metadata file: "%d\n%d,%d\n%d,%d\n" of depth,
// readFileNum,readPos and writeFileNum,writePos.
type dqMeta struct {
	depth                  int64
	readFileNum, readPos   int64
	writeFileNum, writePos int64
}

func (m dqMeta) valid() bool {
	return m.readFileNum >= 0 && m.readPos >= 0 && m.writeFileNum >= 0 && m.writePos >= 0 &&
		(m.readFileNum < m.writeFileNum || m.readFileNum == m.writeFileNum && m.readPos <= m.writePos)
}

func readMeta(path string) (dqMeta, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return dqMeta{}, err
	}
	var m dqMeta
	if _, err := fmt.Fscanf(bytes.NewReader(b), "%d\n%d,%d\n%d,%d\n",
		&m.depth, &m.readFileNum, &m.readPos, &m.writeFileNum, &m.writePos); err != nil {
		return dqMeta{}, fmt.Errorf("parse %s: %w", path, err)
	}
	if !m.valid() {
		return dqMeta{}, fmt.Errorf("parse %s: inconsistent positions %+v", path, m)
	}
	return m, nil
}

// writeMeta replaces the metadata file, as diskqueue does, by tmp +
// rename; what it fsyncs follows the mode (Open's recovery is its only
// caller, once per Open). FsyncAlways and FsyncInterval: durable.Sync, file
// and directory, as a power loss must not take the positions recovery just
// settled, and one fsync per Open costs nothing. FsyncNever: durable.NoSync,
// atomic against a crash of the process, and the queue calls no fsync of its
// own; a power loss may take the rewrite, and the next Open then rebuilds
// the same metadata from the segments.
func writeMeta(path string, m dqMeta, mode FsyncMode) error {
	p := durable.Sync
	if mode == FsyncNever {
		p = durable.NoSync
	}
	return durable.WriteFile(path, m.encode(), 0o600, p)
}

// encode is the file's content, as diskqueue writes it.
func (m dqMeta) encode() []byte {
	return fmt.Appendf(nil, "%d\n%d,%d\n%d,%d\n", m.depth, m.readFileNum, m.readPos, m.writeFileNum, m.writePos)
}

// overwriteMeta writes the metadata over the existing file in place, for a
// disk with no room for writeMeta's tmp file: the file's first block is
// already allocated, and the content (under 100 bytes) fits in it, so the
// write takes no room. It is one pwrite within a page, which a kill -9 does
// not cut (like the journal's consumed record), then a truncate that only
// shortens — content left past the new end by a crash between the two is
// ignored by both readers (readMeta and diskqueue scan five numbers and
// stop). Under FsyncAlways and FsyncInterval it is fsynced; a power loss
// that still tears it leaves metadata that does not parse, which the next
// Open rebuilds from the segments. A file that is not there is an error:
// creating one takes room.
func overwriteMeta(path string, m dqMeta, mode FsyncMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("overwrite %s in place: %w", path, err)
	}
	b := m.encode()
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	if err == nil && mode != FsyncNever {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("overwrite %s in place: %w", path, err)
	}
	return nil
}

// isNotExist also covers a path whose directory vanished.
func isNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist)
}

// quarantined reports whether file is a .bad segment of the queue name:
// one diskqueue renamed, or the damaged bytes Open quarantined.
func quarantined(name, file string) bool {
	seg, ok := strings.CutSuffix(file, ".bad")
	if !ok {
		return false
	}
	_, ok = segmentNum(name, seg)
	return ok
}
