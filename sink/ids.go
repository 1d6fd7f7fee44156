package sink

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"pulse/idcount"
)

// seedIDs counts the ids of the events already in dir's files, so that a
// restarted sink's counts cover everything it holds. A partial last line,
// left by kill -9, is not counted: the file output cuts it off when it
// starts, and its batch comes again.
func seedIDs(ids *idcount.IDs, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "events-*.log"))
	if err != nil {
		return fmt.Errorf("sink: count ids: %w", err)
	}
	buf := make([]byte, 1<<20)
	for _, path := range files {
		if err := seedFile(ids, path, buf); err != nil {
			return fmt.Errorf("sink: count ids: %w", err)
		}
	}
	return nil
}

// seedFile counts the complete lines of one file, len(buf) at a time. A
// line longer than buf is skipped (Pulse's events are far shorter).
func seedFile(ids *idcount.IDs, path string, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = eachLines(f, buf, func(lines []byte) bool { ids.AddLines(lines); return true }, func() {})
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
