package api

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"pulse/metrics"
)

// Steps are the resolutions a series can be asked for: the seed's 1-minute
// and 10-minute roll-ups, and hours for week views.
var Steps = map[string]time.Duration{"1m": time.Minute, "10m": 10 * time.Minute, "1h": time.Hour}

// DefaultRange is the range asked for when from is left out.
const DefaultRange = time.Hour

// maxWhere bounds the where= parameters of one query.
const maxWhere = 16

// dimNameRE is what a dimension in where= and group_by= may be called.
var dimNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,62}$`)

// paramError is a bad query parameter: a 400 naming it, with the reason.
type paramError struct {
	Param, Msg string
}

func (e *paramError) Error() string { return e.Param + ": " + e.Msg }

func badParam(param, format string, args ...any) *paramError {
	return &paramError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// seriesQuery is a checked GET /v1/metrics/{name}.
type seriesQuery struct {
	name     string
	from, to time.Time // aligned to step: to is exclusive
	step     time.Duration
	stepName string
	where    []metrics.Dim
	groupBy  string
}

// limits are the Server's bounds on a query.
type limits struct {
	maxPoints int
	maxRange  time.Duration
}

// parseSeries checks every parameter of a series query, before the store
// is asked anything: a query that passes reads at most maxRange of
// windows, in at most maxPoints steps.
func parseSeries(name string, v url.Values, now time.Time, lim limits) (seriesQuery, *paramError) {
	q := seriesQuery{name: name}
	if name == "" {
		return q, badParam("name", "missing: GET /v1/metrics/{name}")
	}
	for key := range v {
		switch key {
		case "from", "to", "step", "where", "group_by":
		default:
			return q, badParam(key, "unknown parameter (known: from, to, step, where, group_by)")
		}
	}
	q.stepName = v.Get("step")
	if q.stepName == "" {
		q.stepName = "1m"
	}
	var ok bool
	if q.step, ok = Steps[q.stepName]; !ok {
		return q, badParam("step", "%q: want 1m, 10m or 1h", q.stepName)
	}
	to, perr := parseTime("to", v.Get("to"), now, now)
	if perr != nil {
		return q, perr
	}
	from, perr := parseTime("from", v.Get("from"), now, to.Add(-DefaultRange))
	if perr != nil {
		return q, perr
	}
	if !from.Before(to) {
		return q, badParam("from", "%s is not before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if r := to.Sub(from); r > lim.maxRange {
		return q, badParam("from", "the range from–to is %v, more than max_range %v", r, lim.maxRange)
	}
	// Whole steps: from down, to up.
	q.from = from.Truncate(q.step).UTC()
	q.to = to.Truncate(q.step).UTC()
	if q.to.Before(to) {
		q.to = q.to.Add(q.step)
	}
	// The points asked for: the range in steps, rounded up. Aligning may
	// add one step at an edge, which the limit does not count.
	if n := int((to.Sub(from) + q.step - 1) / q.step); n > lim.maxPoints {
		return q, badParam("step", "%s over %v is %d points, more than max_points %d: use a coarser step or a shorter range",
			q.stepName, to.Sub(from), n, lim.maxPoints)
	}
	if len(v["where"]) > maxWhere {
		return q, badParam("where", "%d conditions, at most %d", len(v["where"]), maxWhere)
	}
	for _, w := range v["where"] {
		d, val, ok := strings.Cut(w, ":")
		if !ok || !dimNameRE.MatchString(d) || val == "" {
			return q, badParam("where", "%q: want dim:value (a dimension name of letters, digits, _ . -, and a value)", w)
		}
		q.where = append(q.where, metrics.Dim{Name: d, Value: val})
	}
	metrics.SortDims(q.where)
	if g := v.Get("group_by"); g != "" {
		if len(v["group_by"]) > 1 {
			return q, badParam("group_by", "one dimension only")
		}
		if !dimNameRE.MatchString(g) {
			return q, badParam("group_by", "%q is not a dimension name (letters, digits, _ . -)", g)
		}
		q.groupBy = g
	}
	return q, nil
}

// parseTime reads a from= or to=: RFC 3339, Unix seconds, "now", or a
// duration before now ("-6h"). Empty is def.
func parseTime(param, s string, now, def time.Time) (time.Time, *paramError) {
	switch {
	case s == "":
		return def, nil
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d <= 0 {
			return time.Time{}, badParam(param, "%q: a relative time is a duration before now, e.g. -6h", s)
		}
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs < 0 || secs > 1<<40 {
			return time.Time{}, badParam(param, "%q: Unix seconds out of range", s)
		}
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badParam(param, "%q: want RFC 3339 (2006-01-02T15:04:05Z), Unix seconds, now or -DURATION", s)
	}
	return t.UTC(), nil
}
