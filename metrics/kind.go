package metrics

import "fmt"

// Kind is how observations of a metric combine. The l2met prefixes
// count#, measure#, sample# and unique# map onto it.
type Kind uint8

// Kinds. The numbers are part of the fragment wire format: never renumber.
const (
	// Counter adds up increments; Sum is the counter's total.
	Counter Kind = 1
	// Measure keeps the distribution of values: a quantile sketch as well as
	// count, sum, sum of squares, min and max.
	Measure Kind = 2
	// Sample is a gauge: the value with the latest event time wins.
	Sample Kind = 3
	// Unique counts distinct raw values with a HyperLogLog sketch.
	Unique Kind = 4
)

// String returns the lower-case name used in snapshots and canonical keys.
func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Measure:
		return "measure"
	case Sample:
		return "sample"
	case Unique:
		return "unique"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return k >= Counter && k <= Unique }

// ParseKind accepts the names String returns and the l2met prefixes
// ("count", "measure", "sample", "unique").
func ParseKind(s string) (Kind, error) {
	switch s {
	case "counter", "count":
		return Counter, nil
	case "measure":
		return Measure, nil
	case "sample":
		return Sample, nil
	case "unique":
		return Unique, nil
	}
	return 0, fmt.Errorf("metrics: unknown kind %q", s)
}
