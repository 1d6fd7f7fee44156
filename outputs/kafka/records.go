package kafka

import (
	"bytes"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/metrics"
	"pulse/parse"
	"pulse/protocol"
)

// maxDecompressed bounds a zstd-compressed payload once decompressed: more
// than any batch (config.MaxBatchBytes) can hold.
const maxDecompressed = 1 << 30

// EachRecord calls fn with every record of a stored batch payload, in
// order; records alias payload (or its decompressed copy). A payload
// starting with protocol.Magic is pulse-framed; one starting with a zstd
// frame is pulse-framed and compressed; any other is lines (NDJSON
// objects, JSON snapshots), split on '\n' with empty lines skipped. S2
// cannot be told from lines: the agent never stores a kafka output's
// batches with it.
func EachRecord(payload []byte, fn func(rec []byte)) error {
	switch {
	case bytes.HasPrefix(payload, []byte(protocol.Magic)):
		return protocol.Each(payload, protocol.Limits{}, func(rec []byte) error { fn(rec); return nil })
	case bytes.HasPrefix(payload, []byte(protocol.ZstdMagic)):
		body, err := protocol.Decompress(nil, payload, maxDecompressed)
		if err != nil {
			return err
		}
		return protocol.Each(body, protocol.Limits{}, func(rec []byte) error { fn(rec); return nil })
	}
	for len(payload) > 0 {
		line, rest, _ := bytes.Cut(payload, []byte{'\n'})
		payload = rest
		if len(line) > 0 {
			fn(line)
		}
	}
	return nil
}

// newlineFramed reports whether payload holds lines (see EachRecord).
func newlineFramed(payload []byte) bool {
	return !bytes.HasPrefix(payload, []byte(protocol.Magic)) && !bytes.HasPrefix(payload, []byte(protocol.ZstdMagic))
}

// kafkaRecords turns a batch payload into one Kafka record each, with its topic
// and key. Values and most keys alias payload, which outlives the records.
func (k *Kafka) kafkaRecords(payload []byte, events int) ([]*kgo.Record, error) {
	store := make([]kgo.Record, 0, events)
	ndjson := newlineFramed(payload) && k.opts.Stream == protocol.StreamEvents
	var scratch []byte
	err := EachRecord(payload, func(rec []byte) {
		v := view{rec: rec, stream: k.opts.Stream, ndjson: ndjson}
		var topic string
		var defaulted bool
		topic, defaulted, scratch = k.topic.render(v.field, scratch)
		if defaulted {
			k.defaultTopic.Add(1)
		}
		key := v.key(k.opts.Key)
		if v.fragErr != nil {
			k.logBad(v.fragErr)
		}
		store = append(store, kgo.Record{Topic: topic, Key: key, Value: rec})
	})
	if err != nil {
		return nil, fmt.Errorf("batch payload: %w", err)
	}
	recs := make([]*kgo.Record, len(store))
	for i := range store {
		recs[i] = &store[i]
	}
	return recs, nil
}

// view is one record being given its topic and key: it looks fields up in
// the record as its stream says, decoding a fragment at most once.
type view struct {
	rec     []byte
	stream  protocol.Stream
	ndjson  bool // an event wrapped in an NDJSON object (the ndjson encoding)
	frag    *metrics.Fragment
	fragErr error
}

// field returns the value of a field of the record, and whether it has it.
func (v *view) field(name string) ([]byte, bool) {
	switch v.stream {
	case protocol.StreamFragments:
		f := v.fragment()
		if f == nil {
			return nil, false
		}
		for _, d := range f.Dims {
			if d.Name == name {
				return []byte(d.Value), true
			}
		}
		return nil, false
	case protocol.StreamSnapshots:
		return jsonValue(v.rec, name)
	}
	if v.ndjson {
		if val, ok := jsonValue(v.rec, name); ok {
			return val, true
		}
		msg, ok := jsonValue(v.rec, "message")
		if !ok {
			return nil, false
		}
		return eventField(msg, name)
	}
	return eventField(v.rec, name)
}

// key returns the record's key: the value of field, or for a fragment
// without it, its metric key in canonical form.
func (v *view) key(field string) []byte {
	if field != "" {
		if val, ok := v.field(field); ok {
			return val
		}
	}
	if v.stream == protocol.StreamFragments {
		if f := v.fragment(); f != nil {
			return f.Key.AppendCanonical(nil)
		}
	}
	if v.stream == protocol.StreamSnapshots {
		return snapshotKey(v.rec) // metric key + window: one per key and window on a compacted topic
	}
	return nil
}

func (v *view) fragment() *metrics.Fragment {
	if v.frag == nil && v.fragErr == nil {
		v.frag, v.fragErr = metrics.DecodeFragment(v.rec)
	}
	return v.frag
}

// eventField looks name up in a raw event: a JSON field (dotted path) of a
// JSON object, else a logfmt key.
func eventField(ev []byte, name string) ([]byte, bool) {
	if t := bytes.TrimLeft(ev, " \t"); len(t) > 0 && t[0] == '{' {
		return jsonValue(t, name)
	}
	val, ok := parse.LogfmtValue(ev, name)
	if ok && bytes.IndexByte(val, '\\') >= 0 {
		val = parse.Unquote(nil, val)
	}
	return val, ok
}

// jsonValue returns a JSON field's value: a string unquoted (aliasing doc
// when it holds no escape), a number or boolean as written; null is
// missing.
func jsonValue(doc []byte, path string) ([]byte, bool) {
	raw, kind, ok := parse.JSONField(doc, path)
	switch {
	case !ok || kind == parse.KindNull:
		return nil, false
	case kind != parse.KindString:
		return raw, true
	case bytes.IndexByte(raw, '\\') < 0:
		return raw[1 : len(raw)-1], true
	}
	return parse.JSONUnquote(nil, raw)
}
