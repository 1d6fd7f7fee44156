package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FanoutOptions configure StartFanout. Zero values take the defaults.
type FanoutOptions struct {
	// Gen, when Events is set, starts `pulse gen` writing the head file;
	// otherwise the test writes Head itself (it starts empty).
	Gen         GenOptions
	Balance     string        // round_robin, least_loaded (default) or hash
	Timeout     time.Duration // per request; default 5s
	BufferBytes int64         // each output's buffer cap; default 64 MiB
	MaxEvents   int           // events per output batch; default HTTPOutput's
	// SinkFlags returns more `pulse sink` flags for node j of cluster i
	// (-down-for 20s, -latency 50ms, -fail-rate 0.2); nil: none.
	SinkFlags func(cluster, node int) []string
	// Proxies puts a Proxy in front of every node, and the agent sends
	// through it: faults switched at run time (SetStatus, SetLatency).
	Proxies bool
}

// Fanout is one agent tailing a file and sending every event to k
// clusters of m `pulse sink` nodes, an output (and a buffer) per cluster:
// cluster i is the agent's output Cluster(i), nodes "a1", "a2", … for
// cluster "a".
type Fanout struct {
	Root     string
	Head     string
	Gen      *Gen // writes Head; nil unless FanoutOptions.Gen.Events is set
	Agent    *Node
	Clusters [][]*Node  // Clusters[i][j]: node j of cluster i
	Proxies  [][]*Proxy // with FanoutOptions.Proxies: Proxies[i][j] is before Clusters[i][j]
}

// StartFanout starts the sinks, the gen and the agent under a new temp dir
// and waits until each listens. k is at most 26.
func StartFanout(t testing.TB, k, m int, o FanoutOptions) *Fanout {
	t.Helper()
	if k < 1 || k > 26 || m < 1 {
		t.Fatalf("testenv: fanout to %d clusters of %d nodes", k, m)
	}
	f := &Fanout{Root: t.TempDir(), Clusters: make([][]*Node, k)}
	if o.Proxies {
		f.Proxies = make([][]*Proxy, k)
	}
	cfg := Config{Extra: "shutdown_timeout: 20s"}
	for i := range k {
		var endpoints []string
		for j := range m {
			var flags []string
			if o.SinkFlags != nil {
				flags = o.SinkFlags(i, j)
			}
			n := StartSink(t, f.Root, fmt.Sprintf("%s%d", Cluster(i), j+1), flags...)
			f.Clusters[i] = append(f.Clusters[i], n)
			addr := n.Addr
			if o.Proxies {
				p := NewProxy(t, n.Addr)
				f.Proxies[i] = append(f.Proxies[i], p)
				addr = p.Addr()
			}
			endpoints = append(endpoints, addr)
		}
		cfg.Outputs = append(cfg.Outputs, HTTPOutput{
			Name: Cluster(i), Endpoints: endpoints, Balance: o.Balance, Timeout: o.Timeout, BufferBytes: o.BufferBytes,
			MaxEvents: o.MaxEvents,
		}.YAML())
	}
	if o.Gen.Events > 0 {
		f.Gen = StartGen(t, f.Root, "gen", o.Gen)
		f.Head = f.Gen.Path
	} else {
		f.Head = filepath.Join(f.Root, "head.lines")
		if err := os.WriteFile(f.Head, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Inputs = []string{FileInput("head", f.Head)}
	f.Agent = startConfigured(t, f.Root, "agent", "agent", cfg, "")
	return f
}

// Cluster names cluster i: "a", "b", …; it is also the agent's output.
func Cluster(i int) string { return string(rune('a' + i)) }

// Dirs returns the event directories of cluster i's nodes.
func (f *Fanout) Dirs(cluster int) []string {
	var dirs []string
	for _, n := range f.Clusters[cluster] {
		dirs = append(dirs, n.Dir)
	}
	return dirs
}

// Delivered counts the ids 0..events-1 that cluster i's nodes have
// written, together.
func (f *Fanout) Delivered(cluster, events int) (*IDs, error) {
	return ScanDirs(events, f.Dirs(cluster)...)
}

// Processes returns every process: gen (if any), the agent, the sinks.
func (f *Fanout) Processes() []*Process {
	var ps []*Process
	if f.Gen != nil {
		ps = append(ps, f.Gen.Process)
	}
	ps = append(ps, f.Agent.Process)
	for _, c := range f.Clusters {
		for _, n := range c {
			ps = append(ps, n.Process)
		}
	}
	return ps
}

// Stop stops gen, the agent (which drains for up to 20 s) and the sinks,
// each given timeout for a clean exit, and returns every failure.
// Whatever did not exit cleanly is killed.
func (f *Fanout) Stop(timeout time.Duration) error { return StopAll(timeout, f.Processes()...) }
