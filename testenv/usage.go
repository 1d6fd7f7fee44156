package testenv

import "pulse/procstat"

// Usage is what a process cost: CPU time, peak resident memory, and bytes
// it caused to be written to storage. Process.Usage samples it from /proc
// while the process runs, Process.ExitUsage from its rusage once it exited.
type Usage = procstat.Usage
