package pipeline

import (
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"pulse/metrics"
	"pulse/parse"
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

// scratch is one caller's working memory for observe: the event's logfmt
// fields, scanned once for every rule, and the dimensions of a key. Its
// strings alias the event (the aggregator copies a key it keeps), so an
// observation costs no allocation.
type scratch struct {
	keys, vals [][]byte
	dims       []metrics.Dim
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// scan indexes ev's logfmt fields.
func (sc *scratch) scan(ev []byte) {
	sc.keys, sc.vals = sc.keys[:0], sc.vals[:0]
	var s parse.LogfmtScanner
	s.Reset(ev)
	for s.Next() {
		sc.keys = append(sc.keys, s.Key())
		sc.vals = append(sc.vals, s.Value())
	}
}

// value is parse.LogfmtValue on the scanned fields: the last one of key.
func (sc *scratch) value(key string) ([]byte, bool) {
	for i := len(sc.keys) - 1; i >= 0; i-- {
		if string(sc.keys[i]) == key {
			return sc.vals[i], true
		}
	}
	return nil, false
}

// alias is b as a string without a copy: valid while b is.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// observeAll derives the metrics of a batch's events. It returns the
// latest window any of them counted in, if any did.
func (d *deriver) observeAll(evs [][]byte, received time.Time) (latest int64, observed bool) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	latest = math.MinInt64
	for _, ev := range evs {
		if w, ok := d.observe(sc, ev, received); ok {
			latest, observed = max(latest, w), true
		}
	}
	return latest, observed
}

// observe derives every metric of one event. The event's own leading
// RFC 3339 timestamp picks its window; else the time of receipt. It
// returns the latest window the event counted in, if any.
func (d *deriver) observe(sc *scratch, ev []byte, received time.Time) (window int64, ok bool) {
	t := eventTime(ev, received)
	agg := d.opts.Aggregator
	window = math.MinInt64
	if d.opts.L2met {
		parse.L2met(ev, func(m parse.Metric) bool {
			key := metrics.Key{Name: alias(m.Name), Kind: l2metKind(m.Kind)}
			value, unit := normalise(m.Value, m.Unit)
			key.Unit = unit
			if m.Source != nil {
				sc.dims = append(sc.dims[:0], metrics.Dim{Name: "source", Value: alias(m.Source)})
				key.Dims = sc.dims
			}
			if w, observed := agg.Observe(key, value, t, m.Raw); observed {
				window, ok = max(window, w), true
			}
			return true
		})
	}
	if len(d.opts.Rules) == 0 {
		return window, ok
	}
	sc.scan(ev)
	for i := range d.opts.Rules {
		if w, observed := d.apply(sc, &d.opts.Rules[i], t); observed {
			window, ok = max(window, w), true
		}
	}
	return window, ok
}

func (d *deriver) apply(sc *scratch, r *Rule, t time.Time) (window int64, ok bool) {
	for field, want := range r.Match {
		v, ok := sc.value(field)
		if !ok || (want != "*" && string(v) != want) {
			return 0, false
		}
	}
	value, unit, raw := 1.0, r.Unit, []byte(nil)
	if r.Value != "" {
		v, ok := sc.value(r.Value)
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
		sc.dims = sc.dims[:0]
		for _, g := range r.GroupBy {
			v, _ := sc.value(g)
			sc.dims = append(sc.dims, metrics.Dim{Name: g, Value: alias(v)})
		}
		key.Dims = sc.dims
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
