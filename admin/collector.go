package admin

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector turns a Status into Prometheus samples at scrape time.
type collector struct {
	status func() Status
}

// Describe sends nothing: the collector is unchecked, its series follow
// the configuration.
func (c collector) Describe(chan<- *prometheus.Desc) {}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("pulse_"+name, help, labels, nil)
}

var (
	dInEvents     = desc("input_events_total", "Events read by an input.", "input", "type")
	dInBytes      = desc("input_bytes_total", "Event bytes read by an input.", "input", "type")
	dInRejected   = desc("input_rejected_total", "Requests an input refused, by reason.", "input", "reason")
	dInErrors     = desc("input_errors_total", "Input read and parse errors, by reason.", "input", "reason")
	dOutEventsIn  = desc("output_events_in_total", "Events handed to an output's batches.", "output", "stream")
	dOutBytesIn   = desc("output_bytes_in_total", "Encoded bytes stored in an output's buffer.", "output", "stream")
	dOutBatches   = desc("output_batches_total", "Batches delivered and acknowledged.", "output")
	dOutEvents    = desc("output_events_total", "Events delivered.", "output")
	dOutBytes     = desc("output_bytes_total", "Payload bytes delivered.", "output")
	dOutRetries   = desc("output_retries_total", "Delivery attempts that repeated a failed one.", "output")
	dOutFailures  = desc("output_failures_total", "Failed delivery attempts.", "output")
	dOutErrors    = desc("output_errors_total", "Failed delivery attempts, by reason, where the output tells them apart.", "output", "reason")
	dOutDead      = desc("output_dead_letter_events_total", "Events set aside as rejected for good.", "output")
	dBufBatches   = desc("buffer_batches", "Batches queued in an output's buffer.", "output")
	dBufEvents    = desc("buffer_events", "Events queued in an output's buffer.", "output")
	dBufBytes     = desc("buffer_bytes", "Bytes held by an output's buffer, counted against its cap.", "output")
	dBufCap       = desc("buffer_max_bytes", "An output buffer's cap.", "output")
	dBufInFlight  = desc("buffer_in_flight_batches", "Batches handed to the output and not yet acknowledged.", "output")
	dBufDropped   = desc("buffer_dropped_events_total", "Events dropped by an output's buffer, by reason.", "output", "reason")
	dBufReplayed  = desc("buffer_replayed_events_total", "Events handed out again after a restart.", "output")
	dBufBad       = desc("buffer_bad_segments", "Corrupt segment files (.bad) in an output's buffer now, not yet reviewed.", "output")
	dBufBadBytes  = desc("buffer_bad_bytes", "Bytes in an output's .bad files, counted against its cap.", "output")
	dBufCorrupt   = desc("buffer_corrupt_batches_total", "Batches an output's buffer lost to corruption.", "output")
	dBufTorn      = desc("buffer_torn_writes_total", "Interrupted writes (a crash during a write, never acknowledged) truncated at start: not a loss.", "output")
	dBufDiskFull  = desc("buffer_disk_full_waits_total", "Writes to an output's buffer the disk refused for want of room (ENOSPC, EDQUOT) and retried after a wait: backpressure, not a loss.", "output")
	dBufSpilled   = desc("buffer_spilled_batches_total", "Batches an output sharing a buffer fell behind on, copied into its own buffer.", "output")
	dNodeUp       = desc("node_up", "1 when a cluster node takes batches.", "output", "endpoint")
	dNodeInFlight = desc("node_in_flight_batches", "Batches in flight to a node.", "output", "endpoint")
	dNodeBatches  = desc("node_batches_total", "Batches a node accepted.", "output", "endpoint")
	dNodeFailures = desc("node_failures_total", "Failed attempts against a node.", "output", "endpoint")
	dMetricsKeys  = desc("metrics_active_keys", "Metric keys within the late-event horizon.")
	dMetricsObs   = desc("metrics_observations_total", "Observations rolled into fragments.")
	dMetricsLate  = desc("metrics_dropped_late_total", "Observations older than the late-event horizon.")
	dMetricsFrags = desc("metrics_fragments_total", "Fragments flushed.")
	dMergeIn      = desc("merger_fragments_total", "Fragments received by the merger.")
	dMergeDup     = desc("merger_duplicate_fragments_total", "Fragments already merged, ignored.")
	dMergeLate    = desc("merger_too_late_fragments_total", "Fragments for windows already finalized.")
	dMergeSnaps   = desc("merger_snapshots_total", "Snapshots emitted.")
	dMergeKeys    = desc("merger_keys", "Keys held by the merger.")
)

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.status()
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	for _, in := range s.Inputs {
		counter(dInEvents, float64(in.Events), in.Name, in.Type)
		counter(dInBytes, float64(in.Bytes), in.Name, in.Type)
		for r, n := range in.Rejected {
			counter(dInRejected, float64(n), in.Name, r)
		}
		for r, n := range in.Errors {
			counter(dInErrors, float64(n), in.Name, r)
		}
	}
	for _, o := range s.Outputs {
		counter(dOutEventsIn, float64(o.EventsIn), o.Name, o.Stream)
		counter(dOutBytesIn, float64(o.BytesIn), o.Name, o.Stream)
		counter(dOutBatches, float64(o.Batches), o.Name)
		counter(dOutEvents, float64(o.Events), o.Name)
		counter(dOutBytes, float64(o.Bytes), o.Name)
		counter(dOutRetries, float64(o.Retries), o.Name)
		counter(dOutFailures, float64(o.Failures), o.Name)
		counter(dOutDead, float64(o.DeadLetters), o.Name)
		for r, n := range o.Errors {
			counter(dOutErrors, float64(n), o.Name, r)
		}
		b := o.Buffer
		gauge(dBufBatches, float64(b.Batches), o.Name)
		gauge(dBufEvents, float64(b.Events), o.Name)
		gauge(dBufBytes, float64(b.Bytes), o.Name)
		gauge(dBufCap, float64(b.MaxBytes), o.Name)
		gauge(dBufInFlight, float64(b.InFlight), o.Name)
		for r, n := range b.Dropped {
			counter(dBufDropped, float64(n), o.Name, r)
		}
		counter(dBufReplayed, float64(b.Replayed), o.Name)
		gauge(dBufBad, float64(b.BadSegments), o.Name)
		gauge(dBufBadBytes, float64(b.BadBytes), o.Name)
		counter(dBufCorrupt, float64(b.CorruptBatches), o.Name)
		counter(dBufTorn, float64(b.TornWrites), o.Name)
		counter(dBufDiskFull, float64(b.DiskFullWaits), o.Name)
		if b.Shared {
			counter(dBufSpilled, float64(b.Spilled), o.Name)
		}
		for _, n := range o.Nodes {
			up := 0.0
			if n.Up {
				up = 1
			}
			gauge(dNodeUp, up, o.Name, n.Endpoint)
			gauge(dNodeInFlight, float64(n.InFlight), o.Name, n.Endpoint)
			counter(dNodeBatches, float64(n.Batches), o.Name, n.Endpoint)
			counter(dNodeFailures, float64(n.Failures), o.Name, n.Endpoint)
		}
	}
	if m := s.Metrics; m != nil {
		gauge(dMetricsKeys, float64(m.ActiveKeys))
		counter(dMetricsObs, float64(m.Observed))
		counter(dMetricsLate, float64(m.DroppedLate))
		counter(dMetricsFrags, float64(m.FragmentsOut))
	}
	if m := s.Merger; m != nil {
		counter(dMergeIn, float64(m.FragmentsIn))
		counter(dMergeDup, float64(m.Duplicates))
		counter(dMergeLate, float64(m.TooLate))
		counter(dMergeSnaps, float64(m.SnapshotsOut))
		gauge(dMergeKeys, float64(m.Keys))
	}
}
