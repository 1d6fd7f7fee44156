package inputs

import (
	"os"
	"time"
)

// tail is one followed file: an open descriptor, so that the file can be
// read to its end after it was renamed or unlinked, and the offset of the
// first byte not yet consumed. A line still missing its newline at the end
// of the file is not consumed: it is read again, whole, when it is.
type tail struct {
	id       fileID
	path     string // where the file was last seen
	file     *os.File
	entry    *entry
	pos      int64
	seen     int64 // offset up to which bytes were read, pos plus an incomplete line
	skipping bool  // inside an over-long line (see splitter)
	size     int64 // the file's size when last read with data: what a truncation took unread is at least size-pos

	idle      bool      // the last read found no data: read again at the next poll
	orphan    bool      // no glob match points to this file any more
	awayPolls int       // polls that found no data since it became an orphan
	awaySince time.Time // when it became an orphan
	moved     bool      // a rotation was counted for it at its current path
	done      bool      // read to the end after it was orphaned; to be dropped
}
