package terraform_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"pulse/testenv"
)

// The local twin of the cloud environment: bootstrap.sh renders the role
// configs from the same template files user-data ships, and the test starts
// exactly what it says systemd would start — sinks, then the hops tail
// first, then the head's generator — on 127.0.0.1. Every generated event
// reaches the tail's event files, and with fanout every sink cluster too.
func TestLocalChain(t *testing.T) {
	tests := []struct {
		name string
		spec chainSpec
	}{
		{"head-middle-tail", chainSpec{length: 3, events: 20000}},
		{"fanout", chainSpec{length: 3, fanout: true, sinksPerCluster: 2, events: 20000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := bootstrapChain(t, tt.spec)

			// Downstream first, so that nothing needs a retry to start.
			var agents []*testenv.Process
			start := func(n *node, argv []string) *testenv.Process {
				p := testenv.Start(t, n.Dir, n.Name+"-"+argv[1], argv[0], argv[1:]...)
				testenv.WaitListening(t, p, n.Addr)
				return p
			}
			for _, cl := range []string{"b", "c"} {
				for _, s := range c.sinks[cl] {
					if len(s.Starts()) != 1 || s.Starts()[0][1] != "sink" {
						t.Fatalf("%s would start %q, want one pulse sink", s.Name, s.Starts())
					}
					start(s, s.Starts()[0])
				}
			}
			for i := len(c.hops) - 1; i >= 0; i-- {
				agents = append(agents, start(c.hops[i], c.hops[i].Starts()[0]))
			}

			head := c.hops[0]
			if len(head.Starts()) != 2 {
				t.Fatalf("head would start %q, want the agent and pulse gen", head.Starts())
			}
			gen := head.Starts()[1]
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if out, err := exec.CommandContext(ctx, gen[0], gen[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%q: %v\n%s", gen, err, out)
			}

			tail := c.hops[len(c.hops)-1]
			dirs := map[string][]string{"tail": {tail.Path("opt/pulse/events")}}
			for _, cl := range []string{"b", "c"} {
				for _, s := range c.sinks[cl] {
					dirs["sinks "+cl] = append(dirs["sinks "+cl], s.Path("opt/pulse/events"))
				}
			}
			reports := map[string]testenv.Report{}
			for what, ds := range dirs {
				var ids *testenv.IDs
				testenv.WaitFor(t, 60*time.Second, "every event at the "+what, func() bool {
					var err error
					ids, err = testenv.ScanDirs(c.events, ds...)
					return err == nil && ids.Complete()
				})
				r := ids.Report()
				if r.Unique != c.events || r.Unknown != 0 {
					t.Errorf("%s: %v, want %d unique ids and nothing else", what, r, c.events)
				}
				// At least once: a retried batch may repeat, but a clean run
				// should not.
				t.Logf("%s: %v", what, r)
				reports[what] = r
			}
			for _, cl := range []string{"b", "c"} {
				if len(c.sinks[cl]) > 1 {
					for _, s := range c.sinks[cl] {
						ids, err := testenv.ScanDir(s.Path("opt/pulse/events"), c.events)
						if err != nil || ids.Report().Lines == 0 {
							t.Errorf("%s received nothing (%v): the cluster is not balanced", s.Name, err)
						}
					}
				}
			}

			// lsevents on the tail counts what the scan counted.
			out, err := exec.Command(tail.Path("usr/local/bin/lsevents"), "-json").Output()
			if err != nil {
				t.Fatalf("lsevents -json: %v\n%s", err, out)
			}
			var ls struct {
				EventDirs []struct {
					Dir    string `json:"dir"`
					Events int64  `json:"events"`
				} `json:"event_dirs"`
			}
			if err := json.Unmarshal(out, &ls); err != nil {
				t.Fatalf("lsevents -json: %v\n%s", err, out)
			}
			if len(ls.EventDirs) != 1 || filepath.Clean(ls.EventDirs[0].Dir) != tail.Path("opt/pulse/events") || ls.EventDirs[0].Events != reports["tail"].Lines {
				t.Errorf("lsevents on the tail = %+v, want %s with %d events", ls.EventDirs, tail.Path("opt/pulse/events"), reports["tail"].Lines)
			}

			// As systemd stops the service: SIGTERM, a clean exit.
			for _, p := range agents {
				if err := p.Stop(30 * time.Second); err != nil {
					t.Errorf("%s: %v\n%s", p.Name, err, p.Tail(10))
				}
			}
		})
	}
}
