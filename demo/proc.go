package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"pulse/child"
)

// group owns the children of one run and stops them all, in reverse order
// of start (producers last), on the way out. Each child logs to
// dir/name.log and runs in its own process group, so that Ctrl-C on the
// terminal reaches the demo only, which then stops the children in order.
type group struct {
	dir, bin string
	procs    []*child.Process
}

func (g *group) start(name string, args ...string) (*child.Process, error) {
	p := &child.Process{
		Name:    name,
		Args:    append([]string{g.bin}, args...),
		LogPath: filepath.Join(g.dir, name+".log"),
		Setpgid: true,
	}
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	g.procs = append(g.procs, p)
	return p, nil
}

// stopAll stops every running child: SIGTERM to all, wait up to grace,
// then SIGKILL whatever is left. Every child is reaped when it returns.
func (g *group) stopAll(grace time.Duration) {
	for i := len(g.procs) - 1; i >= 0; i-- {
		g.procs[i].Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range g.procs {
		_ = p.Wait(context.Background(), max(time.Until(deadline), time.Millisecond))
	}
	for _, p := range g.procs {
		p.Kill()
	}
}

// pids returns every process id the group's children ever had.
func (g *group) pids() []int {
	var out []int
	for _, p := range g.procs {
		out = append(out, p.PIDs()...)
	}
	return out
}
