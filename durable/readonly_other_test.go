//go:build !linux

package durable_test

import (
	"os"
	"testing"
)

// readOnly makes dir read-only for this process by its mode, which root
// ignores.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("root ignores a directory's mode")
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
}
