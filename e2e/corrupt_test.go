package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// TestCorruptSegment is issue 12's acceptance for damage that is not a torn
// write: two 4 KiB stretches of garbage in the middle of the segment of a
// stopped agent's buffer, one inside a batch, one across the boundary of two
// batches. After a restart exactly the damaged batches are reported lost
// (/status, and ERROR in the log), every other id is delivered, /health
// answers 503 while the quarantined .bad file is there and 200 once
// `pulse buffer clear-bad` removed it.
func TestCorruptSegment(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with the real binary; run without -short")
	}
	const n = 40_000
	root := t.TempDir()
	input := filepath.Join(root, "app.log")
	if _, err := testenv.WriteLines(input, n, 200); err != nil {
		t.Fatal(err)
	}
	sink := testenv.NewSink(t, n)
	sink.SetStatus(503) // everything stays buffered
	adminAddr := testenv.FreeAddr(t)
	cfg := testenv.Config{
		Admin:  adminAddr,
		Inputs: []string{testenv.FileInput("in", input)},
		// lines encoding: a frame's payload is its lines, so the test
		// knows the ids of each batch. ~100 KB batches.
		Outputs: []string{testenv.HTTPOutput{Name: "out", Endpoints: []string{sink.Addr}, Encoding: "lines", MaxEvents: 500}.YAML()},
	}.YAML()
	agent := testenv.StartAgent(t, root, "a", cfg)
	agent.Admin = adminAddr
	cfgFile, bufDir := filepath.Join(root, "a.yaml"), filepath.Join(root, "a", "buffers", "out")
	testenv.WaitFor(t, 60*time.Second, "every event buffered", func() bool {
		st, err := agent.Status()
		o, ok := testenv.Output(st, "out")
		return err == nil && ok && o.EventsIn == n
	})
	agent.Kill()
	// The buffer is now the only copy: nothing can be read again from the
	// source, whatever its checkpoint says.
	if err := os.Remove(input); err != nil {
		t.Fatal(err)
	}

	seg := filepath.Join(bufDir, "out.diskqueue.000000.dat")
	consumed := consumedSeq(t, bufDir)
	frames := framesOf(t, seg)
	// Two batches not consumed (not in flight either) in the middle.
	mid := len(frames) / 2
	k, j := mid-4, mid+2
	if len(frames) < 16 || frames[k].seq <= consumed || frames[j].size < 3*4096 {
		t.Fatalf("segment has %d frames (consumed up to seq %d, frame %d seq %d, %d bytes): the fixture no longer fits",
			len(frames), consumed, k, frames[k].seq, frames[j].size)
	}
	// Inside frame k's payload: its CRC fails, its header names its events.
	garble(t, seg, frames[k].off+frames[k].size/2, 4096)
	// Across frames j and j+1: j's CRC fails; j+1's length prefix and
	// header are gone, so its events are unknown to the agent.
	garble(t, seg, frames[j+1].off-2048, 4096)
	damaged := []rawFrame{frames[k], frames[j], frames[j+1]}
	lostEvents := 0
	for _, f := range damaged {
		lostEvents += f.events
	}
	knownEvents := int64(frames[k].events + frames[j].events)

	sink.SetStatus(200)
	agent.Restart()
	testenv.WaitFor(t, 60*time.Second, "every id but the damaged batches'", func() bool {
		return sink.IDs.Report().Unique == n-lostEvents
	})
	var o struct {
		bad, corrupt, torn int64
		dropped            int64
	}
	testenv.WaitFor(t, 10*time.Second, "the losses in /status", func() bool {
		st, err := agent.Status()
		out, ok := testenv.Output(st, "out")
		if err != nil || !ok {
			return false
		}
		b := out.Buffer
		o.bad, o.corrupt, o.torn, o.dropped = int64(b.BadSegments), b.CorruptBatches, b.TornWrites, b.Dropped["corrupt"]
		return b.Batches == 0 && b.InFlight == 0
	})
	if o.corrupt != int64(len(damaged)) || o.dropped != knownEvents || o.bad != 1 || o.torn != 0 {
		t.Errorf("/status: corrupt batches %d, corrupt events %d, bad segments %d, torn writes %d; want %d, %d (the third batch's events are unknown), 1, 0",
			o.corrupt, o.dropped, o.bad, o.torn, len(damaged), knownEvents)
	}
	if code := health(t, adminAddr); code != http.StatusServiceUnavailable {
		t.Errorf("/health with a .bad file: %d, want 503", code)
	}
	log := agent.Log()
	if !strings.Contains(log, "corrupt diskqueue segment") || !strings.Contains(log, "lost_batches=1") ||
		!strings.Contains(log, "lost_batches_events_unknown=1") || !strings.Contains(log, "CRC mismatch") {
		t.Errorf("the agent's log does not report the damage:\n%s", agent.Tail(40))
	}
	if strings.Contains(log, "interrupted write") {
		t.Errorf("damage reported as a torn write:\n%s", agent.Tail(40))
	}
	if err := agent.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Exactly the damaged batches' ids are missing: adding them makes
	// every id seen once.
	rep := sink.IDs.Report()
	for _, f := range damaged {
		sink.IDs.AddLines(f.payload)
	}
	if r := sink.IDs.Report(); !sink.IDs.Complete() || r.Duplicates != 0 {
		t.Fatalf("sink before adding the damaged batches: %s; after: %s", rep, r)
	}
	t.Logf("2 x 4 KiB garbage in a %d-frame segment: %d batches lost (%d events, %d known to the agent), %d of %d ids delivered",
		len(frames), len(damaged), lostEvents, knownEvents, rep.Unique, n)

	// Reviewed and cleared: healthy after a restart.
	if code, stdout, stderr := pulseCmd(t, "buffer", "clear-bad", "-config", cfgFile); code != 0 {
		t.Fatalf("clear-bad: exit %d\n%s%s", code, stdout, stderr)
	}
	agent.Restart()
	testenv.WaitFor(t, 20*time.Second, "/health 200 after clear-bad", func() bool {
		return health(t, adminAddr) == http.StatusOK
	})
	if err := agent.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// health is the status code of the agent's /health, 0 if it does not answer.
func health(t *testing.T, addr string) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/health")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
