package fanout

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAcksRoundTrip: masks written to slots come back by seq at the next
// open; a torn or garbled slot is ignored, not taken for another seq.
func TestAcksRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acks")
	a, masks, err := openAcks(path)
	if err != nil || len(masks) != 0 {
		t.Fatalf("new: %v %v", masks, err)
	}
	s0, s1, s2 := a.alloc(), a.alloc(), a.alloc()
	for _, w := range []struct {
		slot      int
		seq, mask uint64
	}{{s0, 7, 0b01}, {s1, 8, 0b11}, {s2, 9, 0b10}} {
		if err := a.set(w.slot, w.seq, w.mask); err != nil {
			t.Fatal(err)
		}
	}
	a.release(s1)
	if s := a.alloc(); s != s1 {
		t.Errorf("alloc after release = %d, want slot %d again", s, s1)
	}
	a.close()
	// Garble seq 9's record.
	b, _ := os.ReadFile(path)
	b[2*slotSize+3] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	a, masks, err = openAcks(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if len(masks) != 2 || masks[7] != 0b01 || masks[8] != 0b11 {
		t.Errorf("masks %v, want 7:01 8:11 (9 garbled)", masks)
	}
	if a.slots != 3 || len(a.free) != 3 {
		t.Errorf("%d slots, %d free: want all 3 free at open", a.slots, len(a.free))
	}
}

// FuzzOpenAcks: any file content opens without panicking, and only
// records whose CRC holds yield masks.
func FuzzOpenAcks(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, slotSize*2+5))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "acks")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		a, masks, err := openAcks(path)
		if err != nil {
			t.Fatal(err)
		}
		defer a.close()
		if len(masks) > len(b)/slotSize {
			t.Fatalf("%d masks from %d slots", len(masks), len(b)/slotSize)
		}
		if _, ok := masks[0]; ok {
			t.Fatal("a mask for seq 0")
		}
	})
}
