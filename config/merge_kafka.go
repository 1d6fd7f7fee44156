package config

import "fmt"

// validateKafkaMerger checks a merger whose input is a kafka one: a
// member of a consumer group merges what its partitions hold and commits
// them itself (merger.Group), so the kafka input is its only input, in
// the pulse format (fragments, one per record).
func (c *Config) validateKafkaMerger(ck *checker) {
	kafka := -1
	for i, in := range c.Inputs {
		if in.Type == InputKafka {
			kafka = i
		}
	}
	if c.Merge == nil || kafka < 0 {
		return
	}
	if len(c.Inputs) > 1 {
		ck.addf("inputs", "a merger with a kafka input takes its fragments from that input alone (it commits them past the windows it emitted): %d inputs", len(c.Inputs))
	}
	if f := c.Inputs[kafka].Format; f != FormatPulse {
		ck.addf(fmt.Sprintf("inputs[%d].format", kafka), "a merger's kafka input takes fragments: pulse, not %q", f)
	}
}
