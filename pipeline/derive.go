package pipeline

import (
	"fmt"
	"math"
	"time"

	"pulse/metrics"
	"pulse/pipeline/parse"
)

// Rule derives a metric from events whose logfmt fields match.
type Rule struct {
	Name    string
	Match   map[string]string // field equality; "*" = present
	Value   string            // numeric field, units parsed; empty: 1 per event
	Kind    metrics.Kind
	GroupBy []string
	Unit    string // default: the value's own (durations become ms)
}

// MetricsOptions configures the roll-up of events into fragments.
type MetricsOptions struct {
	Aggregator *metrics.Aggregator
	L2met      bool // count#, measure#, sample#, unique# keys
	Rules      []Rule
}

// deriver turns events into observations for the aggregator.
type deriver struct {
	opts MetricsOptions
}

func newDeriver(opts MetricsOptions) (*deriver, error) {
	if opts.Aggregator == nil {
		return nil, fmt.Errorf("metrics: no aggregator")
	}
	for _, r := range opts.Rules {
		if !r.Kind.Valid() {
			return nil, fmt.Errorf("metrics rule %s: invalid kind", r.Name)
		}
	}
	return &deriver{opts: opts}, nil
}

// observe derives every metric of one event. The event's own leading
// RFC 3339 timestamp picks its window; else the time of receipt. It
// returns the latest window the event counted in, if any.
func (d *deriver) observe(ev []byte, received time.Time) (window int64, ok bool) {
	t := eventTime(ev, received)
	agg := d.opts.Aggregator
	window = math.MinInt64
	note := func(w int64, observed bool) {
		if observed {
			window, ok = max(window, w), true
		}
	}
	if d.opts.L2met {
		parse.L2met(ev, func(m parse.Metric) bool {
			key := metrics.Key{Name: string(m.Name), Kind: l2metKind(m.Kind)}
			value, unit := normalise(m.Value, m.Unit)
			key.Unit = unit
			if m.Source != nil {
				key.Dims = []metrics.Dim{{Name: "source", Value: string(m.Source)}}
			}
			note(agg.Observe(key, value, t, m.Raw))
			return true
		})
	}
	for i := range d.opts.Rules {
		note(d.apply(&d.opts.Rules[i], ev, t))
	}
	return window, ok
}

func (d *deriver) apply(r *Rule, ev []byte, t time.Time) (window int64, ok bool) {
	for field, want := range r.Match {
		v, ok := parse.LogfmtValue(ev, field)
		if !ok || (want != "*" && string(v) != want) {
			return 0, false
		}
	}
	value, unit, raw := 1.0, r.Unit, []byte(nil)
	if r.Value != "" {
		v, ok := parse.LogfmtValue(ev, r.Value)
		if !ok {
			return 0, false
		}
		raw = v
		if r.Kind != metrics.Unique {
			q, u, ok := parse.Quantity(v)
			if !ok {
				return 0, false
			}
			q, nu := normalise(q, u)
			value = q
			if unit == "" {
				unit = nu
			}
		}
	}
	key := metrics.Key{Name: r.Name, Kind: r.Kind, Unit: unit}
	if len(r.GroupBy) > 0 {
		key.Dims = make([]metrics.Dim, 0, len(r.GroupBy))
		for _, g := range r.GroupBy {
			v, _ := parse.LogfmtValue(ev, g)
			key.Dims = append(key.Dims, metrics.Dim{Name: g, Value: string(v)})
		}
	}
	return d.opts.Aggregator.Observe(key, value, t, raw)
}

// eventTime is the time an event carries: a leading RFC 3339 timestamp
// (the heroku logs shape), or a syslog header's (syslog, Logplex frames);
// else the time of receipt.
func eventTime(ev []byte, received time.Time) time.Time {
	if t, _, ok := parse.LeadingTime(ev); ok {
		return t
	}
	if len(ev) > 0 && ev[0] == '<' {
		var m parse.Syslog
		var err error
		switch parse.Detect(ev) {
		case parse.FormatRFC5424:
			m, err = parse.RFC5424(ev)
		case parse.FormatRFC3164:
			m, err = parse.RFC3164(ev, received)
		default:
			return received
		}
		if err == nil && !m.Timestamp.IsZero() {
			return m.Timestamp
		}
	}
	return received
}

// normalise turns durations into milliseconds, so 1s and 1000ms meet in
// one metric; other units stay as written.
func normalise(v float64, unit []byte) (float64, string) {
	if string(unit) == "ms" { // as written: via seconds, 329.4 would become 329.40000000000003
		return v, "ms"
	}
	if s, ok := parse.Seconds(v, unit); ok && len(unit) > 0 {
		return s * 1000, "ms"
	}
	return v, string(unit)
}

func l2metKind(k parse.MetricKind) metrics.Kind {
	switch k {
	case parse.MetricMeasure:
		return metrics.Measure
	case parse.MetricSample:
		return metrics.Sample
	case parse.MetricUnique:
		return metrics.Unique
	}
	return metrics.Counter
}
