package buffer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestJournalReusesSpares: batches taken and acknowledged one after the
// other are journaled in the same few files (no file created per batch);
// a batch in flight is still the whole frame under inflight/<seq>.batch
// (and comes back after a crash, its spare file left behind ignored);
// Close and Open leave no spare behind.
func TestJournalReusesSpares(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	q := openQueue(t, opts)
	spareDir := filepath.Join(dir, "spare")
	sizes := []int{5000, 300, 12000, 700, 5000, 100}
	for round, size := range sizes {
		for i := range 3 {
			mustPut(t, q, payload(fmt.Sprintf("r%d-%d", round, i), size), 1)
		}
		var ms []Message
		for range 3 {
			ms = append(ms, mustNext(t, q))
		}
		for _, m := range ms {
			jf := filepath.Join(dir, "inflight", fmt.Sprintf("%020d.batch", m.ID))
			b, err := os.ReadFile(jf)
			if err != nil || len(b) != headerSize+len(m.Payload) || string(b[headerSize:]) != string(m.Payload) {
				t.Fatalf("round %d: %s holds %d bytes (%v), want the frame of %d", round, jf, len(b), err, headerSize+len(m.Payload))
			}
			mustAck(t, q, m.ID)
		}
		if n := len(filesWithSuffix(t, spareDir, ".spare")); n != 3 {
			t.Fatalf("round %d: %d spare files, want the 3 of the first round reused", round, n)
		}
		if left := filesWithSuffix(t, filepath.Join(dir, "inflight"), ""); len(left) != 0 {
			t.Fatalf("round %d: journal not empty: %v", round, left)
		}
	}

	// One batch in flight at a crash (the queue is not closed: its files
	// stay as they are, spares included), then reopened.
	mustPut(t, q, payload("held", 800), 1)
	mustPut(t, q, payload("next", 800), 1)
	held := mustNext(t, q)
	crashed := filesWithSuffix(t, spareDir, ".spare")
	if len(crashed) == 0 {
		t.Fatal("no spare file to leave behind")
	}
	abandon(t, q)
	q = openQueue(t, opts)
	if left := filesWithSuffix(t, spareDir, ".spare"); len(left) != 0 {
		t.Fatalf("spares after Open: %v, want none", left)
	}
	m := mustNext(t, q)
	if !m.Replayed || m.ID != held.ID || idOf(m.Payload) != "held" {
		t.Fatalf("after the crash: %s id %d replayed %v, want held id %d replayed", idOf(m.Payload), m.ID, m.Replayed, held.ID)
	}
	mustAck(t, q, m.ID)
	if got := drain(t, q); len(got) != 1 || got[0] != "next" {
		t.Fatalf("drained %q, want next", got)
	}
	closeQueue(t, q)
	if left := filesWithSuffix(t, spareDir, ".spare"); len(left) != 0 {
		t.Fatalf("spares after Close: %v, want none", left)
	}
}

// abandon lets go of q as a crash would: its files stay as they are (no
// Close), only the lock and file descriptors are released.
func abandon(t *testing.T, q *Queue) {
	t.Helper()
	q.closeOnce.Do(func() {
		close(q.closing)
		q.consumer <- struct{}{}
		q.wmu.Lock()
		q.wclosed = true
		_ = q.dq.Close()
		q.wmu.Unlock()
		_ = q.sync.close()
		q.jr.spares.mu.Lock()
		for _, sp := range q.jr.spares.free {
			_ = sp.f.Close()
		}
		q.jr.spares.free = nil
		q.jr.spares.mu.Unlock()
		_ = q.jr.consumed.Close()
		_ = unlockDir(q.lock)
	})
}
