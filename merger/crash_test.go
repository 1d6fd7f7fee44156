package merger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/event"
	"pulse/metrics"
	"pulse/protocol"
	"pulse/testenv"
)

// crashHelperEnv names the directory a re-executed test binary works in
// as TestCrash's helper process.
const crashHelperEnv = "PULSE_MERGER_CRASH_HELPER"

// The helper's directory:
//
//	inbox/NNNNN.batch   batches to emit, protocol bodies, in name order
//	acked/NNNNN.batch   written once Emit of that batch returned nil
//	state/              the Merger's Dir
//	snapshots.ndjson    every snapshot emitted, one per line
//	up                  created once the Merger is open
const (
	helperUp        = "up"
	helperInbox     = "inbox"
	helperAcked     = "acked"
	helperState     = "state"
	helperSnapshots = "snapshots.ndjson"
)

// TestCrash kills a merger fed with fragment batches with SIGKILL at random
// points, several times, and restarts it. Batches whose Emit returned nil
// are never sent again; those cut off before it are. At the end the
// snapshots equal the reference: nothing acknowledged is lost, nothing is
// counted twice — and no snapshot on the way ever showed more than the
// reference.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 4, 6, 6000, 8)
	batches := w.batches(rng, 10, 60)
	root := t.TempDir()
	for _, d := range []string{helperInbox, helperAcked} {
		if err := os.Mkdir(filepath.Join(root, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range batches {
		var pw protocol.Writer
		pw.Reset(nil)
		for _, rec := range b {
			pw.Append(rec)
		}
		if err := os.WriteFile(filepath.Join(root, helperInbox, fmt.Sprintf("%05d.batch", i)), pw.Bytes(), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	acked := func() int {
		es, err := os.ReadDir(filepath.Join(root, helperAcked))
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	snapBytes := func() int64 {
		fi, err := os.Stat(filepath.Join(root, helperSnapshots))
		if err != nil {
			return 0
		}
		return fi.Size()
	}

	// Kill points: while batches are being emitted (at increasing counts
	// of acknowledged batches), right after a start (replay and recovery),
	// and after the last batch was acknowledged (merging the backlog,
	// checkpointing, emitting snapshots).
	targets := rng.Perm(len(batches) - 1)[:4]
	slices.Sort(targets)
	// A kill point is a condition on the helper's progress: the batches
	// it acknowledged, the time since it opened its Merger (zero until it
	// has), and the snapshot bytes at the start of its round.
	type killAt func(up time.Time, snapAtStart int64) bool
	after := func(d time.Duration) killAt {
		return func(up time.Time, _ int64) bool { return !up.IsZero() && time.Since(up) >= d }
	}
	var kills []killAt
	for i, target := range targets {
		kills = append(kills, func(time.Time, int64) bool { return acked() > target })
		if i%2 == 1 {
			kills = append(kills, after(time.Duration(rng.IntN(20))*time.Millisecond))
		}
	}
	for range 2 {
		kills = append(kills,
			// Snapshots emitted again, or none to emit: a state restored
			// from a checkpoint taken after its last emission has nothing
			// new to say.
			func(up time.Time, before int64) bool {
				return acked() == len(batches) && (snapBytes() > before || !up.IsZero() && time.Since(up) >= 300*time.Millisecond)
			},
			after(time.Duration(rng.IntN(40))*time.Millisecond))
	}

	for round, kill := range kills {
		h := startHelper(t, root)
		before := snapBytes()
		testenv.WaitFor(t, 60*time.Second, fmt.Sprintf("kill point of round %d", round), func() bool {
			h.checkAlive(t)
			return kill(h.upSince(), before)
		})
		h.kill(t)
		t.Logf("round %d: killed with %d of %d batches acknowledged, %d bytes of snapshots", round, acked(), len(batches), snapBytes())
	}

	// The last run goes on until the snapshots are complete.
	// A lost batch shows as snapshots never complete: after the deadline
	// checkSnapshots says which.
	h := startHelper(t, root)
	var got map[string]metrics.Snapshot
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		h.checkAlive(t)
		if acked() < len(batches) {
			continue
		}
		var err error
		if got, err = readSnapshotLog(filepath.Join(root, helperSnapshots), w.ref); err != nil {
			t.Fatal(err)
		}
		if complete(got, w.ref) {
			break
		}
	}
	h.kill(t)
	if n := acked(); n < len(batches) {
		t.Fatalf("%d of %d batches acknowledged after the last restart", n, len(batches))
	}
	checkSnapshots(t, got, w.ref)

	// The state left behind holds every fragment once.
	sink := newSnapshotSink()
	m := newTestMerger(t, filepath.Join(root, helperState), sink.emit)
	r := runMerger(t, m)
	testenv.WaitFor(t, 20*time.Second, "the buffer drained", func() bool {
		st := m.Stats()
		return st.Buffer.Batches == 0 && st.Buffer.InFlight == 0
	})
	r.stop(t)
	if st := m.Stats(); st.Merged != uint64(len(w.frags)) || st.Keys != len(w.ref) {
		t.Errorf("state after the crashes: %d fragments merged, %d keys; want %d and %d (stats %+v)",
			st.Merged, st.Keys, len(w.frags), len(w.ref), st)
	}
}

// helper is a running helper process.
type helper struct {
	cmd    *exec.Cmd
	up     string // file the helper creates once its Merger is open
	upAt   time.Time
	stderr *testenv.SyncBuffer
	done   chan struct{}
	err    error
}

// upSince returns when the helper was first seen with its Merger open, or
// zero if it is not yet.
func (h *helper) upSince() time.Time {
	if h.upAt.IsZero() {
		if _, err := os.Stat(h.up); err == nil {
			h.upAt = time.Now()
		}
	}
	return h.upAt
}

func startHelper(t *testing.T, root string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+root)
	h := &helper{cmd: cmd, up: filepath.Join(root, helperUp), stderr: &testenv.SyncBuffer{}, done: make(chan struct{})}
	if err := os.Remove(h.up); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = h.stderr, h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		h.err = cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() { h.kill(t) })
	return h
}

// checkAlive fails the test if the helper has exited on its own.
func (h *helper) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case <-h.done:
		t.Fatalf("helper exited: %v\n%s", h.err, h.stderr)
	default:
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (h *helper) kill(t *testing.T) {
	t.Helper()
	_ = h.cmd.Process.Kill()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("helper not gone 10s after SIGKILL")
	}
}

// readSnapshotLog reads every snapshot of the helpers' log and returns the
// latest of each key and window. A snapshot with a count above the
// reference's is an error: something was counted twice.
func readSnapshotLog(path string, ref map[string]*refSeries) (map[string]metrics.Snapshot, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	latest := make(map[string]metrics.Snapshot)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var s metrics.Snapshot
		if err := s.UnmarshalJSON(sc.Bytes()); err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n, sc.Bytes(), err)
		}
		k := seriesKey(s.Name, s.Dims, s.WindowStart)
		if r := ref[k]; r == nil || s.Count > uint64(len(r.values)) {
			return nil, fmt.Errorf("line %d: %s: count %d over the reference: counted twice", n, k, s.Count)
		}
		latest[k] = s
	}
	// A line cut by a kill has no newline: Scan returns it, and it fails
	// to parse above. The helper repairs the file at its start, so only
	// the running helper's last write can be cut, and that one is not
	// cut (it is alive).
	return latest, sc.Err()
}

// TestMain runs the test binary as TestCrash's helper process when
// crashHelperEnv names its directory — a helper, not a test that would skip
// in every normal run.
func TestMain(m *testing.M) {
	if root := os.Getenv(crashHelperEnv); root != "" {
		runCrashHelper(root)
	}
	os.Exit(m.Run())
}

// runCrashHelper is the helper process of TestCrash; it exits.
func runCrashHelper(root string) {
	if err := crashHelper(root); err != nil {
		fmt.Fprintln(os.Stderr, "crash helper:", err)
		os.Exit(2)
	}
	// The parent kills it; this bounds a helper it forgot.
	time.Sleep(time.Minute)
	os.Exit(3)
}

// crashHelper runs a Merger over root's state, writing snapshots to the
// log, and emits every batch of the inbox not yet acknowledged, paced, in
// order. It returns once all are, leaving the Merger running.
func crashHelper(root string) error {
	log, err := openSnapshotLog(filepath.Join(root, helperSnapshots))
	if err != nil {
		return err
	}
	m, err := New(Options{
		Dir:             filepath.Join(root, helperState),
		Interval:        10 * time.Millisecond,
		CheckpointEvery: 5 * time.Millisecond,
		FinalizeAfter:   24 * time.Hour,
		MaxBufferBytes:  1 << 20,
		Emit:            log.emit,
		Logger:          quietLogger(),
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, helperUp), nil, 0o640); err != nil {
		return err
	}
	go func() {
		if err := m.Run(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "crash helper: Run:", err)
			os.Exit(2)
		}
	}()
	names, err := os.ReadDir(filepath.Join(root, helperInbox))
	if err != nil {
		return err
	}
	pace := time.NewTicker(time.Millisecond)
	defer pace.Stop()
	for _, e := range names {
		ackPath := filepath.Join(root, helperAcked, e.Name())
		if _, err := os.Stat(ackPath); err == nil {
			continue
		}
		<-pace.C
		body, err := os.ReadFile(filepath.Join(root, helperInbox, e.Name()))
		if err != nil {
			return err
		}
		var recs [][]byte
		if err := protocol.Each(body, protocol.Limits{}, func(rec []byte) error { recs = append(recs, rec); return nil }); err != nil {
			return err
		}
		committed, err := emitBatch(context.Background(), m, recs)
		if err != nil || !committed {
			return fmt.Errorf("emit %s: committed %v, %w", e.Name(), committed, err)
		}
		if err := os.WriteFile(ackPath, nil, 0o640); err != nil {
			return err
		}
	}
	return nil
}

// snapshotLog appends snapshot batches to a file, one write per batch.
type snapshotLog struct {
	mu  sync.Mutex
	f   *os.File
	buf []byte
}

// openSnapshotLog opens the log for appending, first cutting a last line
// left incomplete by a kill.
func openSnapshotLog(path string) (*snapshotLog, error) {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 != len(b) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &snapshotLog{f: f}, nil
}

func (l *snapshotLog) emit(_ context.Context, b *event.Batch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = l.buf[:0]
	for _, ev := range b.Events {
		if bytes.IndexByte(ev, '\n') >= 0 {
			return fmt.Errorf("snapshot with a newline: %q", strings.ToValidUTF8(string(ev), "?"))
		}
		l.buf = append(append(l.buf, ev...), '\n')
	}
	if _, err := l.f.Write(l.buf); err != nil {
		return err
	}
	if b.Commit != nil {
		b.Commit()
	}
	return nil
}
