package buffer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// tornFrameBytes is the frame a Put of seq would have appended: length
// prefix, header, payload.
func tornFrameBytes(seq uint64, p []byte, events uint32) []byte {
	msg := make([]byte, headerSize+len(p))
	copy(msg[headerSize:], p)
	putHeader(msg, seq, events, 0)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
	return append(b, msg...)
}

func appendFileBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestTornTail appends every prefix of a frame (1 byte to one short of
// whole) to the newest segment, as a kill -9 during its write would leave
// it, both after a clean close and with the metadata as stale as a kill -9
// leaves it: Open truncates it, counts one torn write, quarantines nothing
// and loses nothing.
func TestTornTail(t *testing.T) {
	const n, size = 10, 100 // 128-byte frames, all in segment 0
	frame := tornFrameBytes(n+1, payload("torn", size), 3)
	for _, stale := range []bool{false, true} {
		for cut := 1; cut < len(frame); cut++ {
			if stale && cut%9 != 1 && cut != len(frame)-1 {
				continue // every length once is enough; a sample with stale metadata
			}
			base := t.TempDir()
			opts := testOptions(t, filepath.Join(base, "q"))
			opts.SegmentBytes = 4 << 10
			opts.SyncEvery = 1 << 40
			q := openQueue(t, opts)
			var want []string
			for i := range n {
				mustPut(t, q, payload(fmt.Sprintf("m%d", i), size), i+1)
				want = append(want, fmt.Sprintf("m%d", i))
			}
			if stale {
				snap := filepath.Join(base, "snap")
				copyTree(t, opts.Dir, snap) // as a kill -9 now leaves it
				closeQueue(t, q)
				opts.Dir = snap
			} else {
				closeQueue(t, q)
			}
			seg := segmentFile(opts.Dir, 0)
			fi, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			appendFileBytes(t, seg, frame[:cut])

			q = openQueue(t, opts)
			s := q.Stats()
			if s.TornWrites != 1 || s.CorruptBatches != 0 || s.LostEvents != 0 || s.BadSegments != 0 || s.Batches != n {
				t.Fatalf("stale %v, cut %d: stats after Open %+v", stale, cut, s)
			}
			if got, err := os.Stat(seg); err != nil || got.Size() != fi.Size() {
				t.Fatalf("stale %v, cut %d: segment not truncated to %d: %v %v", stale, cut, fi.Size(), got, err)
			}
			mustPut(t, q, payload("after", size), 1)
			got := drain(t, q)
			if !slices.Equal(got, append(want, "after")) {
				t.Fatalf("stale %v, cut %d: delivered %v", stale, cut, got)
			}
			if bad := filesWithSuffix(t, opts.Dir, ".bad"); len(bad) != 0 {
				t.Fatalf("stale %v, cut %d: .bad files %v", stale, cut, bad)
			}
			closeQueue(t, q)
		}
	}
}

// TestTornTailZeros: the file grew but the data never landed (a power
// loss): zeros past the last frame of the newest segment are a torn write.
func TestTornTailZeros(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	q := openQueue(t, opts)
	for i := range 3 {
		mustPut(t, q, payload(fmt.Sprintf("m%d", i), 100), 1)
	}
	closeQueue(t, q)
	appendFileBytes(t, segmentFile(dir, 0), make([]byte, 4096))
	q = openQueue(t, opts)
	if s := q.Stats(); s.TornWrites != 1 || s.BadSegments != 0 || s.CorruptBatches != 0 {
		t.Fatalf("stats %+v", s)
	}
	if got := drain(t, q); fmt.Sprint(got) != "[m0 m1 m2]" {
		t.Fatalf("delivered %v", got)
	}
}

// TestNotTorn: what looks like a torn tail but is not one stays corruption.
func TestNotTorn(t *testing.T) {
	const size = 100
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string, frames []segFrame)
		lost   []int // frames of the newest segment lost
		bad    int
	}{
		{
			// A clean close persisted the write position: a cut before it
			// took frames Put returned for.
			name: "newest segment cut before the write position",
			damage: func(t *testing.T, dir string, f []segFrame) {
				if err := os.Truncate(segmentFile(dir, 0), f[7].off+30); err != nil {
					t.Fatal(err)
				}
			},
			lost: []int{7, 8, 9}, bad: 1,
		},
		{
			// An incomplete frame at the end, but a verified frame after
			// the damage: garbage in the middle, not a torn write.
			name: "garbage before the last frame",
			damage: func(t *testing.T, dir string, f []segFrame) {
				writeAt(t, segmentFile(dir, 0), f[8].off, bytes.Repeat([]byte{0xee}, 20))
			},
			lost: []int{8}, bad: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions(t, dir)
			q := openQueue(t, opts)
			for i := range 10 {
				mustPut(t, q, payload(fmt.Sprintf("m%d", i), size), i+1)
			}
			closeQueue(t, q)
			frames := segmentFrames(t, segmentFile(dir, 0))
			tt.damage(t, dir, frames)
			q = openQueue(t, opts)
			var want []string
			var lostEvents int64
			for i := range 10 {
				if slices.Contains(tt.lost, i) {
					lostEvents += int64(frames[i].events)
					continue
				}
				want = append(want, fmt.Sprintf("m%d", i))
			}
			got := drain(t, q)
			s := q.Stats()
			if !slices.Equal(got, want) || s.TornWrites != 0 || s.BadSegments != tt.bad {
				t.Fatalf("delivered %v (want %v), stats %+v", got, want, s)
			}
			// Batches are counted by seq; the events of those whose header
			// is gone (cut off) are unknown.
			if s.CorruptBatches < 1 || s.CorruptBatches > int64(len(tt.lost)) || s.LostEvents > lostEvents {
				t.Fatalf("corrupt %d lost events %d, want at most %d, %d", s.CorruptBatches, s.LostEvents, len(tt.lost), lostEvents)
			}
		})
	}
}

// TestDamageMidSegment writes 2 KiB of garbage into the middle of an older
// segment, across frame boundaries: Open quarantines it, every frame after
// it is still delivered, and the lost batches are counted exactly by seq.
func TestDamageMidSegment(t *testing.T) {
	const n, size = 40, 400 // 428-byte frames, ~9 per 4 KiB segment
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.SegmentBytes = 4 << 10
	q := openQueue(t, opts)
	for i := range n {
		mustPut(t, q, payload(fmt.Sprintf("m%d", i), size), i+1)
	}
	closeQueue(t, q)
	seg := segmentFile(dir, 1)
	frames := segmentFrames(t, seg)
	from, to := frames[2].off+200, frames[2].off+200+2048
	garbage := make([]byte, to-from)
	for i := range garbage {
		garbage[i] = byte(i*131 + 7)
	}
	writeAt(t, seg, from, garbage)
	// Damaged: every frame that overlaps [from, to). Frame 2's header
	// survives (its CRC fails when read); the others' are gone.
	var lostIDs []string
	var lostBatches int64
	for _, f := range frames {
		if f.off < to && f.off+f.size > from {
			lostIDs = append(lostIDs, f.id)
			lostBatches++
		}
	}
	q = openQueue(t, opts)
	got := drain(t, q)
	var want []string
	for i := range n {
		if id := fmt.Sprintf("m%d", i); !slices.Contains(lostIDs, id) {
			want = append(want, id)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v\nwant      %v", got, want)
	}
	s := q.Stats()
	if s.CorruptBatches != lostBatches || s.LostEvents != int64(frames[2].events) || s.BadSegments != 1 || s.TornWrites != 0 {
		t.Fatalf("stats %+v, want %d corrupt batches, %d events known lost, 1 .bad", s, lostBatches, frames[2].events)
	}
	t.Logf("2 KiB of garbage: %d batches lost %v (%d events known), %d of %d delivered, %d .bad bytes",
		lostBatches, lostIDs, s.LostEvents, len(got), n, s.BadBytes)
}

// TestTornTailOlderSegment: a torn tail in a segment before the newest,
// left by an older version's recovery (it moved writes to a new segment
// without truncating). The next segment goes on with the next seq: nothing
// was lost, so it is a torn write, not corruption. With a seq missing it is
// corruption.
func TestTornTailOlderSegment(t *testing.T) {
	for _, gap := range []bool{false, true} {
		dir := t.TempDir()
		opts := testOptions(t, dir)
		opts.SegmentBytes = 4 << 10
		q := openQueue(t, opts)
		for i := range 12 { // 900-byte payloads: 4 per segment
			mustPut(t, q, payload(fmt.Sprintf("m%d", i), 900), 1)
		}
		closeQueue(t, q)
		// The torn frame had the seq the next run gave m8 again.
		appendFileBytes(t, segmentFile(dir, 1), tornFrameBytes(9, payload("x", 900), 1)[:300])
		want := 12
		if gap { // and m8, the first frame of segment 2, is lost: a seq goes missing
			b, err := os.ReadFile(segmentFile(dir, 2))
			if err != nil {
				t.Fatal(err)
			}
			f2 := segmentFrames(t, segmentFile(dir, 2))
			if err := os.WriteFile(segmentFile(dir, 2), b[f2[1].off:], 0o600); err != nil {
				t.Fatal(err)
			}
			want = 11
		}
		q = openQueue(t, opts)
		got := drain(t, q)
		s := q.Stats()
		if !gap && (s.TornWrites != 1 || s.BadSegments != 0 || s.CorruptBatches != 0 || len(got) != want) {
			t.Fatalf("continued seqs: delivered %v, stats %+v", got, s)
		}
		if gap && (s.TornWrites != 0 || s.BadSegments != 1 || s.CorruptBatches != 1 || len(got) != want) {
			t.Fatalf("a seq missing: delivered %v, stats %+v", got, s)
		}
		closeQueue(t, q)
	}
}
