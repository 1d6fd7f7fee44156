package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// proc is one child process of the pulse binary. Its output goes to
// dir/name.log (appended, so a restart keeps one log). The process is
// started with Pdeathsig so that it dies with the demo even if the demo is
// killed outright.
type proc struct {
	name string
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	pids []int // every pid this proc ever had, for the summary
}

func newProc(dir, name, bin string, args ...string) *proc {
	return &proc{name: name, args: append([]string{bin}, args...), log: filepath.Join(dir, name+".log")}
}

// start starts (or restarts) the process; the owner must have reaped any
// earlier run.
func (p *proc) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("demo: %s: %w", p.name, err)
	}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: Ctrl-C on the terminal reaches the demo only, which
	// then stops the children in order. Pdeathsig: no orphan if the demo dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("demo: start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.pids = append(p.pids, cmd.Process.Pid)
	p.mu.Unlock()
	// The waiter goroutine ends when the process exits; stop and kill make
	// sure that happens.
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// pid returns the current process id, 0 if never started.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// running reports whether the process was started and has not exited.
func (p *proc) running() bool {
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

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// wait waits for the process to exit, at most timeout, and returns its
// exit error.
func (p *proc) wait(ctx context.Context, timeout time.Duration) error {
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
		return fmt.Errorf("demo: %s still running after %v", p.name, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	p.signal(syscall.SIGKILL)
	_ = p.wait(context.Background(), time.Minute)
}

// tail returns the last n bytes of the log, for error messages.
func (p *proc) tail(n int64) string {
	f, err := os.Open(p.log)
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

// group owns the children of one run and stops them all, in reverse order
// of start (producers last), on the way out.
type group struct {
	dir, bin string
	procs    []*proc
}

func (g *group) start(name string, args ...string) (*proc, error) {
	p := newProc(g.dir, name, g.bin, args...)
	if err := p.start(); err != nil {
		return nil, err
	}
	g.procs = append(g.procs, p)
	return p, nil
}

// stopAll stops every running child: SIGTERM to all, wait up to grace,
// then SIGKILL whatever is left. Every child is reaped when it returns.
func (g *group) stopAll(grace time.Duration) {
	for i := len(g.procs) - 1; i >= 0; i-- {
		g.procs[i].signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range g.procs {
		_ = p.wait(context.Background(), max(time.Until(deadline), time.Millisecond))
	}
	for _, p := range g.procs {
		p.kill()
	}
}

// pids returns every process id the group's children ever had.
func (g *group) pids() []int {
	var out []int
	for _, p := range g.procs {
		p.mu.Lock()
		out = append(out, p.pids...)
		p.mu.Unlock()
	}
	return out
}
