package parse

import "bytes"

// MetricKind is an l2met metric type.
type MetricKind uint8

// l2met metric kinds, from the key prefix.
const (
	MetricCount   MetricKind = iota + 1 // count#name=N: add N (1 if no value)
	MetricMeasure                       // measure#name=V: a distribution
	MetricSample                        // sample#name=V: the latest value
	MetricUnique                        // unique#name=V: count distinct V
)

func (k MetricKind) String() string {
	switch k {
	case MetricCount:
		return "count"
	case MetricMeasure:
		return "measure"
	case MetricSample:
		return "sample"
	case MetricUnique:
		return "unique"
	}
	return "invalid"
}

// Metric is one l2met metric of a log line. Byte fields alias the line.
type Metric struct {
	Kind  MetricKind
	Name  []byte  // after the '#': "db.query" in measure#db.query=12ms
	Value float64 // the number (a unique's is 0 unless its value is a number)
	Unit  []byte  // "ms" in 12ms, empty for a bare number (see Seconds, Bytes)

	// Raw is the value as written (unquoted): what a unique counts.
	Raw []byte

	// Source is the line's source= value (the last, if several), nil if
	// it has none.
	Source []byte
}

// L2met calls fn with each l2met metric in the logfmt line, in order, until
// fn returns false:
//
//	source=web.1 count#api.requests=1 measure#db.query=12.5ms sample#queue.depth=42 unique#user=alice
//
// A count without a value ("count#hits") counts 1. It returns how many
// l2met keys were malformed and skipped: an empty name, or a count,
// measure or sample whose value is not a quantity.
func L2met(line []byte, fn func(m Metric) bool) (bad int) {
	if bytes.IndexByte(line, '#') < 0 {
		return 0
	}
	source, _ := LogfmtValue(line, "source")
	var s LogfmtScanner
	s.Reset(line)
	for s.Next() {
		key := s.Key()
		kind, name := metricKey(key)
		if kind == 0 {
			continue
		}
		m := Metric{Kind: kind, Name: name, Raw: s.Value(), Source: source}
		ok := len(name) > 0
		switch {
		case !ok:
		case kind == MetricUnique:
			m.Value, m.Unit, _ = Quantity(m.Raw)
		case kind == MetricCount && len(m.Raw) == 0:
			m.Value = 1
		default:
			m.Value, m.Unit, ok = Quantity(m.Raw)
		}
		if !ok {
			bad++
			continue
		}
		if !fn(m) {
			return bad
		}
	}
	return bad
}

// metricKey splits an l2met key into its kind and name.
func metricKey(key []byte) (MetricKind, []byte) {
	i := bytes.IndexByte(key, '#')
	if i < 0 {
		return 0, nil
	}
	var k MetricKind
	switch string(key[:i]) {
	case "count":
		k = MetricCount
	case "measure":
		k = MetricMeasure
	case "sample":
		k = MetricSample
	case "unique":
		k = MetricUnique
	default:
		return 0, nil
	}
	return k, key[i+1:]
}
