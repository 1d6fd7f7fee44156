package durable_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pulse/durable"
)

// The environment of a re-executed test binary that is TestCrashAtEachStep's
// child: it writes crashNew(size) to the path with the policy, through
// WriteFile or streamed through Create, and stops at the step (a number,
// or "partial": half the content streamed, or "done": after the write
// returned), printing "stopped" on stdout, until the parent kills it.
const (
	crashPathEnv   = "PULSE_DURABLE_CRASH_PATH"
	crashPolicyEnv = "PULSE_DURABLE_CRASH_POLICY"
	crashStepEnv   = "PULSE_DURABLE_CRASH_STEP"
	crashStreamEnv = "PULSE_DURABLE_CRASH_STREAM"
)

// TestMain runs the test binary as TestCrashAtEachStep's child when asked.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashPathEnv); path != "" {
		if err := crashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Sizes of the old and the new content: several pages, unequal, so that a
// mix, a cut or a file of the wrong length shows.
const (
	oldSize = 300 << 10
	newSize = 200<<10 + 17
)

func content(tag byte, n int) []byte {
	b := bytes.Repeat([]byte{tag}, n)
	copy(b, fmt.Sprintf("%c-%d-", tag, n))
	return b
}

func crashChild(path string) error {
	pol, err := strconv.Atoi(os.Getenv(crashPolicyEnv))
	if err != nil {
		return err
	}
	stopAt := os.Getenv(crashStepEnv)
	stop := func() {
		fmt.Println("stopped")
		// Bounded: the parent kills it long before.
		time.Sleep(time.Minute)
		os.Exit(3)
	}
	w := durable.Writer{Policy: durable.Policy(pol), Perm: 0o644, Hook: func(s durable.Step, _ string) {
		if strconv.Itoa(int(s)) == stopAt {
			stop()
		}
	}}
	data := content('n', newSize)
	if os.Getenv(crashStreamEnv) == "" {
		if err := w.WriteFile(path, data); err != nil {
			return err
		}
	} else {
		f, err := w.Create(path)
		if err != nil {
			return err
		}
		if _, err := f.Write(data[:len(data)/2]); err != nil {
			return err
		}
		if stopAt == "partial" {
			stop()
		}
		if _, err := f.Write(data[len(data)/2:]); err != nil {
			return err
		}
		if err := f.Commit(); err != nil {
			return err
		}
	}
	if stopAt == "done" {
		stop()
	}
	return fmt.Errorf("step %s never came", stopAt)
}

// TestCrashAtEachStep SIGKILLs a process writing a file at each step of the
// write, under each policy, over an old file and as a first write: the file
// is then the complete old content up to the rename and the complete new
// content from it on — never a mix, a cut, or missing when it existed. A
// tmp file the kill leaves is replaced by the next write, which leaves
// none.
func TestCrashAtEachStep(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	type point struct {
		stop    string // a Step, "partial" or "done"
		stream  bool
		renamed bool // the kill comes after the rename: the new content
	}
	step := func(s durable.Step) string { return strconv.Itoa(int(s)) }
	points := map[durable.Policy][]point{
		durable.Sync: {
			{stop: step(durable.StepWrite)},                  // nothing written yet
			{stop: "partial", stream: true},                  // half the tmp file written
			{stop: step(durable.StepSync)},                   // tmp written, not synced
			{stop: step(durable.StepRename)},                 // tmp synced, not renamed
			{stop: step(durable.StepSyncDir), renamed: true}, // renamed, directory not synced
			{stop: step(durable.StepSyncDir), stream: true, renamed: true},
			{stop: "done", renamed: true},
		},
		durable.NoSync: {
			{stop: step(durable.StepWrite)},
			{stop: "partial", stream: true},
			{stop: step(durable.StepRename)}, // tmp written, not renamed
			{stop: "done", renamed: true},
			{stop: "done", stream: true, renamed: true},
		},
	}
	old, new := content('o', oldSize), content('n', newSize)
	for _, pol := range []durable.Policy{durable.Sync, durable.NoSync} {
		for _, pt := range points[pol] {
			for _, first := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/stream=%t/first=%t", pol, stepName(pt.stop), pt.stream, first)
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "state")
					if !first {
						if err := durable.WriteFile(path, old, 0o644, durable.Sync); err != nil {
							t.Fatal(err)
						}
					}
					killAt(t, path, pol, pt.stop, pt.stream)

					got, err := os.ReadFile(path)
					switch {
					case pt.renamed:
						if err != nil || !bytes.Equal(got, new) {
							t.Fatalf("killed after the rename: %s", describe(got, err, old, new))
						}
					case first:
						if !errors.Is(err, fs.ErrNotExist) {
							t.Fatalf("killed before the first rename: %s, want no file", describe(got, err, old, new))
						}
					default:
						if err != nil || !bytes.Equal(got, old) {
							t.Fatalf("killed before the rename: %s, want the old content", describe(got, err, old, new))
						}
					}

					// The next write goes through whatever the kill left.
					again := content('a', 4096)
					if err := durable.WriteFile(path, again, 0o644, pol); err != nil {
						t.Fatalf("write after the kill: %v", err)
					}
					if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, again) {
						t.Fatalf("after the next write: %s", describe(got, err, old, new))
					}
					if _, err := os.Lstat(durable.TmpPath(path)); !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("tmp file after the next write: %v, want none", err)
					}
				})
			}
		}
	}
}

func stepName(stop string) string {
	if n, err := strconv.Atoi(stop); err == nil {
		return durable.Step(n).String()
	}
	return stop
}

// killAt starts the child writing path and SIGKILLs it once it stopped at
// stop.
func killAt(t *testing.T, path string, pol durable.Policy, stop string, stream bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		crashPathEnv+"="+path,
		crashPolicyEnv+"="+strconv.Itoa(int(pol)),
		crashStepEnv+"="+stop)
	if stream {
		cmd.Env = append(cmd.Env, crashStreamEnv+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, rerr := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "stopped" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not stop at %s: read %q (%v); stderr: %s", stepName(stop), line, rerr, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; stderr: %s", err, stderr.String())
	}
}

// describe says what a file read back holds.
func describe(got []byte, err error, old, new []byte) string {
	switch {
	case err != nil:
		return err.Error()
	case bytes.Equal(got, old):
		return "the old content"
	case bytes.Equal(got, new):
		return "the new content"
	}
	n := min(len(got), 16)
	return fmt.Sprintf("%d bytes starting %q: neither the old content (%d bytes) nor the new (%d)", len(got), got[:n], len(old), len(new))
}
