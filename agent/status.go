package agent

import "pulse/admin"

// Ready is closed once every input runs (HTTP inputs are listening): the
// moment to tell systemd READY=1.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// logSummary logs what each output took in, delivered, dropped and still
// holds: the numbers an operator checks after a run.
func (a *Agent) logSummary() {
	rs := a.router.Stats()
	for i := range a.queues {
		s := a.bufferStats(i)
		var o admin.OutputStatus
		a.outStats[i](&o)
		var shared []any
		if n, ok := a.spilled(i); ok {
			shared = []any{"spilled_batches", n}
		}
		a.log.Info("output summary", append([]any{
			"output", rs[i].Name,
			"events_in", rs[i].Events,
			"delivered_events", o.Events,
			"dropped_oldest_events", s.DroppedOldestEvents,
			"dropped_newest_events", s.DroppedNewestEvents,
			"undelivered_events", s.Events + s.InFlightEvents,
			"lost_events", s.LostEvents,
			"replayed_events", s.ReplayedEvents,
			"buffer_bytes", s.Bytes,
		}, shared...)...)
	}
}

// Status is the agent's picture now, for the admin endpoint.
func (a *Agent) Status() admin.Status {
	st := admin.Status{ID: a.cfg.ID, Version: a.version, Started: a.started}
	for _, f := range a.inStats {
		in := f()
		for reason, n := range a.router.ParseErrors(in.Name) {
			if in.Errors == nil {
				in.Errors = map[string]int64{}
			}
			in.Errors["parse_"+reason] = n
		}
		st.Inputs = append(st.Inputs, in)
	}
	rs := a.router.Stats()
	for i, oc := range a.cfg.Outputs {
		q := a.bufferStats(i)
		o := admin.OutputStatus{
			Name: oc.Name, Type: oc.Type, Stream: oc.Stream,
			EventsIn: rs[i].Events, BytesIn: rs[i].Bytes,
			Buffer: admin.BufferStatus{
				Batches: q.Batches, Events: q.Events, Bytes: q.Bytes, MaxBytes: q.MaxBytes, InFlight: q.InFlight,
				Dropped:  map[string]int64{"oldest": q.DroppedOldestEvents, "newest": q.DroppedNewestEvents, "corrupt": q.LostEvents},
				Replayed: q.ReplayedEvents, BadSegments: q.BadSegments, BadBytes: q.BadBytes,
				CorruptBatches: q.CorruptBatches, TornWrites: q.TornWrites, DiskFullWaits: q.DiskFullWaits,
			},
		}
		o.Buffer.Spilled, o.Buffer.Shared = a.spilled(i)
		a.outStats[i](&o)
		st.Outputs = append(st.Outputs, o)
	}
	if a.merge != nil {
		m := a.merge.Stats()
		st.Merger = &admin.MergerStatus{FragmentsIn: int64(m.Fragments), Duplicates: int64(m.Duplicates), TooLate: int64(m.TooLate), SnapshotsOut: int64(m.Snapshots), Keys: m.Keys}
	}
	if a.group != nil {
		st.Merger = groupStatus(a.group) // build_merger.go
	}
	if a.aggregate != nil {
		m := a.aggregate.Stats()
		st.Metrics = &admin.MetricsStatus{ActiveKeys: m.ActiveKeys, Observed: m.Observed, DroppedLate: m.DroppedLate, FragmentsOut: m.FragmentsOut}
	}
	return st
}
