//go:build race

package sink

// raceEnabled: the race detector makes sync.Pool drop items at random (the
// zstd decoders are pooled), so allocation counts do not hold under it.
const raceEnabled = true
