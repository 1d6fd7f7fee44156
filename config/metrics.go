package config

import (
	"fmt"
	"time"
)

// Metrics configures the agent's roll-up of events into fragments, sent on
// the fragments stream.
type Metrics struct {
	Window      Duration `yaml:"window"`       // aligned to the wall clock
	LateWindows int      `yaml:"late_windows"` // past windows still accepted
	L2met       bool     `yaml:"l2met"`        // count#, measure#, sample#, unique# keys become metrics
	Rules       []Rule   `yaml:"rules,omitempty"`
}

// Rule derives a metric from events whose fields match.
type Rule struct {
	Name    string            `yaml:"name"`
	Match   map[string]string `yaml:"match,omitempty"` // field equality; "*" = present
	Value   string            `yaml:"value,omitempty"` // numeric field, units parsed (37ms); empty for counter: 1 per event
	Kind    string            `yaml:"kind"`            // counter | measure | sample | unique
	GroupBy []string          `yaml:"group_by,omitempty"`
	Unit    string            `yaml:"unit,omitempty"` // default: the value's own unit
}

func (m *Metrics) validate(ck *checker) {
	if m.Window < Duration(time.Second) || time.Hour%m.Window.D() != 0 {
		ck.addf("metrics.window", "must be ≥ 1s and divide an hour evenly (10s, 1m, …), not %v", m.Window)
	}
	if m.LateWindows < 0 || m.LateWindows > 10000 {
		ck.addf("metrics.late_windows", "must be between 0 and 10000")
	}
	if !m.L2met && len(m.Rules) == 0 {
		ck.addf("metrics", "no metrics: enable l2met or add rules")
	}
	seen := map[string]bool{}
	for i, r := range m.Rules {
		p := fmt.Sprintf("metrics.rules[%d]", i)
		switch {
		case r.Name == "":
			ck.addf(p+".name", "must be set")
		case seen[r.Name]:
			ck.addf(p+".name", "%q is used by an earlier rule", r.Name)
		}
		seen[r.Name] = true
		switch r.Kind {
		case "counter":
		case "measure", "sample", "unique":
			if r.Value == "" {
				ck.addf(p+".value", "a %s needs the field holding its value", r.Kind)
			}
		case "":
			ck.addf(p+".kind", "must be set (counter, measure, sample or unique)")
		default:
			ck.addf(p+".kind", "must be counter, measure, sample or unique, not %q", r.Kind)
		}
		if len(r.GroupBy) > 16 {
			ck.addf(p+".group_by", "at most 16 dimensions")
		}
	}
}
