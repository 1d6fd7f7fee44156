// Package procstat reads what a process has cost from /proc (Linux):
// CPU time, peak resident memory, bytes written to storage.
package procstat

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Usage is what a process has cost so far.
type Usage struct {
	CPU        time.Duration
	PeakRSS    int64 // bytes (VmHWM)
	DiskWrites int64 // bytes written to storage (write_bytes − cancelled_write_bytes)
}

// Read samples /proc/pid. Sample before the process exits: /proc/pid is
// gone afterwards.
func Read(pid int) (Usage, error) {
	var u Usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("procstat: %w", err)
	}
	// Fields after the ")" closing the command name; utime and stime are
	// fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
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

func procField(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			if fs := strings.Fields(rest); len(fs) > 0 {
				return strconv.ParseInt(fs[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}

func (u Usage) String() string {
	return fmt.Sprintf("cpu=%v peak_rss=%.1fMiB disk_writes=%.1fMiB", u.CPU.Round(time.Millisecond), float64(u.PeakRSS)/(1<<20), float64(u.DiskWrites)/(1<<20))
}
