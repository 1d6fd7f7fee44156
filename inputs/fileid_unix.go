//go:build unix

package inputs

import (
	"os"
	"syscall"
)

// fileIDOf returns the identity of the file fi describes.
func fileIDOf(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}

// linksOf returns the number of names the file fi describes has: 0 once it
// is deleted (and only held open).
func linksOf(fi os.FileInfo) uint64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 1
	}
	return uint64(st.Nlink)
}
