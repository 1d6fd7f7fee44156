package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// metricsList is GET /v1/metrics.
type metricsList struct {
	Metrics []Metric `json:"metrics"`
	// From and To are the range held over every metric.
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
	// Steps, MaxPoints and MaxRange are the limits a series query meets.
	Steps     []string `json:"steps"`
	MaxPoints int      `json:"max_points"`
	MaxRangeS float64  `json:"max_range_s"`
}

func (s *Server) listMetrics(w http.ResponseWriter, r *http.Request) {
	ms, err := s.metrics(r.Context(), false)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := metricsList{Metrics: ms, Steps: []string{"1m", "10m", "1h"}, MaxPoints: s.opts.MaxPoints, MaxRangeS: s.opts.MaxRange.Seconds()}
	for _, m := range ms {
		if out.From == nil || m.From.Before(*out.From) {
			out.From = &m.From
		}
		if out.To == nil || m.To.After(*out.To) {
			out.To = &m.To
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// metrics returns the store's catalog, from the last look if it is recent
// and fresh is false.
func (s *Server) metrics(ctx context.Context, fresh bool) ([]Metric, error) {
	s.mu.Lock()
	ms, at := s.catalog, s.catalogAt
	s.mu.Unlock()
	now := s.opts.Now()
	if ms != nil && !fresh && now.Sub(at) < catalogTTL {
		return ms, nil
	}
	ms, err := s.opts.Store.Metrics(ctx)
	if err != nil {
		return nil, err
	}
	if ms == nil {
		ms = []Metric{}
	}
	s.mu.Lock()
	s.catalog, s.catalogAt = ms, now
	s.mu.Unlock()
	return ms, nil
}

// seriesAnswer is GET /v1/metrics/{name}.
type seriesAnswer struct {
	Name    string            `json:"name"`
	From    time.Time         `json:"from"` // aligned to step
	To      time.Time         `json:"to"`   // exclusive
	Step    string            `json:"step"`
	StepS   float64           `json:"step_s"`
	Where   map[string]string `json:"where,omitempty"`
	GroupBy string            `json:"group_by,omitempty"`
	// WindowS are the lengths of the stored windows merged, in seconds.
	WindowS []float64 `json:"window_s"`
	// Windows counts the stored windows merged; Skipped those left out
	// (older copies, or a second roll-up length of a key); Bad those whose
	// sketch did not decode.
	Windows int      `json:"windows"`
	Skipped int      `json:"skipped,omitempty"`
	Bad     int      `json:"bad,omitempty"`
	Series  []Series `json:"series"`
}

func (s *Server) series(w http.ResponseWriter, r *http.Request) {
	q, perr := parseSeries(r.PathValue("name"), r.URL.Query(), s.opts.Now(), limits{maxPoints: s.opts.MaxPoints, maxRange: s.opts.MaxRange})
	if perr != nil {
		writeError(w, http.StatusBadRequest, perr.Param, perr.Error())
		return
	}
	ws, err := s.opts.Store.Windows(r.Context(), Query{
		Name: q.name, From: q.from, To: q.to, MaxLen: q.step, Where: q.where, Limit: s.opts.MaxRows,
	})
	if errors.Is(err, ErrTooManyWindows) {
		writeError(w, http.StatusBadRequest, "from", fmt.Sprintf(
			"the query matches more than max_rows (%d) stored windows: shorten the range or add where", s.opts.MaxRows))
		return
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if len(ws) == 0 {
		known, err := s.known(r.Context(), q.name)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		if !known {
			writeError(w, http.StatusNotFound, "name", fmt.Sprintf("unknown metric %q: GET /v1/metrics lists them", q.name))
			return
		}
	}
	ro, err := rollup(ws, q.step, q.groupBy, s.opts.MaxSeries)
	if err != nil {
		writeError(w, http.StatusBadRequest, "group_by", fmt.Sprintf("%q has more than max_series (%d) values in the range: add where", q.groupBy, s.opts.MaxSeries))
		return
	}
	out := seriesAnswer{
		Name: q.name, From: q.from, To: q.to, Step: q.stepName, StepS: q.step.Seconds(), GroupBy: q.groupBy,
		WindowS: []float64{}, Windows: ro.used, Skipped: ro.skipped, Bad: ro.bad, Series: ro.series,
	}
	if out.Series == nil {
		out.Series = []Series{}
	}
	for _, l := range ro.lens {
		out.WindowS = append(out.WindowS, l.Seconds())
	}
	if len(q.where) > 0 {
		out.Where = map[string]string{}
		for _, d := range q.where {
			out.Where[d.Name] = d.Value
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// known reports whether the store holds name at all, looking again if the
// last look did not see it (a metric may be new).
func (s *Server) known(ctx context.Context, name string) (bool, error) {
	for _, fresh := range []bool{false, true} {
		ms, err := s.metrics(ctx, fresh)
		if err != nil {
			return false, err
		}
		if slices.ContainsFunc(ms, func(m Metric) bool { return m.Name == name }) {
			return true, nil
		}
	}
	return false, nil
}
