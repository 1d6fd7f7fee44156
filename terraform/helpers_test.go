// Package terraform_test checks the chain-of-instances environment without a
// cloud: the terraform files parse and hang together, user-data renders to a
// valid script, and bootstrap.sh — against a real local etcd — registers,
// discovers and renders role configs that run as a local chain.
package terraform_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// moduleDir is this terraform module's directory.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// repoRoot is the Go module's root.
func repoRoot() string { return filepath.Dir(moduleDir()) }

func templatePath(name string) string { return filepath.Join(moduleDir(), "templates", name) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
