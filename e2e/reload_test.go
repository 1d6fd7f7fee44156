package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

// TestReloadKeepsEverything: while lines are appended, SIGHUP swaps a
// config (output b removed, output c added). Output a, in both configs,
// gets every line; c gets every line written after the reload; an invalid
// config is rejected and the agent goes on.
func TestReloadKeepsEverything(t *testing.T) {
	const lines = 60_000
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	writeFile(t, logFile, "")
	a, b, c := testenv.NewSink(t, lines), testenv.NewSink(t, lines), testenv.NewSink(t, lines)
	cfgFile := filepath.Join(dir, "pulse.yaml")
	config := func(outs ...string) string {
		var s strings.Builder
		fmt.Fprintf(&s, "data_dir: %s\nadmin: {listen: \"off\"}\ninputs:\n  - {name: app, type: file, paths: [%q], poll_interval: 10ms}\noutputs:\n", filepath.Join(dir, "data"), logFile)
		for _, o := range outs {
			fmt.Fprintf(&s, "  - {name: %s, type: http, endpoints: [%q], retry_max: 200ms, batch: {max_events: 500, max_bytes: 1MiB, max_wait: 20ms}}\n", o[:1], o[2:])
		}
		return s.String()
	}
	writeFile(t, cfgFile, config("a="+a.Addr, "b="+b.Addr))
	p := testenv.Start(t, dir, "agent", testenv.Binary(t), "agent", "-config", cfgFile)
	testenv.WaitFor(t, 20*time.Second, "agent started", func() bool { return strings.Contains(p.Log(), "pulse agent started") })

	// A writer appends lines at a steady pace; the reload happens half-way.
	var wg sync.WaitGroup
	wg.Add(1)
	reloadAt := make(chan int, 1)
	go func() {
		defer wg.Done()
		f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for i := 0; i < lines; i += 500 {
			var s strings.Builder
			for j := i; j < i+500; j++ {
				fmt.Fprintf(&s, "at=info id=%d msg=reload-test\n", j)
			}
			f.WriteString(s.String())
			if i == lines/2 {
				reloadAt <- i + 500
			}
			time.Sleep(5 * time.Millisecond) // pacing the producer, not waiting on a condition
		}
	}()

	// An invalid config first: rejected, the agent keeps running.
	writeFile(t, cfgFile, config("a="+a.Addr)+"    colour: red\n")
	p.Signal(syscall.SIGHUP)
	testenv.WaitFor(t, 10*time.Second, "invalid reload rejected", func() bool {
		return strings.Contains(p.Log(), "reload rejected")
	})
	writeFile(t, cfgFile, config("a="+a.Addr, "c="+c.Addr))
	after := <-reloadAt
	p.Signal(syscall.SIGHUP)
	wg.Wait()

	testenv.WaitFor(t, time.Minute, "every line at a", a.IDs.Complete)
	testenv.WaitFor(t, time.Minute, "every line after the reload at c", func() bool { return c.IDs.CompleteFrom(after) })
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.Tail(20))
	}
	if !strings.Contains(p.Log(), "reloading") {
		t.Fatalf("no reload in the log:\n%s", p.Tail(20))
	}
	t.Logf("a: %s", a.IDs.Report())
	t.Logf("b (removed at the reload): %s", b.IDs.Report())
	t.Logf("c (added at the reload, after id %d): %s", after, c.IDs.Report())
}
