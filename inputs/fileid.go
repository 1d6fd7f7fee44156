package inputs

import "fmt"

// fileID is the identity of a file: its device and inode numbers. A file
// keeps it across renames, so a followed file is known by it, not by path.
type fileID struct {
	dev, ino uint64
}

func (id fileID) String() string { return fmt.Sprintf("%d:%d", id.dev, id.ino) }
