package testenv

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Usage is what a process cost: CPU time, peak resident memory, and bytes
// it caused to be written to storage.
type Usage struct {
	CPU        time.Duration
	PeakRSS    int64 // bytes
	DiskWrites int64 // bytes (Linux write_bytes minus cancelled_write_bytes)
}

func (u Usage) String() string {
	return fmt.Sprintf("cpu=%v peak_rss=%.1fMiB disk_writes=%.1fMiB", u.CPU.Round(time.Millisecond), float64(u.PeakRSS)/(1<<20), float64(u.DiskWrites)/(1<<20))
}

// Usage reads the running process's usage from /proc (Linux). Sample it
// before stopping the process: /proc/PID is gone once it exits.
func (p *Process) Usage() (Usage, error) {
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	var u Usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// Fields after the ")" closing the command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (100 Hz on Linux).
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) > 13 {
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		u.CPU = time.Duration(ut+st) * 10 * time.Millisecond
	}
	if v, err := procField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:"); err == nil {
		u.PeakRSS = v * 1024
	}
	w, err1 := procField(fmt.Sprintf("/proc/%d/io", pid), "write_bytes:")
	c, err2 := procField(fmt.Sprintf("/proc/%d/io", pid), "cancelled_write_bytes:")
	if err1 == nil && err2 == nil {
		u.DiskWrites = w - c
	}
	return u, nil
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

func procField(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			return strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}
