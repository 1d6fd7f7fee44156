package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// BenchmarkFanout is the seed's scenario on one machine: a file of 240-byte
// lines → one agent → three clusters × two `pulse sink` nodes, native
// protocol, disk buffers on. Each iteration moves 2,000,000 events. It
// reports events/s end to end (until every cluster has every event), agent
// CPU seconds per million events, agent peak RSS and bytes the agent wrote
// to storage per event.
//
//	go test -run XXX -bench Fanout -benchtime 1x ./e2e/
func BenchmarkFanout(b *testing.B) {
	b.Run("healthy", func(b *testing.B) { benchFanout(b, false) })
	b.Run("cluster-b-down", func(b *testing.B) { benchFanout(b, true) })
}

func benchFanout(b *testing.B, bDown bool) {
	const lines = 2_000_000
	root := b.TempDir()
	logFile := filepath.Join(root, "app.log")
	size, err := testenv.WriteLines(logFile, lines, 240)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var usage testenv.Usage
	for i := 0; i < b.N; i++ {
		run := filepath.Join(root, fmt.Sprint(i))
		var outs strings.Builder
		var live [][]string
		for _, name := range []string{"a", "b", "c"} {
			var addrs []string
			var dirs []string
			for n := 1; n <= 2; n++ {
				if name == "b" && bDown {
					addrs = append(addrs, testenv.FreeAddr(b)) // nobody listens
					continue
				}
				s := testenv.StartSink(b, run, fmt.Sprintf("%s%d", name, n))
				addrs, dirs = append(addrs, s.Addr), append(dirs, s.Dir)
			}
			if dirs != nil {
				live = append(live, dirs)
			}
			fmt.Fprintf(&outs, `  - name: %s
    type: http
    endpoints: [%q, %q]
    encoding: pulse
    balance: least_loaded
    max_in_flight: 4
    retry_max: 1s
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 200ms}
    buffer: {max_bytes: 256MiB, when_full: drop_oldest}
`, name, addrs[0], addrs[1])
		}
		start := time.Now()
		agent := testenv.StartAgent(b, run, "agent", `id: bench
data_dir: %[1]s
log: {level: warn}
inputs:
  - {name: app, type: file, paths: [`+fmt.Sprintf("%q", logFile)+`], poll_interval: 20ms}
outputs:
`+outs.String())
		testenv.WaitFor(b, 5*time.Minute, "every live cluster has every event", func() bool {
			for _, dirs := range live {
				var got int64
				for _, d := range dirs {
					got += dirSize(d)
				}
				if got < size {
					return false
				}
			}
			return true
		})
		total += time.Since(start)
		u, err := agent.Usage()
		if err != nil {
			b.Fatal(err)
		}
		usage.CPU += u.CPU
		usage.DiskWrites += u.DiskWrites
		usage.PeakRSS = max(usage.PeakRSS, u.PeakRSS)
		agent.Kill()
		for _, dirs := range live {
			ids, err := testenv.ScanDirs(lines, dirs...)
			if err != nil || !ids.Complete() {
				b.Fatalf("cluster incomplete: %v %s", err, ids.Report())
			}
		}
	}
	events := float64(lines * b.N)
	b.ReportMetric(events/total.Seconds(), "events/s")
	b.ReportMetric(float64(size*int64(b.N))/total.Seconds()/1e6, "MB/s")
	b.ReportMetric(usage.CPU.Seconds()/(events/1e6), "cpu-s/Mevents")
	b.ReportMetric(float64(usage.PeakRSS)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(usage.DiskWrites)/events, "disk-B/event")
}
