package inputs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkpointVersion is the format version of the checkpoint file.
const checkpointVersion = 1

// checkpointFile is the persisted form of a File input's checkpoints.
type checkpointFile struct {
	Version int                `json:"version"`
	Files   []checkpointRecord `json:"files"`
}

// loadCheckpoints reads the committed offsets persisted at path. A missing
// file is a first start (found = false); a file that cannot be read or
// parsed is an error, never a silent start over, since starting over would
// either lose or duplicate every followed file.
func loadCheckpoints(path string) (offsets map[fileID]int64, found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[fileID]int64{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inputs: read checkpoint file %s: %w", path, err)
	}
	var cf checkpointFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cf); err != nil {
		return nil, false, fmt.Errorf("inputs: checkpoint file %s is corrupt: %w", path, err)
	}
	if dec.More() {
		return nil, false, fmt.Errorf("inputs: checkpoint file %s is corrupt: data after the checkpoint", path)
	}
	if cf.Version != checkpointVersion {
		return nil, false, fmt.Errorf("inputs: checkpoint file %s: unknown version %d (want %d)", path, cf.Version, checkpointVersion)
	}
	offsets = make(map[fileID]int64, len(cf.Files))
	for _, r := range cf.Files {
		id := fileID{dev: r.Dev, ino: r.Inode}
		if r.Offset < 0 {
			return nil, false, fmt.Errorf("inputs: checkpoint file %s is corrupt: negative offset %d for %s", path, r.Offset, r.Path)
		}
		if _, dup := offsets[id]; dup {
			return nil, false, fmt.Errorf("inputs: checkpoint file %s is corrupt: file %s (%s) listed twice", path, id, r.Path)
		}
		offsets[id] = r.Offset
	}
	return offsets, true, nil
}

// storeCheckpoints persists recs at path atomically: written to a temporary
// file, fsynced, renamed over path, and the directory fsynced, so that after
// a crash path holds either the old or the new checkpoints, whole.
func storeCheckpoints(path string, recs []checkpointRecord) error {
	data, err := json.Marshal(checkpointFile{Version: checkpointVersion, Files: recs})
	if err != nil {
		return fmt.Errorf("inputs: encode checkpoints: %w", err)
	}
	data = append(data, '\n')
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("inputs: write checkpoint file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("inputs: write checkpoint file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("inputs: sync checkpoint file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("inputs: write checkpoint file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("inputs: replace checkpoint file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("inputs: sync checkpoint directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("inputs: sync checkpoint directory %s: %w", dir, err)
	}
	return nil
}
