package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ChainOptions configure StartChain. Zero values take the defaults.
type ChainOptions struct {
	// Gen, when Events is set, starts `pulse gen` writing the head file;
	// otherwise the test writes Head itself (it starts empty).
	Gen         GenOptions
	Compression string   // of the hops: zstd (default), s2 or none
	BufferBytes int64    // each agent's buffer cap; default 64 MiB
	SinkFlags   []string // more `pulse sink` flags: -latency 50ms, -fail-rate 0.2
}

// Chain is a file at the head, n agents in a line passing the events on
// in the native protocol, and a `pulse sink` at the end:
//
//	Head → Agents[0] → Agents[1] → … → Agents[n-1] → Sink
type Chain struct {
	Root   string
	Head   string  // the file Agents[0] tails
	Gen    *Gen    // writes Head; nil unless ChainOptions.Gen.Events is set
	Agents []*Node // Agents[i].Addr is its http input (none for Agents[0]); each has an Admin
	Sink   *Node   // events in Sink.Dir
}

// StartChain starts a chain of n agents under a new temp dir, from the
// sink back to the head, each waited for until it listens.
func StartChain(t testing.TB, n int, o ChainOptions) *Chain {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: chain of %d agents", n)
	}
	c := &Chain{Root: t.TempDir(), Agents: make([]*Node, n)}
	c.Sink = StartSink(t, c.Root, "sink", o.SinkFlags...)
	next := c.Sink.Addr
	for i := n - 1; i >= 0; i-- {
		name := fmt.Sprintf("agent%d", i+1)
		cfg := Config{Outputs: []string{HTTPOutput{
			Name: "next", Endpoints: []string{next}, Compression: o.Compression, BufferBytes: o.BufferBytes,
		}.YAML()}}
		listen := ""
		if i > 0 {
			listen = FreeAddr(t)
			cfg.Inputs = []string{HTTPInput("upstream", listen, "pulse")}
		} else {
			c.Head = c.startHead(t, o.Gen)
			cfg.Inputs = []string{FileInput("head", c.Head)}
		}
		c.Agents[i] = startConfigured(t, c.Root, name, "agent", cfg, listen)
		next = listen
	}
	return c
}

// startHead starts gen writing the head file, or creates it empty.
func (c *Chain) startHead(t testing.TB, o GenOptions) string {
	t.Helper()
	if o.Events > 0 {
		c.Gen = StartGen(t, c.Root, "gen", o)
		return c.Gen.Path
	}
	head := filepath.Join(c.Root, "head.lines")
	if err := os.WriteFile(head, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return head
}

// Delivered counts the ids 0..events-1 the sink at the end has written.
func (c *Chain) Delivered(events int) (*IDs, error) { return ScanDir(c.Sink.Dir, events) }

// Processes returns every process of the chain: gen (if any), the agents
// from the head, the sink.
func (c *Chain) Processes() []*Process {
	var ps []*Process
	if c.Gen != nil {
		ps = append(ps, c.Gen.Process)
	}
	for _, a := range c.Agents {
		ps = append(ps, a.Process)
	}
	return append(ps, c.Sink.Process)
}

// Stop stops the chain from the head (so that each agent drains into a
// running next hop), each process given timeout for a clean exit, and
// returns every failure. Whatever did not exit cleanly is killed.
func (c *Chain) Stop(timeout time.Duration) error { return StopAll(timeout, c.Processes()...) }
