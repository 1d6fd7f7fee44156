package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

// TestFullDisk: the agent's data_dir is on a 24 MiB tmpfs, below its
// buffer's cap (64 MiB), and its only destination refuses everything (503)
// while it reads a 40 MB file: the disk fills. What an operator expects,
// and the test asserts:
//
//   - The agent stays up, holding the input back: a write the disk refuses
//     (ENOSPC) waits and is retried, as a Put into a full buffer waits
//     under when_full: block, so the file input is not read further. It
//     says so in a WARN ("disk full: waiting for room"), at most one per
//     10 s however often it retries, and counts the waits
//     (/status disk_full_waits, pulse_buffer_disk_full_waits_total). It
//     does not exit after shutdown_timeout, as it once did.
//   - It stops (SIGTERM: status 0) and starts again on the full disk, with
//     not a byte free — after the clean stop and after a kill -9. The
//     buffer's Open writes nothing it need not: the journal's consumed
//     record is overwritten in place, and diskqueue's metadata, which
//     lags after a kill -9 or a stop that could not persist it, is
//     rewritten by tmp + rename, or, with no room for the tmp file, in
//     place over the old one's allocated block.
//   - Once room is made — the 4 MiB ballast removed, the disk not grown —
//     and the destination is back, every line arrives, with no restart and
//     the buffer under its cap. The input cannot starve the output of room:
//     consumption needs none. With no room to journal a batch in flight,
//     Next hands out the head of the queue unconsumed, one batch at a
//     time, and its Ack consumes it (the consumed record again in place);
//     segments read to their end are removed, and that is the room the
//     input's next Put finds.
//   - No acknowledged line is lost: every id reaches the sink. Duplicates
//     are allowed: the full disk kept the input's checkpoint from being
//     written, and the kill -9 re-reads from the last one written.
func TestFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end full disk test; run without -short")
	}
	disk := testenv.SmallDisk(t, 24<<20) // needs root: under CI a failure without it
	noLeaks(t)
	const (
		lines    = 170_000
		capBytes = 64 << 20
	)
	// Room an operator can make: 4 MiB that the test frees later.
	ballast := filepath.Join(disk, "ballast")
	writeFile(t, ballast, strings.Repeat("b", 4<<20))
	root := t.TempDir()
	logFile := filepath.Join(root, "app.log")
	if _, err := testenv.WriteNoisyLines(logFile, lines, 240, 11); err != nil {
		t.Fatal(err)
	}
	sink := testenv.StartSink(t, root, "sink")
	proxy := testenv.NewProxy(t, sink.Addr)
	proxy.SetStatus(http.StatusServiceUnavailable)
	data := filepath.Join(disk, "data")
	bufDir := filepath.Join(data, "buffers", "up")
	adminAddr := testenv.FreeAddr(t)
	cfg := filepath.Join(root, "agent.yaml") // the config and the log stay off the small disk
	writeFile(t, cfg, fmt.Sprintf(testenv.Config{
		ID:      "full",
		Admin:   adminAddr,
		Inputs:  []string{testenv.FileInput("app", logFile)},
		Outputs: []string{testenv.HTTPOutput{Name: "up", Endpoints: []string{proxy.Addr()}, Encoding: "lines", BufferBytes: capBytes}.YAML()},
		Extra:   "shutdown_timeout: 3s",
	}.YAML(), data))
	start := time.Now()
	agent := &testenv.Node{Process: testenv.Start(t, root, "agent", testenv.Binary(t), "agent", "-config", cfg), Dir: data, Admin: adminAddr}
	var maxBuf int64 // the largest buffer directory seen
	sample := func() {
		mustRun(t, agent.Process)
		maxBuf = max(maxBuf, dirSize(bufDir))
	}
	const waiting = `msg="disk full: waiting for room"`
	// fullAgain waits until the current run of the agent has met the full
	// disk: a WARN more than before, and the wait counted in /status.
	fullAgain := func(what string, before int) {
		t.Helper()
		testenv.WaitListening(t, agent.Process, adminAddr)
		testenv.WaitFor(t, 30*time.Second, what, func() bool {
			sample()
			if strings.Count(agent.Log(), waiting) <= before {
				return false
			}
			st, err := agent.Status()
			o, ok := testenv.Output(st, "up")
			return err == nil && ok && o.Buffer.DiskFullWaits > 0
		})
	}

	fullAgain("the agent reports the disk full and waits for room", 0)
	free, used, err := testenv.DiskFree(disk)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("disk full: %d bytes used, %d free; buffer files %d bytes (cap %d)", used, free, dirSize(bufDir), capBytes)
	// It once exited after shutdown_timeout (3 s): give it twice that.
	testenv.Eventually(6*time.Second, func() bool { sample(); return false }) // sample fails the test if it exits
	if st, err := agent.Status(); err != nil {
		t.Fatal(err)
	} else if o, _ := testenv.Output(st, "up"); o.Buffer.Bytes > capBytes {
		t.Fatalf("buffer holds %d bytes, over its cap %d", o.Buffer.Bytes, capBytes)
	} else {
		t.Logf("6 s later, still up: %d disk-full waits, buffer %d bytes", o.Buffer.DiskFullWaits, o.Buffer.Bytes)
	}

	// Stopped and started on the full disk, after a clean stop and after
	// a kill -9, with the last free bytes taken each time.
	for _, stop := range []string{"SIGTERM", "SIGKILL"} {
		before := strings.Count(agent.Log(), waiting)
		if stop == "SIGTERM" {
			if err := agent.Stop(30 * time.Second); err != nil {
				t.Fatalf("stop on a full disk: %v\n%s", err, agent.Tail(20))
			}
		} else {
			agent.Kill()
		}
		crumbs := fillDisk(t, disk, stop)
		agent.Restart()
		fullAgain("the agent, started on the full disk after a "+stop+", waits for room", before)
		t.Logf("after a %s, started on the full disk (%d bytes taken to fill it)", stop, crumbs)
	}
	if strings.Contains(agent.Log(), "overwrote it in place") {
		t.Logf("a start had no room for diskqueue's metadata tmp file: %s", lastLine(agent.Log(), "overwrote it in place"))
	}

	// Room made, the destination back: everything arrives, no restart.
	runs := len(agent.PIDs())
	proxy.SetStatus(0)
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	var ids *testenv.IDs
	testenv.WaitFor(t, 90*time.Second, "every line at the sink, with 4 MiB of room made", func() bool {
		sample()
		ids, err = testenv.ScanDir(sink.Dir, lines)
		return err == nil && ids.Complete()
	})
	t.Logf("with 4 MiB of room made: %s; largest buffer directory %d bytes (cap %d)", ids.Report(), maxBuf, capBytes)
	if n := len(agent.PIDs()); n != runs {
		t.Errorf("the agent ran %d times after room was made, want the one run it had", n-runs+1)
	}
	if maxBuf > capBytes {
		t.Errorf("the buffer directory reached %d bytes, over its cap %d", maxBuf, capBytes)
	}
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatalf("agent: %v\n%s", err, agent.Tail(20))
	}
	// Rate-limited: at most one "waiting for room" per 10 s of each run.
	elapsed := time.Since(start)
	if n, limit := strings.Count(agent.Log(), waiting), runs*(1+int(elapsed/(10*time.Second))); n > limit {
		t.Errorf("%d %q WARNs in %d runs over %v: not rate-limited (want at most %d)", n, waiting, runs, elapsed.Round(time.Second), limit)
	}
}

// fillDisk takes every byte left free on the disk at dir into a new file,
// and returns how many it took.
func fillDisk(t *testing.T, dir, name string) int64 {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "fill-"+name)) // an inode, no block
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	var n int64
	for range 1 << 20 { // bounded: 4 GiB, far past the small disk
		w, err := f.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s: the disk never filled", dir)
	return n
}

// lastLine returns the last line of log that contains s.
func lastLine(log, s string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return "(no line with " + strconv.Quote(s) + ")"
}
