package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// started records every process id testenv started in this test binary,
// so that a test can check that each was reaped.
var started struct {
	mu   sync.Mutex
	pids []int
}

func register(pid int) {
	started.mu.Lock()
	started.pids = append(started.pids, pid)
	started.mu.Unlock()
}

// StartedPIDs returns the id of every process testenv has started in this
// test binary so far, in order of start.
func StartedPIDs() []int {
	started.mu.Lock()
	defer started.mu.Unlock()
	return append([]int(nil), started.pids...)
}

// ProcInfo describes a process, as /proc shows it.
type ProcInfo struct {
	PID, PPID int
	State     byte   // R, S, D, T (stopped), Z (exited, not reaped), ...
	Comm      string // the command name, at most 15 bytes
	Exe       string // the executable; empty when unreadable (a zombie)
}

func (p ProcInfo) String() string {
	return fmt.Sprintf("pid %d (%s, state %c, parent %d, exe %q)", p.PID, p.Comm, p.State, p.PPID, p.Exe)
}

// Unreaped returns those of pids that are still children of this process:
// running, stopped, or exited and not yet waited for (zombies). A pid that
// is gone, or has since been reused by someone else's child, was reaped.
func Unreaped(pids []int) []ProcInfo {
	self := os.Getpid()
	var out []ProcInfo
	for _, pid := range pids {
		if info, err := readProc(pid); err == nil && info.PPID == self {
			out = append(out, info)
		}
	}
	return out
}

// Children returns the children of this process that run bin (its path, as
// Binary returns it), zombies included: a zombie's executable cannot be
// read, so its command name is matched instead.
func Children(bin string) ([]ProcInfo, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("testenv: children: %w", err)
	}
	self := os.Getpid()
	comm := filepath.Base(bin)
	if len(comm) > 15 {
		comm = comm[:15] // the kernel's TASK_COMM_LEN - 1
	}
	var out []ProcInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		info, err := readProc(pid)
		if err != nil || info.PPID != self {
			continue // gone meanwhile, or not ours
		}
		if info.Exe == bin || info.Exe == "" && info.Comm == comm {
			out = append(out, info)
		}
	}
	return out, nil
}

// readProc reads a process's parent, state, name and executable.
func readProc(pid int) (ProcInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcInfo{}, err
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, s)
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) < 2 || len(fields[0]) != 1 {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, s)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: parent: %w", pid, err)
	}
	info := ProcInfo{PID: pid, PPID: ppid, State: fields[0][0], Comm: s[open+1 : closing]}
	info.Exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return info, nil
}
