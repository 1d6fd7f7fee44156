package testenv

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// startConfigured starts an agent (cmd "agent") or a merger (cmd "merger")
// with c, an admin endpoint on a free port, and waits until the admin
// endpoint and listen (its http input, when not empty) accept connections.
func startConfigured(t testing.TB, root, name, cmd string, c Config, listen string) *Node {
	t.Helper()
	c.Admin = FreeAddr(t)
	if c.ID == "" {
		c.ID = name
	}
	var n *Node
	switch cmd {
	case "agent":
		n = StartAgent(t, root, name, c.YAML())
	case "merger":
		n = StartMerger(t, root, name, c.YAML())
	default:
		t.Fatalf("testenv: %s: unknown command %q", name, cmd)
	}
	n.Addr, n.Admin = listen, c.Admin
	WaitListening(t, n.Process, n.Admin)
	if listen != "" {
		WaitListening(t, n.Process, listen)
	}
	return n
}

// StopAll stops each running process with SIGTERM in turn, in the order
// given, waiting up to timeout for each to exit cleanly, and kills (and
// reaps) any that does not. It returns every failure.
func StopAll(timeout time.Duration, procs ...*Process) error {
	var errs []error
	for _, p := range procs {
		if p == nil || !p.Running() {
			continue
		}
		if err := p.Stop(timeout); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			p.Kill()
		}
	}
	return errors.Join(errs...)
}
