package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"pulse/protocol"
)

func TestFieldValue(t *testing.T) {
	tests := []struct{ ev, field, want string }{
		{"at=info request_id=abc path=/", "request_id", "abc"},
		{`at=info request_id="a b" path=/`, "request_id", "a b"},
		{"request_id=first x=1", "request_id", "first"},
		{"x_request_id=no request_id=yes", "request_id", "yes"},
		{"at=info path=/", "request_id", ""},
		{"request_id", "request_id", ""},
		{`{"level":"info","request_id":"j1","n":2}`, "request_id", "j1"},
		{`{"request_id": 42, "x":1}`, "request_id", "42"},
		{`{"other":"request_id"}`, "request_id", ""},
		{"", "request_id", ""},
	}
	for _, tt := range tests {
		if got := string(fieldValue([]byte(tt.ev), tt.field)); got != tt.want {
			t.Errorf("fieldValue(%q, %q) = %q, want %q", tt.ev, tt.field, got, tt.want)
		}
	}
}

// keySink records, per stored batch, its routing key and events.
type keySink struct {
	mu      sync.Mutex
	byKey   map[uint64][]string
	batches int
}

func (s *keySink) PutKey(_ context.Context, key uint64, p []byte, events int) error {
	body, err := protocol.Decompress(nil, p, 1<<30)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	return protocol.Each(body, protocol.Limits{}, func(r []byte) error {
		s.byKey[key] = append(s.byKey[key], string(r))
		return nil
	})
}

func TestPulseEncodingHashBuckets(t *testing.T) {
	sink := &keySink{byKey: map[uint64][]string{}}
	r, err := NewRouter("h", []OutputOptions{{Name: "mergers", Encoding: Pulse, MaxEvents: 3, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink, Buckets: 8, HashField: "user"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("at=info user=u%d seq=%d", i%17, i))
	}
	if err := r.Emit(context.Background(), batchOf(lines...)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	owner := map[string]uint64{}
	total := 0
	for key, evs := range sink.byKey {
		if key >= 8 {
			t.Errorf("key %d out of range", key)
		}
		for _, ev := range evs {
			total++
			u := string(fieldValue([]byte(ev), "user"))
			if k, ok := owner[u]; ok && k != key {
				t.Errorf("user %s in buckets %d and %d", u, k, key)
			}
			owner[u] = key
		}
	}
	if total != len(lines) || len(owner) != 17 {
		t.Fatalf("%d events for %d users, want %d for 17", total, len(owner), len(lines))
	}
	if len(sink.byKey) < 4 {
		t.Errorf("17 users fell into only %d of 8 buckets", len(sink.byKey))
	}
	// Order within a key is kept.
	for _, evs := range sink.byKey {
		last := map[string]int{}
		for _, ev := range evs {
			var u string
			var seq int
			fmt.Sscanf(ev, "at=info user=%s seq=%d", &u, &seq)
			if seq < last[u] {
				t.Fatalf("out of order: %q after seq %d", ev, last[u])
			}
			last[u] = seq
		}
	}
}
