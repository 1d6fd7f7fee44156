package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// The Kafka merger run: three agents tail files that `pulse gen` writes
// live, roll them up in 2 s windows (accWindow: the reference's) and
// produce their fragments to a Kafka topic keyed by metric key; `pulse
// merger`s in one consumer group take the partitions Kafka assigns them.
const (
	kmAgents     = 3
	kmLines      = 45_000 // per agent
	kmRate       = 1_500  // lines per second per generator: a 30 s run
	kmPartitions = 6
	kmFinalize   = 10 * time.Second // windows final from ~12 s into the run: before the kill
	kmGroup      = "mergers"
)

// kmMerger is one merger of the group.
type kmMerger struct {
	*testenv.Node
	admin string
}

// kmSnapshot is a snapshot line with its seq: of two of one key and
// window, the later view has the larger.
type kmSnapshot struct {
	snapshotLine
	Seq  uint64 `json:"seq"`
	from string // the merger whose files hold it
}

// TestKafkaMergerGroup is issue 13's merger test on a real broker: three
// agents produce fragments to a 6-partition topic, three mergers consume
// it as one group; mid-run the merger holding the most is kill -9'd
// (its partitions move after the session timeout, whole, and are replayed
// from their commits; it is restarted and rejoins) and a fourth joins
// (the group balances again: revoked partitions are committed by the rule
// and dropped). Once the agents have stopped with SIGTERM (flushing every
// window) and every window is final, the snapshots are compared with a
// reference computed from the raw lines: for every key and window the
// latest snapshot (by seq, over every merger's files) is final, count,
// sum, min and max exact, quantiles within the sketch bound, unique
// estimates within HyperLogLog's; every final snapshot of it, from
// whichever merger, equals that one (no window split: a split shows as
// partial finals); and a window finalized by two mergers involves the one
// killed (it finalized, and died before its commit reached the broker).
// The mergers also produce their snapshots to a compacted topic keyed by
// metric key and window: the latest record of each key there is the
// final snapshot, equal to the reference.
func TestKafkaMergerGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end Kafka test; run without -short")
	}
	began := time.Now()
	k := testenv.StartKafka(t, 1)
	k.CreateTopic(t, "fragments", kmPartitions, 1, nil)
	k.CreateTopic(t, "snapshots", 3, 1, map[string]string{
		"cleanup.policy": "compact",
		// Roll and clean often, so that compaction can be seen in a test.
		"segment.ms": "2000", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "1000",
	})
	brokers := strconv.Quote(k.Brokers()[0])
	root := t.TempDir()
	bin := testenv.Binary(t)

	startMerger := func(i int) *kmMerger {
		m := &kmMerger{admin: testenv.FreeAddr(t)}
		m.Node = testenv.StartMerger(t, root, fmt.Sprintf("merger%d", i), fmt.Sprintf(`data_dir: %%[1]s
admin: {listen: %q}
inputs:
  - {name: bus, type: kafka, brokers: [%s], topics: [fragments], group: %s, session_timeout: 6s}
merge: {interval: 500ms, finalize_after: %s}
outputs:
  - {name: files, type: file, path: %%[1]s/snapshots}
  - {name: compacted, type: kafka, brokers: [%s], topic: snapshots}
`, m.admin, brokers, kmGroup, kmFinalize, brokers))
		testenv.WaitListening(t, m.Process, m.admin)
		return m
	}
	assigned := func(m *kmMerger) int { return strings.Count(m.Log(), `msg="merger partition assigned"`) }
	mergers := []*kmMerger{startMerger(1), startMerger(2), startMerger(3)}
	testenv.WaitFor(t, 2*time.Minute, "every merger assigned partitions", func() bool {
		for _, m := range mergers {
			if assigned(m) == 0 {
				return false
			}
		}
		return true
	})

	agents := startMetricsAgents(t, root, kmAgents, fmt.Sprintf(`  - name: bus
    stream: fragments
    type: kafka
    brokers: [%s]
    topic: fragments
    encoding: pulse
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, brokers))
	gens := startGens(t, root, bin, agents, kmLines, kmRate, 2000)
	past := func(frac float64) bool { return eventsRead(agents[0]) >= int64(frac*kmLines) }
	const phase = 2 * time.Minute

	// kill -9 the merger that has taken the most, once all three merge
	// and it has finalized windows (so its commits carry a horizon, and
	// the windows it finalized last may not be committed yet).
	var victim *kmMerger
	testenv.WaitFor(t, phase, "40% of the lines read, every merger merging, one with final snapshots", func() bool {
		if !past(0.40) {
			return false
		}
		victim = nil
		best := int64(0)
		for _, m := range mergers {
			st, err := getStatus(m.admin)
			if err != nil || st.Merger == nil || st.Merger.FragmentsIn == 0 {
				return false
			}
			if st.Merger.FragmentsIn > best && hasFinals(m) {
				victim, best = m, st.Merger.FragmentsIn
			}
		}
		return victim != nil
	})
	before := 0
	for _, m := range mergers {
		if m != victim {
			before += assigned(m)
		}
	}
	killedAt, killedLines := time.Now().UTC(), eventsRead(agents[0])
	victim.Kill()
	testenv.WaitFor(t, phase, "the dead merger's partitions assigned to the others", func() bool {
		n := 0
		for _, m := range mergers {
			if m != victim {
				n += assigned(m)
			}
		}
		return n > before
	})
	movedAt := time.Now().UTC()
	victim.Restart()
	testenv.WaitListening(t, victim.Process, victim.admin)

	testenv.WaitFor(t, phase, "75% of the lines read", func() bool { return past(0.75) })
	added := startMerger(len(mergers) + 1)
	mergers = append(mergers, added)
	testenv.WaitFor(t, phase, "the new merger assigned partitions", func() bool { return assigned(added) > 0 })
	addedAt := time.Now().UTC()

	for i, g := range gens {
		if err := g.Wait(phase); err != nil {
			t.Fatalf("gen%d: %v\n%s", i+1, err, g.Tail(10))
		}
	}
	for _, a := range agents {
		testenv.WaitFor(t, phase, a.id+" read its whole file", func() bool { return eventsRead(a) == kmLines })
	}
	for _, a := range agents {
		if err := a.Stop(30 * time.Second); err != nil {
			t.Fatalf("%s: %v\n%s", a.id, err, a.Tail(20))
		}
		if !strings.Contains(a.Log(), "outputs drained") {
			t.Errorf("%s stopped without draining its outputs:\n%s", a.id, a.Tail(10))
		}
	}

	ref := newReference()
	for i, a := range agents {
		if err := ref.addFile(i, a.file); err != nil {
			t.Fatal(err)
		}
	}
	if ref.lines != kmAgents*kmLines {
		t.Fatalf("reference read %d lines, want %d", ref.lines, kmAgents*kmLines)
	}

	// Every window final: the latest snapshot of every key and window,
	// over all the mergers' files, final and complete.
	var snaps map[string][]kmSnapshot
	var latest map[string]kmSnapshot
	var readErr error
	if !testenv.Eventually(kmFinalize+2*time.Minute, func() bool {
		snaps, readErr = readMergerSnapshots(mergers)
		if readErr != nil {
			return false
		}
		latest = latestOf(snaps)
		for key, a := range ref.keys {
			s, ok := latest[key]
			if !ok || !s.Final || s.Count < a.count {
				return false
			}
		}
		return true
	}) {
		for _, m := range mergers {
			t.Logf("%s:\n%s", m.Name, m.Tail(15))
		}
		t.Fatalf("final snapshots incomplete (read error: %v)", readErr)
	}

	res := ref.compare(t, oneEach(latest))
	finalBy := map[string][]string{} // key -> mergers with a final of it
	twice, bad := 0, 0
	for key, ss := range snaps {
		want := latest[key]
		for _, s := range ss {
			if !s.Final {
				continue
			}
			if s.Count != want.Count || math.Abs(s.Sum-want.Sum) > 1e-9*math.Max(math.Abs(want.Sum), 1) || s.Min != want.Min || s.Max != want.Max {
				if bad++; bad <= 10 {
					t.Errorf("%s: a final snapshot with count %d sum %v min %v max %v, the latest %d %v %v %v: a split window",
						key, s.Count, s.Sum, s.Min, s.Max, want.Count, want.Sum, want.Min, want.Max)
				}
			}
		}
		finalBy[key] = finalsFrom(ss)
		if len(finalBy[key]) > 1 {
			twice++
			if !slices.Contains(finalBy[key], victim.Name) {
				t.Errorf("%s finalized by %v: two live mergers finalized one window (a revoke must hand it over whole)", key, finalBy[key])
			}
		}
	}
	var merged, dups, late int64
	for _, m := range mergers {
		st, err := getStatus(m.admin)
		if err != nil || st.Merger == nil {
			t.Fatalf("%s status: %v", m.Name, err)
		}
		merged += st.Merger.FragmentsIn
		dups += st.Merger.Duplicates
		late += st.Merger.TooLate
	}

	// The compacted topic: the latest record of each key is the final.
	checkCompacted(t, k, ref)

	t.Logf("%d lines (%d per agent), %d key windows (%d measure), %d final snapshots seen; %d key windows finalized by two mergers (the killed one among them)",
		ref.lines, kmLines, len(ref.keys), res.measures, countFinals(snaps), twice)
	t.Logf("largest relative quantile error (bound %.2f%%): p50 %.4f%%, p95 %.4f%%, p99 %.4f%%; largest unique error %.3f%%; largest sum error %.2g",
		100*accQuantileBound, 100*res.qerr[0], 100*res.qerr[1], 100*res.qerr[2], 100*res.uerr, res.sumErr)
	t.Logf("%s killed at %s (%d of %d lines read), its partitions moved by %s, merger%d added at %s; mergers since their last start: %d records, %d duplicates, %d too late; run %v",
		victim.Name, killedAt.Format(accClock), killedLines, kmLines, movedAt.Format(accClock), len(mergers), addedAt.Format(accClock),
		merged, dups, late, time.Since(began).Round(time.Second))
	for _, m := range mergers {
		finals, others := 0, 0
		for _, ss := range snaps {
			for _, s := range ss {
				switch {
				case s.from != m.Name:
				case s.Final:
					finals++
				default:
					others++
				}
			}
		}
		t.Logf("%s: %d final snapshots, %d not final; partitions: %d assigned, %d replayed, %d revocations", m.Name, finals, others,
			assigned(m), strings.Count(m.Log(), `msg="merger partition replayed"`), strings.Count(m.Log(), `msg="merger partitions revoked`))
		if t.Failed() {
			for _, l := range strings.Split(m.Log(), "\n") {
				if strings.Contains(l, `msg="merger partition`) {
					t.Logf("%s: %s", m.Name, l)
				}
			}
		}
	}
	for _, m := range mergers {
		if err := m.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", m.Name, err, m.Tail(10))
		}
		for _, l := range strings.Split(m.Log(), "\n") {
			if strings.Contains(l, "level=ERROR") {
				t.Errorf("%s: %s", m.Name, l)
			}
		}
	}
}

// hasFinals reports whether m's files hold a final snapshot.
func hasFinals(m *kmMerger) bool {
	files, _ := filepath.Glob(filepath.Join(m.Dir, "snapshots", "*.log"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), `"final":true`) {
			return true
		}
	}
	return false
}

// readMergerSnapshots returns every snapshot in the mergers' files by key
// and window, each with the merger it comes from.
func readMergerSnapshots(ms []*kmMerger) (map[string][]kmSnapshot, error) {
	out := map[string][]kmSnapshot{}
	for _, m := range ms {
		files, err := filepath.Glob(filepath.Join(m.Dir, "snapshots", "*.log"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for _, l := range strings.SplitAfter(string(b), "\n") {
				if !strings.HasSuffix(l, "\n") {
					continue // being written, or cut by the kill
				}
				var s kmSnapshot
				if err := json.Unmarshal([]byte(l), &s); err != nil {
					return nil, fmt.Errorf("%s: %w: %q", f, err, l)
				}
				s.from = m.Name
				out[s.key()] = append(out[s.key()], s)
			}
		}
	}
	return out, nil
}

// latestOf picks the snapshot with the largest seq of each key and window.
func latestOf(snaps map[string][]kmSnapshot) map[string]kmSnapshot {
	out := make(map[string]kmSnapshot, len(snaps))
	for key, ss := range snaps {
		best := ss[0]
		for _, s := range ss[1:] {
			if s.Seq > best.Seq || s.Seq == best.Seq && s.Final && !best.Final {
				best = s
			}
		}
		out[key] = best
	}
	return out
}

// oneEach is latest in the form compare takes: one snapshot per key.
func oneEach(latest map[string]kmSnapshot) map[string][]snapshotLine {
	out := make(map[string][]snapshotLine, len(latest))
	for key, s := range latest {
		out[key] = []snapshotLine{s.snapshotLine}
	}
	return out
}

// finalsFrom names the mergers with a final snapshot among ss, sorted.
func finalsFrom(ss []kmSnapshot) []string {
	var names []string
	for _, s := range ss {
		if s.Final && !slices.Contains(names, s.from) {
			names = append(names, s.from)
		}
	}
	slices.Sort(names)
	return names
}

func countFinals(snaps map[string][]kmSnapshot) int {
	n := 0
	for _, ss := range snaps {
		for _, s := range ss {
			if s.Final {
				n++
			}
		}
	}
	return n
}

// checkCompacted reads the compacted snapshots topic: every record's key
// names one key and window (the same key for all its versions, a key for
// each), and the latest record of each key is its final snapshot, equal
// to the reference. It then waits a while for the log cleaner and checks
// the same of what compaction left.
func checkCompacted(t *testing.T, k *testenv.Kafka, ref *reference) {
	t.Helper()
	latest := func() (map[string]kmSnapshot, int) {
		recs := k.Records(t, "snapshots")
		byRecKey := map[string]kmSnapshot{}
		recKeyOf := map[string]string{} // key and window -> record key
		for _, r := range recs {
			var s kmSnapshot
			if err := json.Unmarshal(r.Value, &s); err != nil {
				t.Fatalf("snapshots topic, partition %d offset %d: %v: %q", r.Partition, r.Offset, err, r.Value)
			}
			if prev, ok := recKeyOf[s.key()]; ok && prev != string(r.Key) {
				t.Fatalf("%s under two record keys: %q and %q", s.key(), prev, r.Key)
			}
			recKeyOf[s.key()] = string(r.Key)
			byRecKey[string(r.Key)] = s // ordered by offset within a partition, and a key has one
		}
		out := make(map[string]kmSnapshot, len(byRecKey))
		for _, s := range byRecKey {
			out[s.key()] = s
		}
		if len(out) != len(byRecKey) {
			t.Fatalf("%d record keys for %d key windows", len(byRecKey), len(out))
		}
		return out, len(recs)
	}
	check := func(what string, got map[string]kmSnapshot) {
		nonFinal := 0
		for _, s := range got {
			if !s.Final {
				nonFinal++
			}
		}
		if nonFinal > 0 {
			t.Errorf("%s: %d key windows whose latest record is not final", what, nonFinal)
		}
		ref.compare(t, oneEach(got))
	}
	got, n := latest()
	check("snapshots topic", got)
	compacted := n
	testenv.Eventually(60*time.Second, func() bool {
		_, compacted = latest()
		return compacted < n
	})
	after, _ := latest()
	check("snapshots topic after compaction", after)
	t.Logf("compacted topic: %d records for %d key windows; %d once the log cleaner had run (cleanup.policy=compact, segment.ms=2000)", n, len(got), compacted)
}
