//go:build !linux

package inputs

import "pulse/durable"

// replaceUnsynced replaces path with data atomically against a crash of the
// process: durable's tmp file and rename, unsynced. (Linux exchanges a
// reused file instead; see checkpoint_swap_linux.go.)
func replaceUnsynced(path string, data []byte) error {
	return durable.WriteFile(path, data, 0o644, durable.NoSync)
}
