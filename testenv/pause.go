package testenv

import (
	"syscall"
	"time"
)

// Pause stops the process with SIGSTOP, as a hung host would be: its
// sockets stay open and the kernel still accepts connections for it, but it
// answers nothing until Resume. It returns once the kernel reports the
// process stopped. Stop and Kill work on a paused process.
func (p *Process) Pause() {
	p.t.Helper()
	p.Signal(syscall.SIGSTOP)
	WaitFor(p.t, 10*time.Second, p.Name+" stopped by SIGSTOP", func() bool {
		if !p.Running() {
			p.t.Fatalf("%s exited instead of pausing:\n%s", p.Name, p.Tail(20))
		}
		return p.Paused()
	})
}

// Resume continues a paused process with SIGCONT and returns once it runs.
func (p *Process) Resume() {
	p.t.Helper()
	p.Signal(syscall.SIGCONT)
	WaitFor(p.t, 10*time.Second, p.Name+" continued by SIGCONT", func() bool {
		return !p.Running() || !p.Paused()
	})
}

// Paused reports whether the process is stopped by a signal.
func (p *Process) Paused() bool {
	info, err := readProc(p.PID())
	return err == nil && info.State == 'T'
}
