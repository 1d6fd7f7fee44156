package inputs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"pulse/durable"
)

// checkpointVersion is the format version of the checkpoint file.
const checkpointVersion = 1

// checkpointFile is the persisted form of a File input's checkpoints.
type checkpointFile struct {
	Version int                `json:"version"`
	Files   []checkpointRecord `json:"files"`
}

// syncedSuffix names the durable copy of a checkpoint file: path is
// replaced at every commit without fsync, which survives a kill -9 (the
// kernel keeps the page cache) but not a power loss; path+syncedSuffix is
// replaced with fsyncs every CheckpointSyncEvery and when Run ends, and is
// what a restart falls back to when path was torn by a power loss.
const syncedSuffix = ".synced"

// loadCheckpoints reads the committed offsets persisted at path, or, if
// path is missing or cannot be parsed (a power loss after an unsynced
// write), at its synced copy. Neither present is a first start (found =
// false); neither readable is an error, never a silent start over, since
// starting over would either lose or duplicate every followed file.
func loadCheckpoints(path string, log *slog.Logger) (offsets map[fileID]int64, found bool, err error) {
	offsets, found, err = readCheckpointFile(path)
	if err == nil && found {
		return offsets, true, nil
	}
	synced, sfound, serr := readCheckpointFile(path + syncedSuffix)
	switch {
	case serr == nil && sfound:
		if err != nil {
			log.Warn("checkpoint file unreadable, as after a power loss: resuming from its last synced copy; lines read since then come again",
				"file", path, "err", err, "synced", path+syncedSuffix)
		} else {
			log.Warn("checkpoint file missing: resuming from its synced copy (to read the files again from the start, remove both)",
				"file", path, "synced", path+syncedSuffix)
		}
		return synced, true, nil
	case err != nil:
		return nil, false, err
	case serr != nil:
		return nil, false, serr
	}
	return offsets, false, nil
}

// readCheckpointFile reads one checkpoint file; a missing one is not
// found, with no error.
func readCheckpointFile(path string) (offsets map[fileID]int64, found bool, err error) {
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

// storeCheckpoints persists recs atomically, so that after a kill -9 path
// holds either the old or the new checkpoints, whole: written to path's
// spare file and exchanged with path (replaceUnsynced). With sync, recs go
// to path's synced copy instead, through a temporary file fsynced before
// its rename and the directory after it, so that this holds after a power
// loss too.
func storeCheckpoints(path string, recs []checkpointRecord, sync bool) error {
	data, err := json.Marshal(checkpointFile{Version: checkpointVersion, Files: recs})
	if err != nil {
		return fmt.Errorf("inputs: encode checkpoints: %w", err)
	}
	data = append(data, '\n')
	// path: unsynced, at every commit — survives kill -9, and an fsync
	// there would hold up every commit behind the disk; the synced copy:
	// durable.Sync, every CheckpointSyncEvery and at the end — what a
	// restart falls back to after a power loss tore path.
	if sync {
		err = durable.WriteFile(path+syncedSuffix, data, 0o644, durable.Sync)
	} else {
		err = replaceUnsynced(path, data)
	}
	if err != nil {
		return fmt.Errorf("inputs: write checkpoint file: %w", err)
	}
	return nil
}
