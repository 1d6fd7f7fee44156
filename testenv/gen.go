package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// GenOptions configure StartGen. Zero values take the defaults.
type GenOptions struct {
	Events int     // lines to write, ids 0..Events-1; required
	Rate   float64 // lines per second; 0 = as fast as gen can
	Mix    string  // gen's -mix; default router=100
	Seed   uint64  // default 1
}

// Gen is a `pulse gen` writing lines to a file, the head of a topology.
// Every line ends in "id=N", N counting from 0.
type Gen struct {
	*Process
	Path   string // the file gen writes
	Events int
}

// StartGen starts `pulse gen` writing dir/name.lines (its log is
// dir/name.log) and waits until the file exists. Timestamps end about now
// at full speed, and start now with a rate, so that the lines fall in
// current metric windows.
func StartGen(t testing.TB, dir, name string, o GenOptions) *Gen {
	t.Helper()
	if o.Events <= 0 {
		t.Fatalf("testenv: gen %s: %d events", name, o.Events)
	}
	if o.Mix == "" {
		o.Mix = "router=100"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	first := time.Now().UTC()
	if o.Rate <= 0 {
		// gen steps 100 µs per line at full speed, faster than the clock.
		first = first.Add(-time.Duration(o.Events) * 100 * time.Microsecond)
	}
	g := &Gen{Path: filepath.Join(dir, name+".lines"), Events: o.Events}
	args := []string{"gen", "-count", strconv.Itoa(o.Events), "-out", g.Path, "-mix", o.Mix,
		"-seed", strconv.FormatUint(o.Seed, 10), "-start", first.Format(time.RFC3339Nano), "-q"}
	if o.Rate > 0 {
		args = append(args, "-rate", fmt.Sprint(o.Rate))
	}
	g.Process = Start(t, dir, name, Binary(t), args...)
	WaitFor(t, 20*time.Second, "gen creates "+g.Path, func() bool {
		if _, err := os.Stat(g.Path); err == nil {
			return true
		}
		if !g.Running() {
			t.Fatalf("%s exited before creating %s:\n%s", name, g.Path, g.Tail(20))
		}
		return false
	})
	return g
}

// WaitDone waits until gen has written every line and exited cleanly.
func (g *Gen) WaitDone(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := g.Wait(timeout); err != nil {
		t.Fatalf("%s: %v\n%s", g.Name, err, g.Tail(20))
	}
}
