package child_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/child"
)

func sh(t *testing.T, name, script string) *child.Process {
	t.Helper()
	p := &child.Process{Name: name, Args: []string{"/bin/sh", "-c", script}, Env: []string{"CHILD_TEST=yes"},
		LogPath: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(p.Kill)
	return p
}

func TestExitCodeLogAndRestart(t *testing.T) {
	var started []int
	p := sh(t, "exit3", `echo "one $CHILD_TEST"; echo two >&2; exit 3`)
	p.OnStart = func(pid int) { started = append(started, pid) }
	if p.Running() || p.PID() != 0 || p.Wait(context.Background(), time.Second) != nil {
		t.Fatal("a process never started should be not running, pid 0, nothing to wait for")
	}
	for run := 1; run <= 2; run++ {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(context.Background(), time.Minute); err == nil || p.ExitCode() != 3 {
			t.Fatalf("run %d: exit %v (code %d), want status 3", run, err, p.ExitCode())
		}
	}
	if got, want := p.Log(), "one yes\ntwo\none yes\ntwo\n"; got != want {
		t.Errorf("log %q, want %q (both runs, appended)", got, want)
	}
	if got := p.Tail(1); got != "two" {
		t.Errorf("Tail(1) = %q", got)
	}
	if got := p.TailBytes(4); got != "two\n" {
		t.Errorf("TailBytes(4) = %q", got)
	}
	pids := p.PIDs()
	if len(pids) != 2 || len(started) != 2 || pids[0] != started[0] || pids[1] != started[1] || p.PID() != pids[1] {
		t.Errorf("PIDs %v, OnStart saw %v, PID %d", pids, started, p.PID())
	}
	if u := p.ExitUsage(); u.PeakRSS <= 0 {
		t.Errorf("ExitUsage %+v: no peak RSS", u)
	}
}

func TestStopAndKill(t *testing.T) {
	// The trap makes SIGTERM a clean exit; the loop keeps the shell itself
	// (not a child of it) waiting, so the signal reaches the trap promptly.
	p := sh(t, "term", `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.01; done`)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Start while running: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(p.Log(), "up") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the trap is set once "up" is written
	}
	if _, err := p.Usage(); err != nil {
		t.Errorf("Usage of a running process: %v", err)
	}
	if err := p.Stop(time.Minute); err != nil || p.ExitCode() != 0 || !strings.Contains(p.Log(), "bye") {
		t.Fatalf("Stop: %v, code %d, log %q", err, p.ExitCode(), p.Log())
	}

	k := sh(t, "kill", `trap '' TERM; while :; do sleep 0.01; done`)
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	k.Kill()
	if k.Running() || k.ExitCode() != -1 {
		t.Fatalf("after Kill: running %v, code %d", k.Running(), k.ExitCode())
	}
}
