package buffer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// diskqueue's on-disk names, as diskqueue spells them:
//
//	<name>.diskqueue.meta.dat           metadata, replaced by tmp + rename
//	<name>.diskqueue.meta.dat.<n>.tmp   a metadata write cut short
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

// writeMeta replaces the metadata file the way diskqueue does: tmp, fsync,
// rename.
func writeMeta(path string, m dqMeta) error {
	tmp := path + ".pulse.tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d\n%d,%d\n%d,%d\n", m.depth, m.readFileNum, m.readPos, m.writeFileNum, m.writePos)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
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
