package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Node is a pulse process listening on a known address, with its own
// directory: a `pulse sink` (events in Dir) or an agent (data in Dir).
type Node struct {
	*Process
	Addr  string
	Dir   string
	Admin string // an agent's admin endpoint (host:port), when it has one
}

// StartSink starts `pulse sink` on a free 127.0.0.1 port writing to
// root/name, with extra flags (e.g. "-latency", "50ms"), and waits until it
// accepts connections.
func StartSink(t testing.TB, root, name string, extra ...string) *Node {
	t.Helper()
	return StartSinkAt(t, root, name, FreeAddr(t), extra...)
}

// StartSinkAt is StartSink listening on addr (host:port).
func StartSinkAt(t testing.TB, root, name, addr string, extra ...string) *Node {
	t.Helper()
	dir := filepath.Join(root, name)
	args := append([]string{"sink", "-listen", addr, "-dir", dir, "-quiet"}, extra...)
	n := &Node{Process: Start(t, root, name, Binary(t), args...), Addr: addr, Dir: dir}
	WaitListening(t, n.Process, addr)
	return n
}

// StartAgent writes config (a YAML template whose %[1]s is the agent's data
// dir) to root/name.yaml and starts `pulse agent` with it.
func StartAgent(t testing.TB, root, name, config string) *Node {
	t.Helper()
	cfg, dir := writeConfig(t, root, name, config)
	return &Node{Process: Start(t, root, name, Binary(t), "agent", "-config", cfg), Dir: dir}
}

// StartMerger is StartAgent for `pulse merger`.
func StartMerger(t testing.TB, root, name, config string) *Node {
	t.Helper()
	cfg, dir := writeConfig(t, root, name, config)
	return &Node{Process: Start(t, root, name, Binary(t), "merger", "-config", cfg), Dir: dir}
}

// writeConfig writes config, with its %[1]s filled in with root/name, to
// root/name.yaml, and returns the file and the directory.
func writeConfig(t testing.TB, root, name, config string) (cfg, dir string) {
	t.Helper()
	dir = filepath.Join(root, name)
	cfg = filepath.Join(root, name+".yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

// WaitListening waits until addr accepts TCP connections, failing fast if
// the process exits.
func WaitListening(t testing.TB, p *Process, addr string) {
	t.Helper()
	WaitFor(t, 20*time.Second, p.Name+" listening on "+addr, func() bool {
		if !p.Running() {
			t.Fatalf("%s exited:\n%s", p.Name, p.Tail(20))
		}
		return Dial(addr)
	})
}
