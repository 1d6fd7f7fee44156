package metrics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"
)

// withCRC frames body as Save does, so the fuzzer reaches the parser
// behind the checksum.
func withCRC(body []byte) []byte {
	b := append([]byte(stateMagic), stateVersion)
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func FuzzLoadMerger(f *testing.F) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	for _, fr := range sampleFragments() {
		m.Add(fr)
	}
	m.Add(fragmentOf(key("hits", Counter), "b", 3, t0.Add(time.Minute), 4))
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		f.Fatal(err)
	}
	saved := buf.Bytes()
	f.Add(saved[5 : len(saved)-4])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := LoadMerger(bytes.NewReader(withCRC(body)), MergeOptions{Logger: quietLogger()})
		if err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("error does not wrap ErrBadState: %v", err)
			}
			return
		}
		// A loaded state works: merge into it, snapshot it, save it again.
		for _, fr := range sampleFragments() {
			l.Add(fr)
		}
		for _, s := range l.Snapshots(t0, true) {
			_ = s.AppendJSON(nil)
		}
		var again bytes.Buffer
		if err := l.Save(&again); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadMerger(&again, MergeOptions{}); err != nil {
			t.Fatalf("state saved after load does not load: %v", err)
		}
	})
}

func TestLoadMergerEmptyAndForeign(t *testing.T) {
	var buf bytes.Buffer
	if err := NewMerger(MergeOptions{}).Save(&buf); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMerger(&buf, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Windows != 0 || st.Keys != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, b := range [][]byte{nil, []byte("PLSM"), []byte("not a merger state at all"), withCRC([]byte{0xff})} {
		if _, err := LoadMerger(bytes.NewReader(b), MergeOptions{}); !errors.Is(err, ErrBadState) {
			t.Errorf("%q: err = %v", b, err)
		}
	}
}
