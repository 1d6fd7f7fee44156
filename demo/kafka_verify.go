package demo

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// snapCheck is one view of the mergers' snapshots (their files, or the
// compacted topic), judged by the latest snapshot of each key and window.
type snapCheck struct {
	Name       string
	Records    int    // snapshots read
	KeyWindows int    // distinct keys and windows
	NotFinal   int    // key windows whose latest snapshot is not final
	Counted    uint64 // countMetric's counts, summed over its latest snapshots
	Differ     int    // key windows missing from, or counted otherwise in, the reference view
	Passed     bool
	After      float64 // seconds from the start, once passed
}

// checkSnaps judges set: every key window's latest snapshot final,
// countMetric counting exactly events, and, with ref, the same key
// windows with the same counts as there.
func checkSnaps(c *snapCheck, set, ref *snapSet, events int, start time.Time) {
	if c.Passed {
		return
	}
	c.Records, c.KeyWindows, c.NotFinal, c.Counted, c.Differ = set.records, len(set.latest), 0, 0, 0
	for k, s := range set.latest {
		if !s.Final {
			c.NotFinal++
		}
		if s.Name == countMetric {
			c.Counted += s.Count
		}
		if ref != nil {
			if r, ok := ref.latest[k]; !ok || r.Count != s.Count {
				c.Differ++
			}
		}
	}
	if ref != nil {
		for k := range ref.latest {
			if _, ok := set.latest[k]; !ok {
				c.Differ++
			}
		}
	}
	if c.KeyWindows > 0 && c.NotFinal == 0 && c.Counted == uint64(events) && c.Differ == 0 {
		c.Passed, c.After = true, time.Since(start).Seconds()
	}
}

// readSnapshotDirs reads every snapshot line of the file outputs' dirs; a
// last line not yet ended (being written) is left for the next read.
func readSnapshotDirs(dirs []string) (*snapSet, error) {
	set := newSnapSet()
	for _, d := range dirs {
		files, err := filepath.Glob(filepath.Join(d, "*.log"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for len(b) > 0 {
				line, rest, ok := bytes.Cut(b, []byte{'\n'})
				if !ok {
					break
				}
				b = rest
				if len(line) == 0 {
					continue
				}
				if err := set.add(line); err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
			}
		}
	}
	return set, nil
}

// finalSample returns a final router.service snapshot line from the
// files, else any final one.
func finalSample(dirs []string) string {
	var any string
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.log"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range bytes.Split(b, []byte{'\n'}) {
				if !bytes.Contains(line, []byte(`"final":true`)) {
					continue
				}
				if bytes.Contains(line, []byte(`"router.service"`)) {
					return string(line)
				}
				if any == "" {
					any = string(line)
				}
			}
		}
	}
	return any
}

// printKafkaSummary writes the Kafka demo's report: what each destination
// received, what each view of the snapshots shows, and the verdict.
func printKafkaSummary(w io.Writer, s Summary, r *kafkaResult) {
	done := 0.0
	for _, d := range s.Destinations {
		done = max(done, d.After)
	}
	for _, c := range r.checks {
		done = max(done, c.After)
	}
	if done == 0 {
		done = s.Duration.Seconds()
	}
	fmt.Fprintf(w, "\n%d events in Kafka, archived and counted after %.1fs (run %.1fs)\n", s.Events, done, s.Duration.Seconds())
	for _, d := range s.Destinations {
		mark := "MISSING"
		if d.Passed {
			mark = fmt.Sprintf("ok after %.1fs", d.After)
		}
		fmt.Fprintf(w, "  %-28s %s — %s\n", d.Name, d.IDs, mark)
	}
	for i, c := range r.checks {
		mark := "INCOMPLETE"
		if c.Passed {
			mark = fmt.Sprintf("ok after %.1fs", c.After)
		}
		agree := ""
		if i > 0 {
			agree = fmt.Sprintf(", %d differing from the files", c.Differ)
		}
		fmt.Fprintf(w, "  %-28s %d records, %d key windows, %d not final%s; %s counted %d of %d events — %s\n",
			c.Name, c.Records, c.KeyWindows, c.NotFinal, agree, countMetric, c.Counted, s.Events, mark)
	}
	if s.Snapshot != "" {
		fmt.Fprintf(w, "  merger snapshot sample:      %s\n", s.Snapshot)
	}
	if r.passed() {
		fmt.Fprintf(w, "verified: all %d events in the topic and the archive; every window final, counted exactly, the same in the files and on the compacted topic\n", s.Events)
	} else {
		fmt.Fprintln(w, "NOT verified: events or counts are missing")
	}
}
