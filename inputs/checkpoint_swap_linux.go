//go:build linux

package inputs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// replaceUnsynced replaces path with data atomically against a crash of the
// process (not a power loss: nothing is fsynced), without creating a file
// per write. data is written into path+nextSuffix, which is then exchanged
// with path by renameat2(RENAME_EXCHANGE): path names either the old or the
// new content, whole, at every moment, and the old content's inode becomes
// path+nextSuffix, overwritten by the next write. A create and the unlink
// of the replaced file per write (durable's tmp + rename) cost more CPU
// than the checkpoint itself on a busy ext4, whose inode allocator scans
// past every recently deleted inode. Where the file system cannot exchange
// (EINVAL), path is replaced by a plain rename.
func replaceUnsynced(path string, data []byte) error {
	next := path + nextSuffix
	f, err := os.OpenFile(next, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", next, err)
	}
	err = unix.Renameat2(unix.AT_FDCWD, next, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		// No path yet (the first write), or no exchange here.
		if err := os.Rename(next, path); err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("exchange %s with %s: %w", next, path, err)
}

// nextSuffix names the file the next checkpoint is written to before it is
// exchanged with the checkpoint file; it holds the previous checkpoint
// between writes, and is never read.
const nextSuffix = ".next"
