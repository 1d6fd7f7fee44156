package demo

// Drain is how a cluster that came back caught up with its backlog: the
// seed's "a 10-minute backlog drained at ≥ 3× the live rate".
type Drain struct {
	Cluster string `json:"cluster"`
	// Backlog is what the cluster's buffer held when its nodes came back.
	Backlog      int64 `json:"backlog_events"`
	BacklogBytes int64 `json:"backlog_bytes"`
	// LiveEventsPS is the input rate while the cluster was down.
	LiveEventsPS float64 `json:"live_events_per_second"`
	// DrainSeconds runs from the nodes' return to the first sample with
	// the buffer down to at most a second of live input; DrainEventsPS is
	// what the cluster received per second meanwhile (backlog and live).
	DrainSeconds  float64 `json:"drain_seconds"`
	DrainEventsPS float64 `json:"drain_events_per_second"`
	Ratio         float64 `json:"drain_to_live_ratio"`
}

// drainOf measures the drain of down's cluster from the samples, or
// returns nil if the cluster never came back or never caught up.
func drainOf(series []Sample, down *downSpec) *Drain {
	if down == nil || down.to == 0 {
		return nil
	}
	from, to := down.from.Seconds(), down.to.Seconds()
	var start, back *Sample
	for i := range series {
		s := &series[i]
		switch {
		case start == nil && s.T >= from:
			start = s
		case back == nil && s.T >= to:
			back = s
		}
	}
	if start == nil || back == nil || back.T <= start.T {
		return nil
	}
	live := float64(back.InputEvents-start.InputEvents) / (back.T - start.T)
	c := down.cluster
	d := &Drain{Cluster: c, Backlog: back.BufferEvents[c], BacklogBytes: back.BufferBytes[c], LiveEventsPS: live}
	for i := range series {
		s := &series[i]
		if s.T <= back.T || float64(s.BufferEvents[c]) > max(live, 1) {
			continue
		}
		d.DrainSeconds = s.T - back.T
		d.DrainEventsPS = float64(s.Delivered[c]-back.Delivered[c]) / d.DrainSeconds
		if live > 0 {
			d.Ratio = d.DrainEventsPS / live
		}
		return d
	}
	return nil
}
