package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/child"
)

// Process is a running child process whose output goes to a log file: a
// child.Process (Running, Signal, PID, PIDs, Stop, Kill, ExitCode, Usage,
// ExitUsage, Log, Tail, ...) bound to a test, which it fails when the
// process cannot be started, and which kills it at the end.
type Process struct {
	*child.Process
	t testing.TB
}

// Start starts bin with args; its stdout and stderr go to dir/name.log
// (appended, so restarts keep one log). The process is killed at the end
// of the test if still running.
func Start(t testing.TB, dir, name, bin string, args ...string) *Process {
	t.Helper()
	return StartEnv(t, dir, name, nil, bin, args...)
}

// StartEnv is Start with extra environment variables ("K=V").
func StartEnv(t testing.TB, dir, name string, env []string, bin string, args ...string) *Process {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, Process: &child.Process{
		Name:    name,
		Args:    append([]string{bin}, args...),
		Env:     env,
		LogPath: filepath.Join(dir, name+".log"),
		OnStart: register, // for StartedPIDs and the reaping checks
	}}
	if err := p.Process.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

// Restart starts the process again with the same arguments after it exited.
func (p *Process) Restart() {
	p.t.Helper()
	if err := p.Process.Start(); err != nil {
		p.t.Fatal(err)
	}
}

// Wait waits for the process to exit and returns its exit error.
func (p *Process) Wait(timeout time.Duration) error {
	return p.Process.Wait(context.Background(), timeout)
}
