package terraform_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// chain is a bootstrapped local chain: the hops head first, and with fanout
// the sink clusters b and c.
type chain struct {
	etcd   *etcdServer
	prefix string
	hops   []*node
	sinks  map[string][]*node
	events int // GEN_COUNT given to the head
}

type chainSpec struct {
	length          int
	fanout          bool
	sinksPerCluster int
	events          int
}

// bootstrapChain runs bootstrap.sh for every instance of spec against a real
// etcd, the way they boot on EC2: all at once, each finding the next through
// etcd. To show that a hop waits for the next one, it starts them head
// first, each only once the one before has registered and is still
// waiting; with fanout, the sinks start only once the middle hops wait for
// them.
func bootstrapChain(t *testing.T, spec chainSpec) *chain {
	t.Helper()
	c := &chain{etcd: startEtcd(t), prefix: "/pulse/test-env", sinks: map[string][]*node{}, events: spec.events}
	root := t.TempDir()
	common := []string{
		"CHAIN_LENGTH=" + strconv.Itoa(spec.length),
		"FANOUT=" + strconv.FormatBool(spec.fanout),
		"SINKS_PER_CLUSTER=" + strconv.Itoa(max(spec.sinksPerCluster, 1)),
		"GEN_RATE=0",
		"GEN_COUNT=" + strconv.Itoa(spec.events),
	}
	for i := range spec.length {
		c.hops = append(c.hops, newNode(t, root, fmt.Sprintf("hop-%d", i), c.etcd, c.prefix, append(common, "POSITION="+strconv.Itoa(i))...))
	}
	if spec.fanout {
		for _, cl := range []string{"b", "c"} {
			for j := range spec.sinksPerCluster {
				c.sinks[cl] = append(c.sinks[cl], newNode(t, root, fmt.Sprintf("sink-%s-%d", cl, j), c.etcd, c.prefix,
					append(common, "ROLE=sink", "SINK_CLUSTER="+cl, "SINK_INDEX="+strconv.Itoa(j))...))
			}
		}
	}

	for i, hop := range c.hops {
		hop.Start(t)
		key := fmt.Sprintf("%s/chain/%d", c.prefix, i)
		testenv.WaitFor(t, 30*time.Second, hop.Name+" registered", func() bool {
			if !hop.Running() && !strings.Contains(hop.Output(), "registered") {
				t.Fatalf("%s: bootstrap.sh exited before registering: %v\n%s", hop.Name, hop.err, hop.Output())
			}
			return strings.Contains(hop.Output(), "registered "+key)
		})
		if i < len(c.hops)-1 && (!hop.Running() || strings.Contains(hop.Output(), "next hop:")) {
			t.Fatalf("%s went on before hop-%d registered:\n%s", hop.Name, i+1, hop.Output())
		}
	}
	if spec.fanout {
		for _, hop := range c.hops[1 : len(c.hops)-1] {
			testenv.WaitFor(t, 30*time.Second, hop.Name+" found its next hop", func() bool {
				return strings.Contains(hop.Output(), "next hop:")
			})
			if !hop.Running() || strings.Contains(hop.Output(), "sink clusters:") {
				t.Fatalf("%s went on before the sinks registered:\n%s", hop.Name, hop.Output())
			}
		}
		for _, cl := range []string{"b", "c"} {
			for _, s := range c.sinks[cl] {
				s.Start(t)
			}
		}
	}
	for _, n := range c.all() {
		if out, err := n.Wait(t, 60*time.Second); err != nil {
			t.Fatalf("%s: bootstrap.sh: %v\n%s", n.Name, err, out)
		}
	}
	return c
}

func (c *chain) all() []*node {
	all := append([]*node(nil), c.hops...)
	return append(append(all, c.sinks["b"]...), c.sinks["c"]...)
}

// Three positions register in etcd, each discovers the next hop, and the
// configs rendered from the role templates pass pulse validate; the
// helpers and units are installed.
func TestBootstrap(t *testing.T) {
	c := bootstrapChain(t, chainSpec{length: 3, events: 1000})
	bin := testenv.Binary(t)

	keys := c.etcd.Keys(t, c.prefix+"/")
	if len(keys) != len(c.hops) {
		t.Errorf("etcd holds %d keys under %s, want %d: %v", len(keys), c.prefix, len(c.hops), keys)
	}
	roles := []string{"head", "middle", "tail"}
	templates := []string{"head.yaml", "middle.yaml", "tail.yaml"}
	for i, n := range c.hops {
		if got, key := keys[fmt.Sprintf("%s/chain/%d", c.prefix, i)], fmt.Sprintf("%s/chain/%d", c.prefix, i); got != n.Addr {
			t.Errorf("%s = %q, want %s", key, got, n.Addr)
		}

		cfg := n.Path("etc/pulse/pulse.yaml")
		text := readFile(t, cfg)
		wantLines := []string{
			"id: " + n.Name,
			"data_dir: " + n.Path("var/lib/pulse"),
			fmt.Sprintf(`listen: "%s"`, n.Addr),
		}
		if i < len(c.hops)-1 {
			wantLines = append(wantLines, fmt.Sprintf(`endpoints: ["%s"]`, c.hops[i+1].Addr))
		} else {
			wantLines = append(wantLines, "path: "+n.Path("opt/pulse/events"))
		}
		for _, want := range wantLines {
			if !strings.Contains(text, want) {
				t.Errorf("%s: rendered config lacks %q:\n%s", n.Name, want, text)
			}
		}
		if !strings.Contains(n.Output(), "from "+templates[i]) {
			t.Errorf("%s: not rendered from %s:\n%s", n.Name, templates[i], n.Output())
		}
		if out, err := exec.Command(bin, "validate", "-config", cfg).CombinedOutput(); err != nil {
			t.Errorf("%s: pulse validate: %v\n%s", n.Name, err, out)
		}

		wantStarts := [][]string{{n.Path("usr/local/bin/pulse"), "agent", "-config", cfg}}
		if i == 0 {
			wantStarts = append(wantStarts, []string{n.Path("usr/local/bin/pulse"), "gen", "-rate", "0", "-count", "1000",
				"-start", "now", "-out", "http://" + n.Addr, "-format", "pulse", "-q"})
		}
		if got := n.Starts(); fmt.Sprint(got) != fmt.Sprint(wantStarts) {
			t.Errorf("%s would start %q, want %q", n.Name, got, wantStarts)
		}

		out, err := exec.Command(n.Path("usr/local/bin/instanceid")).Output()
		want := fmt.Sprintf("%s %s (position %d of 3) i-%s %s\n", n.Name, roles[i], i, n.Name, n.Addr)
		if err != nil || string(out) != want {
			t.Errorf("instanceid = %q, %v; want %q", out, err, want)
		}
		if _, err := os.Stat(n.Path("usr/local/bin/lsevents")); err != nil {
			t.Errorf("lsevents not installed: %v", err)
		}

		units := n.Path("etc/systemd/system")
		wantUnits := []string{"pulse.service"}
		if i == 0 {
			wantUnits = append(wantUnits, "pulse-gen.service")
		}
		for _, u := range wantUnits {
			text := readFile(t, filepath.Join(units, u))
			if !strings.Contains(text, "ExecStart="+n.Path("usr/local/bin/pulse")) {
				t.Errorf("%s: %s does not start the installed pulse:\n%s", n.Name, u, text)
			}
		}
		if i == len(c.hops)-1 {
			dropIn := readFile(t, filepath.Join(units, "pulse.service.d", "10-chain-tail.conf"))
			if want := "ReadWritePaths=" + n.Path("opt/pulse/events"); !strings.Contains(dropIn, want) {
				t.Errorf("tail drop-in lacks %q:\n%s", want, dropIn)
			}
		}
		if sa, ok := testenv.OptionalTool(t, "systemd-analyze", "systemd"); ok {
			cmd := exec.Command(sa, append([]string{"verify"}, wantUnits...)...)
			cmd.Dir = units
			if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("%s: systemd-analyze verify %v: %v\n%s", n.Name, wantUnits, err, out)
			}
		}
	}
}

// bootstrap.sh refuses bad settings with a message naming them, and every
// wait is bounded.
func TestBootstrapFails(t *testing.T) {
	badTemplates := t.TempDir()
	for name, text := range map[string]string{
		"tail.yaml": "id: ${instance_id}\ndata_dir: ${data_dir}\nnope: ${nope}\n",
		"head.yaml": strings.Replace(readFile(t, templatePath("head.yaml")), "max_bytes: 1GiB", "max_bytes: 1KiB", 1),
	} {
		if err := os.WriteFile(filepath.Join(badTemplates, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		etcd  bool // a live etcd, else an address nothing listens on
		ctl   bool // etcdctl, to reach that address (no live etcd needed)
		env   []string
		setup func(e *etcdServer, prefix string) // before the run
		want  string
	}{
		{name: "no etcd endpoints", env: []string{"ETCD_ENDPOINTS=", "POSITION=0", "CHAIN_LENGTH=2"}, want: "ETCD_ENDPOINTS is required"},
		{name: "past the end", env: []string{"POSITION=3", "CHAIN_LENGTH=3"}, want: "POSITION=3 is past the chain's end"},
		{name: "chain of one", env: []string{"POSITION=0", "CHAIN_LENGTH=1"}, want: "CHAIN_LENGTH=1: want a number ≥ 2"},
		{name: "no position", env: []string{"CHAIN_LENGTH=3"}, want: "POSITION=: want a chain position"},
		{name: "role against position", env: []string{"ROLE=tail", "POSITION=0", "CHAIN_LENGTH=3"}, want: "position 0 of 3 is the head"},
		{name: "unknown sink cluster", env: []string{"ROLE=sink", "SINK_CLUSTER=d", "SINK_INDEX=0"}, want: "SINK_CLUSTER=d: want b or c"},
		{name: "bad fanout", env: []string{"POSITION=0", "CHAIN_LENGTH=2", "FANOUT=yes"}, want: "FANOUT=yes: want true or false"},
		{name: "no binary", env: []string{"POSITION=1", "CHAIN_LENGTH=2", "PULSE_BINARY="}, want: "set PULSE_BINARY or PULSE_RELEASE_URL"},
		{name: "upload never comes", env: []string{"POSITION=1", "CHAIN_LENGTH=2", "PULSE_BINARY=/nonexistent/pulse", "WAIT_TIMEOUT=1"},
			want: "timed out after 1s waiting for /nonexistent/pulse"},
		{name: "etcd unreachable", ctl: true, env: []string{"POSITION=1", "CHAIN_LENGTH=2", "WAIT_TIMEOUT=1"},
			want: "timed out after 1s registering /pulse/fail/chain/1 in etcd"},
		{name: "next hop never registers", etcd: true, env: []string{"POSITION=0", "CHAIN_LENGTH=2", "WAIT_TIMEOUT=1"},
			want: "timed out after 1s waiting for /pulse/fail/chain/1 in etcd"},
		{name: "sink cluster incomplete", etcd: true, env: []string{"POSITION=1", "CHAIN_LENGTH=3", "FANOUT=true", "SINKS_PER_CLUSTER=2", "WAIT_TIMEOUT=2"},
			setup: func(e *etcdServer, prefix string) {
				for _, kv := range [][2]string{{"/chain/2", "127.0.0.1:9"}, {"/sinks/b/0", "127.0.0.1:9"}, {"/sinks/b/1", "127.0.0.1:9"}} {
					if out, err := e.run("put", prefix+kv[0], kv[1]); err != nil {
						t.Fatalf("etcdctl put: %v\n%s", err, out)
					}
				}
			},
			want: "waiting for /pulse/fail/sinks/c/0 in etcd"},
		{name: "placeholder left", etcd: true, env: []string{"POSITION=1", "CHAIN_LENGTH=2", "TEMPLATE_DIR=" + badTemplates},
			want: "placeholder left unrendered: ${nope}"},
		{name: "config does not validate", etcd: true, env: []string{"POSITION=0", "CHAIN_LENGTH=2", "TEMPLATE_DIR=" + badTemplates},
			setup: func(e *etcdServer, prefix string) {
				if out, err := e.run("put", prefix+"/chain/1", "127.0.0.1:9"); err != nil {
					t.Fatalf("etcdctl put: %v\n%s", err, out)
				}
			},
			want: "rendered head.yaml does not validate"},
	}
	// One etcd for the cases that need it; without etcd installed (outside
	// CI) only those cases skip — and under CI they fail, naming the
	// package, as a case needing only etcdctl does without it.
	var e *etcdServer
	if _, err := exec.LookPath("etcd"); err == nil || os.Getenv("CI") != "" {
		e = startEtcd(t)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var use *etcdServer
			if tt.etcd {
				if e == nil {
					testenv.NeedTool(t, "etcd", "etcd-server")
				}
				use = e
			}
			if tt.ctl {
				testenv.NeedTool(t, "etcdctl", "etcd-client")
			}
			prefix := "/pulse/fail"
			if use != nil {
				if _, err := use.run("del", "--prefix", prefix); err != nil {
					t.Fatal(err)
				}
				if tt.setup != nil {
					tt.setup(use, prefix)
				}
			}
			n := newNode(t, t.TempDir(), "n", use, prefix, tt.env...)
			start := time.Now()
			out, err := n.Run(t, 30*time.Second)
			if err == nil {
				t.Fatalf("bootstrap.sh succeeded, want an error %q:\n%s", tt.want, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("bootstrap.sh output lacks %q:\n%s", tt.want, out)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v to fail", d)
			}
			if _, err := os.Stat(n.Path("etc/pulse/pulse.yaml")); err == nil {
				t.Errorf("a config was installed despite the failure")
			}
		})
	}
}
