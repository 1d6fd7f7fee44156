package buffer

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestAckSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	q := openQueue(t, opts)
	for i := range 6 {
		mustPut(t, q, payload(fmt.Sprintf("a%d", i), 64), 10+i)
	}
	var ms []Message
	for range 4 {
		ms = append(ms, mustNext(t, q))
	}
	if s := q.Stats(); s.InFlight != 4 || s.InFlightEvents != 10+11+12+13 || s.Batches != 2 {
		t.Fatalf("4 in flight: %+v", s)
	}
	// Out of order; a0 and a2 stay in flight.
	mustAck(t, q, ms[3].ID)
	mustAck(t, q, ms[1].ID)
	closeQueue(t, q)

	// Run 2: a0 and a2 come first, replayed; then a4, a5.
	q = openQueue(t, opts)
	if s := q.Stats(); s.Batches != 4 || s.Events != 10+12+14+15 || s.InFlight != 0 {
		t.Fatalf("after reopen: %+v", s)
	}
	want := []struct {
		id       string
		replayed bool
	}{{"a0", true}, {"a2", true}, {"a4", false}, {"a5", false}}
	ms = ms[:0]
	for _, w := range want {
		m := mustNext(t, q)
		if idOf(m.Payload) != w.id || m.Replayed != w.replayed || m.Events != 10+int(idOf(m.Payload)[1]-'0') {
			t.Fatalf("got %s replayed=%v events=%d, want %s replayed=%v", idOf(m.Payload), m.Replayed, m.Events, w.id, w.replayed)
		}
		ms = append(ms, m)
	}
	if m, ok := tryNext(t, q, 20*time.Millisecond); ok {
		t.Fatalf("unexpected message %s", idOf(m.Payload))
	}
	if s := q.Stats(); s.ReplayedBatches != 2 || s.ReplayedEvents != 22 || s.InFlight != 4 {
		t.Fatalf("run 2 stats: %+v", s)
	}
	mustAck(t, q, ms[0].ID) // a replayed batch
	mustAck(t, q, ms[3].ID)
	mustAck(t, q, ms[1].ID)
	closeQueue(t, q) // a4 stays in flight

	// Run 3: only a4.
	q = openQueue(t, opts)
	m := mustNext(t, q)
	if idOf(m.Payload) != "a4" || !m.Replayed {
		t.Fatalf("run 3: got %s replayed=%v", idOf(m.Payload), m.Replayed)
	}
	if m, ok := tryNext(t, q, 20*time.Millisecond); ok {
		t.Fatalf("run 3: unexpected message %s", idOf(m.Payload))
	}
	mustAck(t, q, m.ID)
	if left := filesWithSuffix(t, filepath.Join(dir, "inflight"), ""); len(left) != 0 {
		t.Fatalf("journal not empty: %v", left)
	}
	if s := q.Stats(); s.Bytes != 0 || s.Batches != 0 || s.InFlight != 0 {
		t.Fatalf("run 3 stats: %+v", s)
	}
	// New batches after reopens get fresh ids.
	mustPut(t, q, payload("new", 10), 1)
	if m := mustNext(t, q); idOf(m.Payload) != "new" || m.ID <= ms[3].ID {
		t.Fatalf("new batch: %s id %d (last id %d)", idOf(m.Payload), m.ID, ms[3].ID)
	}
}

func TestManyInFlightAckedInAnyOrder(t *testing.T) {
	q := openQueue(t, testOptions(t, t.TempDir()))
	const n = 64
	for i := range n {
		mustPut(t, q, payload(fmt.Sprintf("m%d", i), 256), 1)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = mustNext(t, q).ID
	}
	// Evens backwards, then odds forwards.
	for i := n - 2; i >= 0; i -= 2 {
		mustAck(t, q, ids[i])
	}
	if s := q.Stats(); s.InFlight != n/2 {
		t.Fatalf("in flight %d, want %d", s.InFlight, n/2)
	}
	for i := 1; i < n; i += 2 {
		mustAck(t, q, ids[i])
	}
	if err := q.Ack(ids[5]); err == nil {
		t.Fatal("double Ack succeeded")
	}
	if s := q.Stats(); s.InFlight != 0 || s.Bytes != 0 {
		t.Fatalf("after acks: %+v", s)
	}
}
