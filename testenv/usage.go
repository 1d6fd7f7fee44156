package testenv

import (
	"syscall"

	"pulse/procstat"
)

// Usage is what a process cost: CPU time, peak resident memory, and bytes
// it caused to be written to storage.
type Usage = procstat.Usage

// Usage reads the running process's usage from /proc (Linux). Sample it
// before stopping the process: /proc/PID is gone once it exits.
func (p *Process) Usage() (Usage, error) {
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	return procstat.Read(pid)
}

// ExitUsage returns CPU time and peak RSS of an exited process, from its
// rusage.
func (p *Process) ExitUsage() Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd.ProcessState == nil {
		return Usage{}
	}
	ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return Usage{}
	}
	return Usage{
		CPU:     p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime(),
		PeakRSS: ru.Maxrss * 1024,
	}
}
