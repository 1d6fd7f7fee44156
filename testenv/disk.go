package testenv

import (
	"fmt"
	"syscall"
	"testing"
)

// SmallDisk returns a new directory under the test's temp dir on a tmpfs of
// size bytes, for tests of a full disk: writes past size fail with ENOSPC.
// The tmpfs is unmounted when the test ends, pass or fail — lazily if a
// process still holds a file on it. Mounting needs root (CAP_SYS_ADMIN);
// without it the test is Unavailable.
func SmallDisk(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	NeedRoot(t, "SmallDisk: mounting a tmpfs")
	opts := fmt.Sprintf("size=%d,mode=0755", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		Unavailable(t, "SmallDisk: mount -t tmpfs -o %s tmpfs %s: %v", opts, dir, err)
	}
	// Registered after t.TempDir's removal, so it runs before it; and after
	// nothing started on the disk yet, so it runs after their kills.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
				t.Errorf("SmallDisk: umount %s: %v", dir, err)
			}
		}
	})
	return dir
}

// ResizeDisk changes the size of a SmallDisk, as an operator growing a
// volume would. Shrinking it below what it holds fails.
func ResizeDisk(t testing.TB, dir string, size int64) {
	t.Helper()
	opts := fmt.Sprintf("size=%d", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		t.Fatalf("ResizeDisk: mount -o remount,%s %s: %v", opts, dir, err)
	}
}

// DiskFree returns the bytes free and in use on the file system holding
// path.
func DiskFree(path string) (free, used int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("testenv: statfs %s: %w", path, err)
	}
	bs := int64(st.Bsize)
	return int64(st.Bavail) * bs, int64(st.Blocks-st.Bfree) * bs, nil
}
