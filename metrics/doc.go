// Package metrics turns observations extracted from events into partial
// roll-ups per key and time window ("fragments") on the agent, and merges
// fragments from many agents into "snapshots" on the merger.
//
// On the agent: Aggregator.Observe per observation (no allocation for a key
// already seen), Aggregator.Flush on a ticker, each Fragment encoded with
// AppendFragment as one record of the fragments stream, routed by
// Fragment.Key.Hash() (FNV-1a of the canonical key, stable across
// processes) so that a key's fragments meet at one merger. Fragment ids
// come from a FileIDs, unique per agent across kill -9.
//
// On the merger: DecodeFragment per record, Merger.Add (idempotent: an
// agent's fragment id is merged once per key and window), Merger.Save to a
// checkpoint before acknowledging the input batch, LoadMerger at start, and
// Merger.Snapshots on a ticker, whose JSON goes to the snapshots stream.
//
// Count, sum, sum of squares, min and max merge exactly (sums are exact as
// long as float64 partial sums do not round, e.g. for integer or
// binary-fraction values; otherwise equal up to float64 rounding, which
// depends on order). Quantiles come from a DDSketch with relative accuracy
// 0.01: a reported quantile is within 1% of the exact value at its rank,
// and merging in any order or grouping yields identical sketches. Unique
// counts come from a HyperLogLog sketch of precision 14 (about 0.8%
// standard error; exact in practice for small sets).
package metrics
