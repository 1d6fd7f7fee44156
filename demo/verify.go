package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pulse/idcount"
)

// verifier follows what each destination received: once gen has written
// every event and a destination holds as many bytes, it counts the ids
// there, until none is missing.
type verifier struct {
	events int
	dests  []Destination
	dirs   [][]string // per destination, the directories it writes
}

func newVerifier(t *topology, events int) *verifier {
	return &verifier{
		events: events,
		dests:  []Destination{{Name: "archive (2 sinks, union)"}, {Name: "chained agent's file"}},
		dirs:   [][]string{t.archiveDirs, {t.chainDir}},
	}
}

// check scans each destination not yet complete and reports whether all
// are. genDone says gen has exited, genSize is what it wrote; a destination
// that passes is timed from start.
func (v *verifier) check(genDone bool, genSize int64, start time.Time) bool {
	complete := genDone
	for i := range v.dests {
		d := &v.dests[i]
		if d.Passed {
			continue
		}
		complete = false
		if !genDone || idcount.DirBytes(v.dirs[i]...) < genSize {
			continue
		}
		c, err := idcount.ScanDirs(v.events, v.dirs[i]...)
		if err != nil {
			continue // a file rotated under us; look again next tick
		}
		d.IDs = c.Report()
		if d.IDs.Missing == 0 {
			d.Passed = true
			d.After = time.Since(start).Seconds()
		}
	}
	return complete
}

// rescan counts the ids of every destination not complete, for the report
// of a run that timed out.
func (v *verifier) rescan() {
	for i := range v.dests {
		if v.dests[i].Passed {
			continue
		}
		if c, err := idcount.ScanDirs(v.events, v.dirs[i]...); err == nil {
			v.dests[i].IDs = c.Report()
		}
	}
}

// verified reports whether every destination had every event.
func verified(dests []Destination) bool {
	ok := true
	for _, d := range dests {
		ok = ok && d.Passed
	}
	return ok
}

// printSummary writes the final report: the end-to-end rate, what each
// destination received, a merger snapshot line, and the verdict.
func printSummary(w io.Writer, s Summary) {
	// End to end: until the last destination had every event (the run may
	// go on a little longer, waiting for the killed node to come back).
	var done float64
	for _, d := range s.Destinations {
		done = max(done, d.After)
	}
	if done == 0 {
		done = s.Duration.Seconds()
	}
	fmt.Fprintf(w, "\n%d events everywhere after %.1fs (%s events/s end to end; run %.1fs)\n", s.Events, done, si(float64(s.Events)/max(done, 1e-3)), s.Duration.Seconds())
	ok := len(s.Destinations) > 0
	for _, d := range s.Destinations {
		mark := "MISSING"
		if d.Passed {
			mark = fmt.Sprintf("ok after %.1fs", d.After)
		}
		fmt.Fprintf(w, "  %-26s %s — %s\n", d.Name, d.IDs, mark)
		ok = ok && d.Passed
	}
	if s.Snapshot != "" {
		fmt.Fprintf(w, "  merger snapshot sample:    %s\n", s.Snapshot)
	}
	if ok {
		fmt.Fprintf(w, "verified: all %d events arrived at every destination\n", s.Events)
	} else {
		fmt.Fprintln(w, "NOT verified: events are missing")
	}
}

// waitSnapshot returns a line of a merger's snapshot file, preferring the
// router.service metric, waiting up to timeout for one to appear.
func waitSnapshot(ctx context.Context, dirs []string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		var any string
		for _, d := range dirs {
			files, _ := filepath.Glob(filepath.Join(d, "*"))
			for _, f := range files {
				if line := firstLine(f, `"router.service"`); line != "" {
					return line
				}
				if any == "" {
					any = firstLine(f, "")
				}
			}
		}
		if time.Now().After(deadline) {
			return any
		}
		select {
		case <-ctx.Done():
			return any
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// firstLine returns the first line of path containing sub.
func firstLine(path, sub string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			return sc.Text()
		}
	}
	return ""
}
