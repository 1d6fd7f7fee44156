package kafka

import (
	"context"
	"testing"
	"time"
)

func markOf(t *testing.T, tr *tracker, topic string, part int32) int64 {
	t.Helper()
	m := tr.marks([]topicPartition{{topic, part}})
	eo, ok := m[topic][part]
	if !ok {
		return -1
	}
	return eo.Offset
}

// The mark moves only over contiguous stored spans, whatever order the
// Commits come in.
func TestTrackerOrder(t *testing.T) {
	tr := newTracker()
	a, src := tr.open("t", 0, 10, 1)
	if src != "t/0" {
		t.Errorf("source = %q", src)
	}
	b, _ := tr.open("t", 0, 20, 1)
	c, _ := tr.open("t", 0, 30, 2)
	other, _ := tr.open("t", 1, 5, 1)

	tr.store(b)
	tr.store(c)
	if m := markOf(t, tr, "t", 0); m != -1 {
		t.Fatalf("mark %d before the first span is stored", m)
	}
	if n, _ := tr.outstanding([]topicPartition{{"t", 0}}); n != 1 {
		t.Errorf("outstanding = %d, want 1", n)
	}
	tr.store(a)
	all := tr.marks(nil)
	if eo := all["t"][0]; eo.Offset != 30 || eo.Epoch != 2 {
		t.Errorf("mark = %+v, want 30 at epoch 2", eo)
	}
	if _, ok := all["t"][1]; ok {
		t.Error("partition 1 has a mark before its span is stored")
	}
	tr.committed(all)
	if m := tr.marks(nil); len(m) != 0 {
		t.Errorf("marks after commit: %v", m)
	}
	tr.store(other)
	tr.store(other) // twice is once
	if m := markOf(t, tr, "t", 1); m != 5 {
		t.Errorf("partition 1 mark = %d, want 5", m)
	}
	select {
	case <-tr.wake:
	default:
		t.Error("the committer was not woken")
	}
}

// A span that could not be emitted holds its partition's mark before it
// for good, and is not waited for.
func TestTrackerDrop(t *testing.T) {
	tr := newTracker()
	a, _ := tr.open("t", 0, 10, 0)
	b, _ := tr.open("t", 0, 20, 0)
	tr.store(a)
	tr.drop(b)
	tr.store(b) // a late Commit changes nothing
	if m := markOf(t, tr, "t", 0); m != 10 {
		t.Errorf("mark = %d, want 10", m)
	}
	if left := tr.waitStored(context.Background(), nil, time.Second); left != 0 {
		t.Errorf("waiting for %d dropped spans", left)
	}
}

func TestTrackerWaitAndRelease(t *testing.T) {
	tr := newTracker()
	a, _ := tr.open("t", 0, 10, 0)
	b, _ := tr.open("t", 1, 10, 0)
	parts := []topicPartition{{"t", 0}}
	if left := tr.waitStored(context.Background(), parts, 10*time.Millisecond); left != 1 {
		t.Errorf("left = %d, want 1 after the timeout", left)
	}
	done := make(chan int)
	go func() { done <- tr.waitStored(context.Background(), parts, time.Minute) }()
	tr.store(b) // another partition: no effect on the wait
	tr.store(a)
	if left := <-done; left != 0 {
		t.Errorf("left = %d after the store", left)
	}
	tr.release(parts)
	if m := tr.marks(parts); len(m) != 0 {
		t.Errorf("a released partition has marks: %v", m)
	}
	// A new assignment of the partition starts afresh.
	c, _ := tr.open("t", 0, 50, 3)
	tr.store(c)
	if m := markOf(t, tr, "t", 0); m != 50 {
		t.Errorf("mark after reassignment = %d, want 50", m)
	}
}
