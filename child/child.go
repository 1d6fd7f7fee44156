// Package child supervises child processes: it starts one with its output
// appended to a log file, reports whether it runs and how it exited, stops
// it (SIGTERM, then SIGKILL) and starts it again. Both `pulse demo` and the
// test environment run their topologies with it, so it must not import
// testing: it is linked into the pulse binary.
package child

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"pulse/procstat"
)

// killWait bounds how long Kill waits for the kernel to reap a process after
// SIGKILL; only a process stuck in uninterruptible sleep takes that long.
const killWait = time.Minute

// Process is one child process, run (and rerun) from the same arguments.
// Its output goes to LogPath, opened for appending so that restarts keep
// one log. Set the exported fields before the first Start and leave them
// alone afterwards.
type Process struct {
	Name    string   // for messages
	Args    []string // Args[0] is the program, the rest its arguments
	Env     []string // extra environment, "K=V", on top of this process's own
	LogPath string   // stdout and stderr, appended
	// Setpgid runs the child in its own process group, so that Ctrl-C on a
	// terminal reaches the parent only, which then stops its children in
	// order.
	Setpgid bool
	// OnStart, when set, is called with the new process id after every
	// successful start, restarts included.
	OnStart func(pid int)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once the current run is reaped
	err  error         // the current run's exit error, once done is closed
	pids []int         // every pid this process had, restarts included
}

// Start starts the process, or starts it again after it exited. Every run
// gets a parent-death signal (SIGKILL), so that no child outlives a parent
// that was killed outright. A goroutine reaps the run when it exits; Stop
// and Kill make sure it does.
func (p *Process) Start() error {
	if p.Running() {
		return fmt.Errorf("start %s: already running", p.Name)
	}
	log, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	cmd := exec.Command(p.Args[0], p.Args[1:]...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: p.Setpgid, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.pids = append(p.pids, cmd.Process.Pid)
	p.mu.Unlock()
	if p.OnStart != nil {
		p.OnStart(cmd.Process.Pid)
	}
	go func() {
		err := cmd.Wait()
		log.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Running reports whether the process was started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the current run, if there was one.
func (p *Process) Signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// PID returns the id of the current (or last) run, 0 if never started.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// PIDs returns the id of every run of the process, restarts included.
func (p *Process) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.pids...)
}

// Wait waits for the current run to exit, at most timeout or until ctx is
// done, and returns its exit error (nil if it was never started).
func (p *Process) Wait(ctx context.Context, timeout time.Duration) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return fmt.Errorf("%s: still running after %v", p.Name, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stop sends SIGTERM and waits up to timeout for the process to exit,
// returning its exit error. A paused process is continued after the
// SIGTERM, which it would otherwise only see at the next SIGCONT. A process
// still running after timeout is left running: the caller decides whether
// to Kill it.
func (p *Process) Stop(timeout time.Duration) error {
	p.Signal(syscall.SIGTERM)
	p.Signal(syscall.SIGCONT)
	return p.Wait(context.Background(), timeout)
}

// Kill sends SIGKILL and waits until the process is reaped. It works on a
// paused process too: SIGKILL needs no SIGCONT.
func (p *Process) Kill() {
	if !p.Running() {
		return
	}
	p.Signal(syscall.SIGKILL)
	_ = p.Wait(context.Background(), killWait)
}

// ExitCode returns the exit code of the last run once it exited: -1 if a
// signal ended it, 0 if it exited cleanly or has not exited.
func (p *Process) ExitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// Usage reads the running process's CPU time, peak memory and storage
// writes from /proc (Linux). Sample it before stopping the process:
// /proc/PID is gone once it exits.
func (p *Process) Usage() (procstat.Usage, error) {
	return procstat.Read(p.PID())
}

// ExitUsage returns CPU time and peak RSS of the last run once it exited,
// from its rusage; the zero Usage before that.
func (p *Process) ExitUsage() procstat.Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return procstat.Usage{}
	}
	st := p.cmd.ProcessState
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		return procstat.Usage{}
	}
	return procstat.Usage{CPU: st.UserTime() + st.SystemTime(), PeakRSS: ru.Maxrss * 1024}
}

// Log returns what the process has written so far, every run included.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Tail returns the last n lines of the log, for failure messages.
func (p *Process) Tail(n int) string {
	b, _ := os.ReadFile(p.LogPath)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// TailBytes returns the last n bytes of the log, reading no more than
// that: for error messages about a process whose log may be large.
func (p *Process) TailBytes(n int64) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	b := make([]byte, st.Size()-off)
	_, _ = f.ReadAt(b, off)
	return string(b)
}
