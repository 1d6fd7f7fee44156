//go:build !unix

package inputs

import "os"

// fileIDOf returns the identity of the file fi describes: none here, as
// following files by identity needs device and inode numbers.
func fileIDOf(os.FileInfo) (fileID, bool) { return fileID{}, false }

// linksOf returns the number of names of the file fi describes: unknown
// here, so 1.
func linksOf(os.FileInfo) uint64 { return 1 }
