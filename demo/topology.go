package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pulse/child"
)

// topology is the demo's processes and where their data lands.
type topology struct {
	g                 *group
	logFile           string
	archive           []*child.Process
	archiveDirs       []string
	archiveAddrs      []string
	chainDir          string
	agent, chain, gen *child.Process
	agentAdmin        string
	mergers           []*child.Process
	snapshotDirs      []string
}

// startDemo starts gen, the sinks, the chained agent, the mergers and the
// agent, in the order that lets each find its next hop listening.
func startDemo(ctx context.Context, g *group, o Options) (*topology, error) {
	t := &topology{g: g, logFile: filepath.Join(g.dir, "app.log")}
	listen := func(p *child.Process, addr string) error { return waitListening(ctx, p, addr, 30*time.Second) }
	for i := 1; i <= 2; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		d := filepath.Join(g.dir, fmt.Sprintf("archive%d", i))
		p, err := g.start(fmt.Sprintf("archive%d", i), "sink", "-listen", addr, "-dir", d, "-quiet")
		if err != nil {
			return nil, err
		}
		if err := listen(p, addr); err != nil {
			return nil, err
		}
		t.archive, t.archiveDirs, t.archiveAddrs = append(t.archive, p), append(t.archiveDirs, d), append(t.archiveAddrs, addr)
	}

	chainAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	t.chainDir = filepath.Join(g.dir, "chain", "out")
	if t.chain, err = startConfigured(g, "chain", "agent", fmt.Sprintf(`id: chain
data_dir: %q
admin: {listen: "off"}
log: {level: warn}
inputs:
  - {name: upstream, type: http, listen: %q, format: pulse}
outputs:
  - {name: archive, type: file, path: %q}
`, filepath.Join(g.dir, "chain", "data"), chainAddr, t.chainDir)); err != nil {
		return nil, err
	}
	if err := listen(t.chain, chainAddr); err != nil {
		return nil, err
	}

	var mergerAddrs []string
	for i := 1; i <= 2; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		d := filepath.Join(g.dir, fmt.Sprintf("merger%d", i))
		snap := filepath.Join(d, "snapshots")
		m, err := startConfigured(g, fmt.Sprintf("merger%d", i), "merger", fmt.Sprintf(`id: merger%d
data_dir: %q
admin: {listen: "off"}
log: {level: warn}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 1s, finalize_after: 5s}
outputs:
  - {name: snapshots, type: file, path: %q}
`, i, filepath.Join(d, "data"), addr, snap))
		if err != nil {
			return nil, err
		}
		if err := listen(m, addr); err != nil {
			return nil, err
		}
		t.mergers, t.snapshotDirs = append(t.mergers, m), append(t.snapshotDirs, snap)
		mergerAddrs = append(mergerAddrs, fmt.Sprintf("%q", addr))
	}

	// Timestamps end about now, so that the metric windows are current
	// (at full speed gen steps 100 µs per event, far faster than the clock).
	first := time.Now().UTC()
	if o.Rate == 0 {
		first = first.Add(-time.Duration(o.Events) * 100 * time.Microsecond)
	}
	genArgs := []string{"gen", "-count", fmt.Sprint(o.Events), "-out", t.logFile, "-start", first.Format(time.RFC3339Nano), "-q"}
	if o.Rate > 0 {
		genArgs = append(genArgs, "-rate", fmt.Sprint(o.Rate))
	}
	if t.gen, err = g.start("gen", genArgs...); err != nil {
		return nil, err
	}
	if err := waitFile(ctx, t.gen, t.logFile, 30*time.Second); err != nil {
		return nil, err
	}

	if t.agentAdmin, err = freeAddr(); err != nil {
		return nil, err
	}
	t.agent, err = startConfigured(g, "agent", "agent", fmt.Sprintf(`id: demo
data_dir: %q
admin: {listen: %q}
log: {level: warn}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics:
  window: 10s
  late_windows: 30
  l2met: true
  rules:
    - {name: router.service, match: {at: info}, value: service, kind: measure, group_by: [status]}
outputs:
  - name: archive
    type: http
    endpoints: [%q, %q]
    encoding: pulse
    balance: least_loaded
    retry_max: 500ms
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 100ms}
  - name: chain
    type: http
    endpoints: [%q]
    encoding: pulse
    retry_max: 500ms
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 100ms}
  - name: metrics
    stream: fragments
    type: http
    endpoints: [%s]
    encoding: pulse
    balance: hash
    retry_max: 500ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 100ms}
`, filepath.Join(g.dir, "agent"), t.agentAdmin, t.logFile, t.archiveAddrs[0], t.archiveAddrs[1], chainAddr, strings.Join(mergerAddrs, ", ")))
	if err != nil {
		return nil, err
	}
	if err := listen(t.agent, t.agentAdmin); err != nil {
		return nil, err
	}
	return t, nil
}

// startConfigured writes cfg to dir/name.yaml and starts `pulse cmd -config`.
func startConfigured(g *group, name, cmd, cfg string) (*child.Process, error) {
	path := filepath.Join(g.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return g.start(name, cmd, "-config", path)
}

// waitFile waits until path exists (gen created it) or gen failed.
func waitFile(ctx context.Context, gen *child.Process, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if !gen.Running() {
			if err := gen.Wait(ctx, time.Second); err != nil {
				return fmt.Errorf("demo: gen: %w:\n%s", err, gen.TailBytes(2000))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %s not created after %v", path, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
