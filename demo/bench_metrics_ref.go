package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metricsRules are the agent's rules in `pulse bench -metrics` — the four
// of the accuracy tests over Heroku router lines — beside l2met's
// conventions. metricsReference mirrors them.
const metricsRules = `
    - {name: router.service, match: {at: info}, value: service, kind: measure, group_by: [status]}
    - {name: router.connect, match: {at: "*"}, value: connect, kind: measure, group_by: [dyno]}
    - {name: router.errors, match: {at: error}, kind: counter, group_by: [code]}
    - {name: router.clients, match: {at: "*"}, value: fwd, kind: unique}`

// metricsReference counts, with plain Go and independently of the
// pipeline, the measurements the agent must derive from the raw lines:
// per metric name, dimensions and window, how many. The merge is exact
// when the snapshots hold the same counts.
type metricsReference struct {
	window time.Duration
	counts map[string]uint64 // refKey -> measurements
	total  uint64
	lines  int
}

// refKey names a metric's dimensions and window: name, sorted "k=v" and
// the window start in Unix nanoseconds.
func refKey(name string, dims []string, win int64) string {
	slices.Sort(dims)
	return name + "|" + strings.Join(dims, ",") + "|" + strconv.FormatInt(win, 10)
}

// buildReference reads the log file gen wrote.
func buildReference(path string, window time.Duration) (*metricsReference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("demo: reference: %w", err)
	}
	defer f.Close()
	r := &metricsReference{window: window, counts: map[string]uint64{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := r.line(sc.Text()); err != nil {
			return nil, fmt.Errorf("demo: reference: line %d: %w", r.lines+1, err)
		}
		r.lines++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo: reference: %w", err)
	}
	return r, nil
}

func (r *metricsReference) add(name string, dims []string, win int64) {
	r.counts[refKey(name, dims, win)]++
	r.total++
}

// line counts what one line yields, as the rules and l2met say: the
// leading RFC 3339 time picks the window; a value that does not parse as
// a number with a unit yields nothing (a unique takes any value).
func (r *metricsReference) line(line string) error {
	ts, msg, ok := strings.Cut(line, " ")
	if !ok {
		return fmt.Errorf("no timestamp in %q", line)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return err
	}
	win := t.Truncate(r.window).UnixNano()
	pairs := splitLogfmt(msg)
	field := func(k string) (string, bool) { // the last one, as logfmt lookups take
		v, ok := "", false
		for _, p := range pairs {
			if p.key == k {
				v, ok = p.val, true
			}
		}
		return v, ok
	}
	var dims []string
	if src, ok := field("source"); ok {
		dims = []string{"source=" + src}
	}
	for _, p := range pairs {
		kind, name, ok := strings.Cut(p.key, "#")
		if !ok || name == "" {
			continue
		}
		switch kind {
		case "count":
			if p.val == "" || isQuantity(p.val) {
				r.add(name, slices.Clone(dims), win)
			}
		case "measure", "sample":
			if isQuantity(p.val) {
				r.add(name, slices.Clone(dims), win)
			}
		case "unique":
			r.add(name, slices.Clone(dims), win)
		}
	}
	at, isRouter := field("at")
	if !isRouter {
		return nil
	}
	if v, ok := field("service"); ok && at == "info" && isQuantity(v) {
		status, _ := field("status")
		r.add("router.service", []string{"status=" + status}, win)
	}
	if v, ok := field("connect"); ok && isQuantity(v) {
		dyno, _ := field("dyno")
		r.add("router.connect", []string{"dyno=" + dyno}, win)
	}
	if at == "error" {
		code, _ := field("code")
		r.add("router.errors", []string{"code=" + code}, win)
	}
	if _, ok := field("fwd"); ok {
		r.add("router.clients", nil, win)
	}
	return nil
}

type kv struct{ key, val string }

// splitLogfmt splits `k=v k2="quoted value" bare` into pairs; a quoted
// value comes without its quotes. Enough for the lines gen writes.
func splitLogfmt(s string) []kv {
	var out []kv
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ' ' {
			j++
		}
		p := kv{key: s[i:j]}
		if j < len(s) && s[j] == '=' {
			j++
			if j < len(s) && s[j] == '"' {
				end := strings.IndexByte(s[j+1:], '"')
				if end < 0 {
					end = len(s) - j - 1
				}
				p.val = s[j+1 : j+1+end]
				j += end + 2
			} else {
				k := j
				for j < len(s) && s[j] != ' ' {
					j++
				}
				p.val = s[k:j]
			}
		}
		out = append(out, p)
		i = j
	}
	return out
}

// isQuantity reports whether s is a number followed by a unit of letters
// ("37ms", "12.5").
func isQuantity(s string) bool {
	n := 0
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.' || s[n] == '-' && n == 0) {
		n++
	}
	for _, c := range s[n:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	_, err := strconv.ParseFloat(s[:n], 64)
	return err == nil
}

// MetricsAccuracy compares the snapshots with the reference: for every
// metric key and window, the latest snapshot's count (summed over the
// shards holding one) must equal the reference's.
type MetricsAccuracy struct {
	KeyWindows     int      `json:"key_windows"` // in the reference
	Exact          int      `json:"exact"`
	Missing        int      `json:"missing"` // in the reference, in no snapshot
	Extra          int      `json:"extra"`   // in a snapshot, not in the reference
	Wrong          int      `json:"wrong"`   // counts differ
	Split          int      `json:"split"`   // held by more than one shard
	Reference      uint64   `json:"reference_count"`
	Snapshots      uint64   `json:"snapshot_count"`
	SnapshotLines  int64    `json:"snapshot_lines"`
	FirstProblems  []string `json:"first_problems,omitempty"`
	SnapshotsBytes int64    `json:"snapshot_bytes"`
}

// OK reports whether every count is exact.
func (a MetricsAccuracy) OK() bool {
	return a.Missing == 0 && a.Extra == 0 && a.Wrong == 0 && a.Reference == a.Snapshots
}

func (a MetricsAccuracy) String() string {
	s := fmt.Sprintf("%d of %d key windows exact, %d missing, %d extra, %d wrong; counts %d of %d",
		a.Exact, a.KeyWindows, a.Missing, a.Extra, a.Wrong, a.Snapshots, a.Reference)
	if a.Split > 0 {
		s += fmt.Sprintf(", %d split over shards", a.Split)
	}
	return s
}

// snapshotCount is what the check reads of a snapshot line.
type snapshotCount struct {
	Name        string            `json:"name"`
	Dims        map[string]string `json:"dims"`
	WindowStart time.Time         `json:"window_start"`
	Count       uint64            `json:"count"`
	Seq         uint64            `json:"seq"`
}

// check reads every shard's snapshot files (dirs, one a shard), keeps per
// key and window each shard's latest snapshot (by seq) and compares.
func (r *metricsReference) check(dirs []string) (MetricsAccuracy, error) {
	acc := MetricsAccuracy{KeyWindows: len(r.counts), Reference: r.total}
	type held struct {
		count  uint64
		shards int
	}
	got := map[string]*held{}
	for _, dir := range dirs {
		latest := map[string][2]uint64{} // seq, count
		files, err := filepath.Glob(filepath.Join(dir, "*.log"))
		if err != nil {
			return acc, fmt.Errorf("demo: snapshots: %w", err)
		}
		for _, path := range files {
			if err := readSnapshotCounts(path, latest, &acc); err != nil {
				return acc, err
			}
		}
		for k, sc := range latest {
			h := got[k]
			if h == nil {
				h = &held{}
				got[k] = h
			}
			h.count += sc[1]
			h.shards++
		}
	}
	problem := func(format string, args ...any) {
		if len(acc.FirstProblems) < 5 {
			acc.FirstProblems = append(acc.FirstProblems, fmt.Sprintf(format, args...))
		}
	}
	for k, want := range r.counts {
		h := got[k]
		switch {
		case h == nil:
			acc.Missing++
			problem("%s: no snapshot, want count %d", k, want)
		case h.count != want:
			acc.Wrong++
			problem("%s: count %d, want %d", k, h.count, want)
		default:
			acc.Exact++
		}
		if h != nil && h.shards > 1 {
			acc.Split++
		}
	}
	for k, h := range got {
		acc.Snapshots += h.count
		if _, ok := r.counts[k]; !ok {
			acc.Extra++
			problem("%s: count %d in the snapshots, none in the reference", k, h.count)
		}
	}
	return acc, nil
}

// readSnapshotCounts adds one snapshot file's lines to latest.
func readSnapshotCounts(path string, latest map[string][2]uint64, acc *MetricsAccuracy) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("demo: snapshots: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var dims []string
	for sc.Scan() {
		b := sc.Bytes()
		acc.SnapshotsBytes += int64(len(b)) + 1
		var s snapshotCount
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("demo: snapshots: %s: %w", path, err)
		}
		acc.SnapshotLines++
		dims = dims[:0]
		for k, v := range s.Dims {
			dims = append(dims, k+"="+v)
		}
		k := refKey(s.Name, dims, s.WindowStart.UnixNano())
		if prev, ok := latest[k]; !ok || s.Seq >= prev[0] {
			latest[k] = [2]uint64{s.Seq, s.Count}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("demo: snapshots: %s: %w", path, err)
	}
	return nil
}
