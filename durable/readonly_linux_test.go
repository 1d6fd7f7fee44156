package durable_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"pulse/durable"
	"pulse/testenv"
)

// readOnly makes dir read-only for this process: its mode without root,
// else (root ignores modes) a read-only bind mount of it on itself, undone
// when the test ends.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		testenv.Unavailable(t, "bind mount %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("umount %s: %v", dir, err)
		}
	})
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		testenv.Unavailable(t, "remount %s read-only: %v", dir, err)
	}
}

// TestDiskFull: a write that runs out of room fails naming the path, and
// leaves the old content and no tmp file (so none of the room it took).
func TestDiskFull(t *testing.T) {
	dir := testenv.SmallDisk(t, 256<<10)
	path := filepath.Join(dir, "f")
	old := []byte("old content")
	if err := durable.WriteFile(path, old, 0o600, durable.Sync); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 1<<20)
	for _, pol := range []durable.Policy{durable.Sync, durable.NoSync} {
		for _, stream := range []bool{false, true} {
			err := write(path, big, pol, stream)
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
				t.Fatalf("%s stream=%t: %v, want ENOSPC naming %s", pol, stream, err, path)
			}
			checkFile(t, path, old)
			if _, err := os.Lstat(durable.TmpPath(path)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("tmp file left: %v", err)
			}
		}
	}
	// The room is back: a write that fits goes through.
	if err := durable.WriteFile(path, big[:128<<10], 0o600, durable.Sync); err != nil {
		t.Fatal(err)
	}
}
