package postgres

import (
	"bytes"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/protocol"
)

// TestRecords: a payload's snapshots come out alike in every encoding the
// output may find in its buffer.
func TestRecords(t *testing.T) {
	recs := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}
	var w protocol.Writer
	w.Reset(nil)
	for _, r := range recs {
		w.Append(r)
	}
	lines := []byte("{\"a\":1}\n\n{\"b\":2}\n")
	for name, tc := range map[string]struct {
		payload  []byte
		encoding string
	}{
		"lines":      {lines, EncodingLines},
		"pulse none": {w.Bytes(), EncodingPulse},
		"pulse zstd": {protocol.CompressZstd.Compress(nil, w.Bytes()), EncodingPulse},
		"pulse s2":   {protocol.CompressS2.Compress(nil, w.Bytes()), EncodingPulse},
		// A stored pulse batch read after the output's encoding changed.
		"zstd, lines configured": {protocol.Compress(nil, w.Bytes()), EncodingLines},
	} {
		got, err := records(tc.payload, tc.encoding)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != 2 || !bytes.Equal(got[0], recs[0]) || !bytes.Equal(got[1], recs[1]) {
			t.Errorf("%s: %q", name, got)
		}
	}
	if _, err := records([]byte("garbage"), EncodingPulse); err == nil {
		t.Error("garbage decoded as s2")
	}
}

// TestShardKey: only the shard_by dimensions count, in their order, an
// absent one as empty.
func TestShardKey(t *testing.T) {
	s := func(dims ...metrics.Dim) *metrics.Snapshot {
		return &metrics.Snapshot{Name: "n", Kind: metrics.Counter, Dims: dims}
	}
	app := metrics.Dim{Name: "app", Value: "a"}
	dyno := metrics.Dim{Name: "dyno", Value: "web"}
	by := []string{"app"}
	if shardKey(s(app), by) != shardKey(s(app, dyno), by) {
		t.Error("a dimension outside shard_by moved the key")
	}
	other := *s(app)
	other.Name = "other"
	if shardKey(s(app), by) != shardKey(&other, by) {
		t.Error("the metric name moved the key (every metric of an app goes to one shard)")
	}
	if shardKey(s(app), []string{"app", "dyno"}) == shardKey(s(app, dyno), []string{"app", "dyno"}) {
		t.Error("dyno ignored with shard_by [app, dyno]")
	}
	if shardKey(s(app), nil) == shardKey(&other, nil) {
		t.Error("without shard_by, two keys hash alike")
	}
}

// FuzzDecode: whatever a payload holds, decoding it into rows neither
// panics nor yields a row without its values, in either encoding.
func FuzzDecode(f *testing.F) {
	good := metrics.Snapshot{Name: "lat", Kind: metrics.Measure, Unit: "ms", WindowStart: time.Unix(1700000000, 0),
		Window: 10 * time.Second, Count: 2, Sum: 3, Sketch: []byte{0, 1, 0, 0}, Seq: 7,
		Dims: []metrics.Dim{{Name: "app", Value: "a"}}}
	line := good.AppendJSON(nil)
	var w protocol.Writer
	w.Reset(nil)
	w.Append(line)
	f.Add(append(line, '\n'), false)
	f.Add(w.Bytes(), true)
	f.Add(protocol.Compress(nil, w.Bytes()), true)
	f.Add([]byte(`{"name":"x","kind":"counter","window_s":-1}`), false)
	f.Add([]byte(`{"name":"x","kind":"nope"}`), false)
	l := newLayout([]string{"app"})
	f.Fuzz(func(t *testing.T, payload []byte, pulse bool) {
		enc := EncodingLines
		if pulse {
			enc = EncodingPulse
		}
		recs, err := records(payload, enc)
		if err != nil {
			return
		}
		for _, rec := range recs {
			s, err := decodeSnapshot(rec)
			if err != nil {
				continue
			}
			r, err := l.toRow(s, rec)
			if err != nil {
				continue
			}
			if len(r.vals) != len(l.cols) || r.key == "" {
				t.Fatalf("row of %q: %d values, key %q", rec, len(r.vals), r.key)
			}
			_ = shardKey(s, []string{"app"})
		}
	})
}
