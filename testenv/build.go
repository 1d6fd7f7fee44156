// Package testenv starts real Pulse processes and real HTTP sinks on
// 127.0.0.1 for integration tests, and waits on conditions with deadlines.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary builds cmd/pulse once per test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "pulse-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "pulse")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/pulse")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/pulse: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// moduleRoot is the repository root, found from this file's location.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
