package config

import (
	"time"
)

// Merge configures a merger.
type Merge struct {
	Interval      Duration `yaml:"interval"`       // how often snapshots are emitted
	FinalizeAfter Duration `yaml:"finalize_after"` // how long a window stays open after its end
}

func (m *Merge) validate(ck *checker) {
	if m.Interval < Duration(10*time.Millisecond) {
		ck.addf("merge.interval", "must be ≥ 10ms")
	}
	if m.FinalizeAfter < m.Interval {
		ck.addf("merge.finalize_after", "must be ≥ merge.interval")
	}
}
