package outputs

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileLogsWhereItWrites: a file output names its directory, absolute,
// when it starts.
func TestFileLogsWhereItWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var logs bytes.Buffer // written by Run only, read after it returned
	f := newTestFile(t, FileOptions{Name: "local", Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	runFile(t, f, Batch{ID: 1, Payload: payload('a', 8), Events: 1})
	if !strings.Contains(logs.String(), `level=INFO msg="file output writing" output=local dir=`+dir+" ") {
		t.Errorf("no INFO naming %s:\n%s", dir, logs.String())
	}
}
