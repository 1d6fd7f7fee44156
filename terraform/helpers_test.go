// Package terraform_test checks the chain-of-instances environment without a
// cloud: the terraform files parse and hang together, user-data renders to a
// valid script, and bootstrap.sh — against a real local etcd — registers,
// discovers and renders role configs that run as a local chain.
package terraform_test

import (
	"os"
	"os/exec"
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

// needTool returns the path of a tool the test drives. Without it the test
// skips, except in CI (CI set), where it fails: .ci/run installs it.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI is set: install it (apt-get install -y %s)", name, pkg)
	}
	t.Skipf("%s not found (apt-get install -y %s); CI=1 makes this a failure", name, pkg)
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// optionalTool is needTool for a check that is one part of a test: without
// the tool (and outside CI) that part is logged as skipped and the rest runs.
func optionalTool(t *testing.T, name, pkg string) (string, bool) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path, true
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI is set: install it (apt-get install -y %s)", name, pkg)
	}
	t.Logf("%s not found (apt-get install -y %s): that check is skipped", name, pkg)
	return "", false
}
