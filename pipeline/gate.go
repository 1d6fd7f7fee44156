package pipeline

import "sync"

// fragmentGate holds the commits of replayable input batches (a file
// tail's) until the fragments of every window their events counted in are
// stored. A kill -9 before that makes the input read the events again, and
// their aggregates are derived anew, instead of lost with the process.
type fragmentGate struct {
	mu   sync.Mutex
	held []heldCommit // in arrival order
}

type heldCommit struct {
	window  int64 // latest window start the batch's events counted in
	release func()
}

// hold wraps commit so that it runs once it has been called and the
// fragments of window are stored (see take).
func (g *fragmentGate) hold(window int64, fn func()) func() {
	c := &commit{fn: fn}
	c.refs.Store(2) // the events stored, and their fragments
	g.mu.Lock()
	g.held = append(g.held, heldCommit{window: window, release: c.release})
	g.mu.Unlock()
	return c.release
}

// snapshot returns how many commits are held now: a flush that starts
// after it covers their observations.
func (g *fragmentGate) snapshot() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.held)
}

// take removes, of the first n held commits, those whose windows start at
// or before covered, and returns a func releasing them: the commit of the
// fragments that cover them.
func (g *fragmentGate) take(n int, covered int64) func() {
	g.mu.Lock()
	var out []func()
	keep := g.held[:0]
	for i, h := range g.held {
		if i < n && h.window <= covered {
			out = append(out, h.release)
		} else {
			keep = append(keep, h)
		}
	}
	clear(g.held[len(keep):])
	g.held = keep
	g.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	return func() {
		for _, f := range out {
			f()
		}
	}
}
