package buffer

import (
	"fmt"
	"os"
	"slices"
	"testing"
)

// TestCorruption damages segments of a closed queue in the ways disks and
// crashes do and checks that the rest of the queue is still delivered, that
// the counters say what was lost, and that Stats ends consistent.
func TestCorruption(t *testing.T) {
	// 900-byte payloads, 4 KiB segments: 4 frames per segment, 5 segments.
	const n, perSeg = 20, 4
	type damage struct {
		seg, frame int // which frame to damage
	}
	tests := []struct {
		name   string
		at     damage
		damage func(t *testing.T, path string, f segFrame)
		lost   []int // frames of the segment not delivered
		// what the counters can know: lost frames still (partly) on disk,
		// and those of them whose header, and so events, survived
		corrupt    int
		withEvents []int
		bad        int // .bad segments kept
	}{
		{
			name: "payload byte flipped",
			at:   damage{1, 2},
			damage: func(t *testing.T, path string, f segFrame) {
				flipByte(t, path, f.off+4+16+300)
			},
			lost: []int{2}, corrupt: 1, withEvents: []int{2},
			bad: 1, // the frame, quarantined when it fails its CRC
		},
		{
			name: "seq flipped",
			at:   damage{3, 0},
			damage: func(t *testing.T, path string, f segFrame) {
				flipByte(t, path, f.off+4+4+7)
			},
			lost: []int{0}, corrupt: 1, withEvents: []int{0},
			bad: 1,
		},
		{
			name: "length prefix garbled",
			at:   damage{1, 1},
			damage: func(t *testing.T, path string, f segFrame) {
				writeAt(t, path, f.off, []byte{0xff, 0xff, 0xff, 0xf0})
			},
			// Open quarantines the frame and keeps the rest, found again
			// by their CRC; the header names the lost batch's events.
			lost: []int{1}, corrupt: 1, withEvents: []int{1},
			bad: 1,
		},
		{
			name: "length prefix plausible but too long",
			at:   damage{2, 0},
			damage: func(t *testing.T, path string, f segFrame) {
				writeAt(t, path, f.off, []byte{0, 0, 0x10, 0})
			},
			lost: []int{0}, corrupt: 1, withEvents: []int{0},
			bad: 1,
		},
		{
			name: "truncated mid-frame",
			at:   damage{1, 2},
			damage: func(t *testing.T, path string, f segFrame) {
				if err := os.Truncate(path, f.off+4+16+100); err != nil {
					t.Fatal(err)
				}
			},
			// Frame 3 is gone without a trace: counted by its seq (the next
			// segment starts after it), its events unknown.
			lost: []int{2, 3}, corrupt: 2, withEvents: []int{2},
			bad: 1,
		},
		{
			name: "write segment truncated mid-frame",
			at:   damage{4, 1},
			damage: func(t *testing.T, path string, f segFrame) {
				if err := os.Truncate(path, f.off+4+16+100); err != nil {
					t.Fatal(err)
				}
			},
			lost: []int{1, 2, 3}, corrupt: 1, withEvents: []int{1},
			bad: 1,
		},
		{
			name: "truncated inside a length prefix",
			at:   damage{2, 3},
			damage: func(t *testing.T, path string, f segFrame) {
				if err := os.Truncate(path, f.off+2); err != nil {
					t.Fatal(err)
				}
			},
			lost: []int{3}, corrupt: 1, // its header is gone
			bad: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions(t, dir)
			opts.SegmentBytes = 4 << 10
			q := openQueue(t, opts)
			for i := range n {
				mustPut(t, q, payload(fmt.Sprintf("m%d", i), 900), i+1)
			}
			closeQueue(t, q)

			seg := segmentFile(dir, tt.at.seg)
			frames := segmentFrames(t, seg)
			if len(frames) != perSeg {
				t.Fatalf("segment %d has %d frames, want %d", tt.at.seg, len(frames), perSeg)
			}
			var lostIDs []string
			var lostEvents int64
			for _, i := range tt.lost {
				lostIDs = append(lostIDs, frames[i].id)
			}
			for _, i := range tt.withEvents {
				lostEvents += int64(frames[i].events)
			}
			tt.damage(t, seg, frames[tt.at.frame])

			q = openQueue(t, opts)
			// A new batch after the damage is delivered too.
			mustPut(t, q, payload("after", 900), 1)
			got := drain(t, q)
			var want []string
			for i := range n {
				if id := fmt.Sprintf("m%d", i); !slices.Contains(lostIDs, id) {
					want = append(want, id)
				}
			}
			want = append(want, "after")
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("delivered %v\nwant      %v", got, want)
			}
			s := q.Stats()
			if s.CorruptBatches != int64(tt.corrupt) || s.LostEvents != lostEvents || s.BadSegments != tt.bad {
				t.Fatalf("corrupt %d lost events %d bad %d, want %d %d %d",
					s.CorruptBatches, s.LostEvents, s.BadSegments, tt.corrupt, lostEvents, tt.bad)
			}
			if s.Batches != 0 || s.Events != 0 || s.Bytes != 0 || s.InFlight != 0 {
				t.Fatalf("after drain: %+v", s)
			}
			if bad := filesWithSuffix(t, dir, ".bad"); len(bad) != tt.bad {
				t.Fatalf(".bad files %v, want %d", bad, tt.bad)
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
