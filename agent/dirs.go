package agent

import (
	"os"
	"path/filepath"
)

// BufferDir is where an output's buffer lives under a data_dir. Offline
// tools (pulse buffer) find buffers with it, so the rule is in one place.
func BufferDir(dataDir, output string) string {
	return filepath.Join(dataDir, "buffers", output)
}

// LockDataDir takes the data_dir lock a running agent holds, for offline
// tools that must not run beside one. Its error names the holder's pid.
// Close the file to release it.
func LockDataDir(dir string) (*os.File, error) {
	return lockDir(dir)
}
