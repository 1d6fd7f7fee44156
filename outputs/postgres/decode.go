package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"pulse/metrics"
	"pulse/protocol"
)

// maxPayload bounds a batch's snapshots once decompressed (the config's
// largest batch).
const maxPayload = 256 << 20

// Encodings a batch's payload may be in: the snapshot output's encoding.
const (
	EncodingLines = "lines" // one snapshot JSON object a line (ndjson is the same for snapshots)
	EncodingPulse = "pulse" // length-framed records, compressed by zstd, s2 or not
)

// records splits a payload into its snapshot records. A pulse payload
// tells its own compression; a payload that does not start as one is
// lines, unless the output is configured for pulse (then it is s2).
func records(payload []byte, encoding string) ([][]byte, error) {
	body := payload
	switch {
	case bytes.HasPrefix(payload, []byte(protocol.ZstdMagic)):
		b, err := protocol.Decompress(nil, payload, maxPayload)
		if err != nil {
			return nil, err
		}
		body = b
	case bytes.HasPrefix(payload, []byte(protocol.Magic)):
	case encoding == EncodingPulse:
		b, err := protocol.DecompressS2(nil, payload, maxPayload)
		if err != nil {
			return nil, err
		}
		body = b
	default:
		var out [][]byte
		for line := range bytes.SplitSeq(payload, []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) > 0 {
				out = append(out, line)
			}
		}
		return out, nil
	}
	var out [][]byte
	err := protocol.Each(body, protocol.Limits{}, func(rec []byte) error {
		out = append(out, rec)
		return nil
	})
	return out, err
}

// decodeSnapshot parses one record of the snapshots stream.
func decodeSnapshot(rec []byte) (*metrics.Snapshot, error) {
	var s metrics.Snapshot
	if err := json.Unmarshal(rec, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	return &s, nil
}

// shardKey is what places a snapshot on the ring: the values of the
// ShardBy dimensions (an absent one counts as empty), or without ShardBy
// the whole metric key.
func shardKey(s *metrics.Snapshot, shardBy []string) uint64 {
	if len(shardBy) == 0 {
		return metrics.Key{Name: s.Name, Unit: s.Unit, Kind: s.Kind, Dims: s.Dims}.Hash()
	}
	h := fnv.New64a()
	for _, name := range shardBy {
		v := ""
		for _, d := range s.Dims {
			if d.Name == name {
				v = d.Value
				break
			}
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
