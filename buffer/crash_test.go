package buffer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// Environment of the crash helper process.
const (
	crashDirEnv  = "PULSE_BUFFER_CRASH_DIR"
	crashRunEnv  = "PULSE_BUFFER_CRASH_RUN"
	crashSyncEnv = "PULSE_BUFFER_CRASH_SYNC_EVERY"
)

func crashOptions(dir string, syncEvery int64) Options {
	return Options{
		Dir:          filepath.Join(dir, "queue"),
		Name:         "out",
		MaxBytes:     2 << 20,
		SegmentBytes: 64 << 10,
		SyncEvery:    syncEvery,
	}
}

// TestMain runs the test binary as TestCrashKill9's process to kill when
// crashDirEnv names its directory — a helper, not a test that would skip in
// every normal run.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		if err := crashHelper(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashHelper is TestCrashKill9's process to kill. It puts batches
// "r<run>-<i>" as fast as it can, logging each id to put-<run>.log once Put
// returned, and reads them back, logging each id to got-<run>.log before
// acknowledging it (as an output would once it has delivered the batch),
// several in flight at a time and acked out of order.
func crashHelper(dir string) error {
	run := os.Getenv(crashRunEnv)
	syncEvery, _ := strconv.ParseInt(os.Getenv(crashSyncEnv), 10, 64)
	opts := crashOptions(dir, syncEvery)
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := Open(opts)
	if err != nil {
		return err
	}
	// Bounded even if the parent never kills us.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	putLog, err := appendFile(filepath.Join(dir, "put-"+run+".log"))
	if err != nil {
		return err
	}
	gotLog, err := appendFile(filepath.Join(dir, "got-"+run+".log"))
	if err != nil {
		return err
	}

	go func() {
		var held []Message
		for {
			m, err := q.Next(ctx)
			if err != nil {
				return
			}
			if _, err := gotLog.WriteString(idOf(m.Payload) + "\n"); err != nil {
				panic(err)
			}
			held = append(held, m)
			if len(held) < 8 {
				continue
			}
			for _, k := range []int{3, 0, 7, 5, 1, 6, 2, 4} {
				if err := q.Ack(held[k].ID); err != nil {
					return
				}
			}
			held = held[:0]
		}
	}()
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("r%s-%d", run, i)
		if err := q.Put(ctx, payload(id, 100+i%700), 1); err != nil {
			return nil // the deadline: the parent forgot to kill us
		}
		if _, err := putLog.WriteString(id + "\n"); err != nil {
			return err
		}
	}
	return nil
}

func appendFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

// readIDs reads an id log, ignoring a last line cut short.
func readIDs(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	return lines[:len(lines)-1]
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return n
}

// TestCrashKill9 kills a process busy putting, reading and acknowledging
// with SIGKILL at random moments, restarts it, and finally checks that every
// batch whose Put returned was delivered: zero loss, duplicates counted.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	const runs = 6
	for run := range runs {
		syncEvery := int64(1 << 40) // metadata synced only on rotation or after 2s
		if run%2 == 1 {
			syncEvery = 37
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(),
			crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run), fmt.Sprintf("%s=%d", crashSyncEnv, syncEvery))
		cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random amount of progress.
		puts := 200 + rng.IntN(3000)
		putLog := filepath.Join(dir, fmt.Sprintf("put-%d.log", run))
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		testenv.WaitFor(t, 60*time.Second, fmt.Sprintf("run %d to put %d batches", run, puts), func() bool {
			select {
			case err := <-exited:
				t.Fatalf("helper exited early: %v", err)
			default:
			}
			return countLines(putLog) >= puts
		})
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-exited
		t.Logf("run %d killed after %d puts, %d read", run, countLines(putLog), countLines(filepath.Join(dir, fmt.Sprintf("got-%d.log", run))))
	}

	opts := crashOptions(dir, 0)
	opts.Logger = testLogger(t)
	q := openQueue(t, opts)
	delivered := make(map[string]int)
	deliveries := 0
	for run := range runs {
		for _, id := range readIDs(t, filepath.Join(dir, fmt.Sprintf("got-%d.log", run))) {
			delivered[id]++
			deliveries++
		}
	}
	for _, id := range drain(t, q) {
		delivered[id]++
		deliveries++
	}
	put := 0
	for run := range runs {
		for _, id := range readIDs(t, filepath.Join(dir, fmt.Sprintf("put-%d.log", run))) {
			put++
			if delivered[id] == 0 {
				t.Errorf("%s was put and never delivered", id)
			}
		}
	}
	s := q.Stats()
	t.Logf("%d put, %d delivered (%d distinct: the helper may die between Put and its log), %d duplicates; final open: %+v",
		put, deliveries, len(delivered), deliveries-len(delivered), s)
	if s.Batches != 0 || s.InFlight != 0 || s.Bytes != 0 || s.CorruptBatches != 0 || s.BadSegments != 0 {
		t.Fatalf("final stats: %+v", s)
	}
	if bad := filesWithSuffix(t, opts.Dir, ".bad"); len(bad) != 0 {
		t.Fatalf(".bad files left: %v", bad)
	}
}
