// Package metrics turns observations extracted from events into partial
// roll-ups per time window ("fragments") on the agent, and merges fragments
// from many agents into "snapshots" on the merger.
//
// The flow is: Aggregator.Observe per event (no allocation for a key already
// seen), Aggregator.Flush per tick, each Fragment encoded with
// AppendFragment as one record of the fragments stream; at the merger,
// DecodeFragment, Merger.Add (idempotent by agent and fragment id), and
// Merger.Snapshots per tick, checkpointed with Merger.Save.
//
// Count, sum, sum of squares, min and max merge exactly (sums are exact as
// long as float64 partial sums do not round, e.g. for integer or
// binary-fraction values; otherwise equal up to float64 rounding, which
// depends on order). Quantiles come from a DDSketch with relative accuracy
// 0.01: a reported quantile is within 1% of the exact value at that rank, and
// merging in any order or grouping yields identical sketches. Unique counts
// come from a HyperLogLog sketch of precision 14 (about 0.8% standard error).
package metrics
