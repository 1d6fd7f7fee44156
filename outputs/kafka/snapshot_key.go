package kafka

import (
	"strconv"
	"time"

	"pulse/metrics"
)

// snapshotKey returns a snapshot record's default key: its metric key in
// canonical form (metrics.Key.AppendCanonical), '@', its window's start
// (RFC 3339, UTC) and '/', the window's length in seconds. One key per key
// and window: on a compacted topic (cleanup.policy=compact) what stays of
// a key and window is its latest snapshot, the one a consumer wants. The
// same key always hashes to the same partition, so a key and window's
// snapshots stay in the order the mergers produced them. Nil if rec is
// not a snapshot (the record goes without a key).
func snapshotKey(rec []byte) []byte {
	var s metrics.Snapshot
	if err := s.UnmarshalJSON(rec); err != nil || s.Name == "" {
		return nil
	}
	k := metrics.Key{Name: s.Name, Kind: s.Kind, Unit: s.Unit, Dims: s.Dims}
	key := k.AppendCanonical(make([]byte, 0, 96))
	key = append(key, '@')
	key = s.WindowStart.UTC().AppendFormat(key, time.RFC3339Nano)
	key = append(key, '/')
	key = strconv.AppendFloat(key, s.Window.Seconds(), 'f', -1, 64)
	return key
}
