//go:build !unix

package buffer

import (
	"os"
	"path/filepath"
)

// lockDir only creates the lock file where flock is unavailable: the caller
// must ensure one queue per directory.
func lockDir(dir, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
}

func unlockDir(f *os.File) error {
	return f.Close()
}
