// Package admin serves the agent's admin endpoint: /metrics in the
// Prometheus text format, /health, and /status as JSON. It knows nothing of
// the pipeline: the agent hands it a Status snapshot on every request, so
// nothing is counted twice and the hot path pays nothing.
package admin

import (
	"fmt"
	"time"
)

// Status is the agent's picture at one moment.
type Status struct {
	ID      string         `json:"id"`
	Version string         `json:"version"`
	Started time.Time      `json:"started"`
	Inputs  []InputStatus  `json:"inputs"`
	Outputs []OutputStatus `json:"outputs"`
	Metrics *MetricsStatus `json:"metrics,omitempty"`
	Merger  *MergerStatus  `json:"merger,omitempty"`
}

// InputStatus counts what one input read.
type InputStatus struct {
	Name     string           `json:"name"`
	Type     string           `json:"type"`
	Events   int64            `json:"events"`
	Bytes    int64            `json:"bytes"`
	Rejected map[string]int64 `json:"rejected,omitempty"` // by reason (HTTP inputs)
	Errors   map[string]int64 `json:"errors,omitempty"`   // parse and read errors by reason
}

// OutputStatus is one output: what the pipeline gave it, its buffer, and
// what it delivered.
type OutputStatus struct {
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Stream      string       `json:"stream"`
	EventsIn    int64        `json:"events_in"`
	BytesIn     int64        `json:"bytes_in"`
	Batches     int64        `json:"batches_delivered"`
	Events      int64        `json:"events_delivered"`
	Bytes       int64        `json:"bytes_delivered"`
	Retries     int64        `json:"retries"`
	Failures    int64        `json:"failures"`
	DeadLetters int64        `json:"dead_letter_events"`
	Buffer      BufferStatus `json:"buffer"`
	Nodes       []NodeStatus `json:"nodes,omitempty"`

	// Errors are failed delivery attempts by reason, where the output
	// tells them apart (kafka: Kafka's error names, record_timeout, ...).
	Errors map[string]int64 `json:"errors,omitempty"`
}

// BufferStatus is one output's disk buffer.
type BufferStatus struct {
	Batches  int64            `json:"batches"`
	Events   int64            `json:"events"`
	Bytes    int64            `json:"bytes"`
	MaxBytes int64            `json:"max_bytes"`
	InFlight int              `json:"in_flight"`
	Dropped  map[string]int64 `json:"dropped_events"` // by reason: oldest, newest, corrupt
	Replayed int64            `json:"replayed_events"`
	// BadSegments and BadBytes are the .bad files in the buffer now:
	// quarantined corruption not yet reviewed (pulse buffer clear-bad
	// removes them). BadBytes count against MaxBytes.
	BadSegments int   `json:"bad_segments"`
	BadBytes    int64 `json:"bad_bytes"`
	// CorruptBatches are batches lost to corruption since the start
	// (their events are Dropped["corrupt"], where known).
	CorruptBatches int64 `json:"corrupt_batches"`
	// TornWrites are interrupted writes truncated at the start (a kill -9
	// during a write): nothing acknowledged was lost.
	TornWrites int64 `json:"torn_writes"`
	// DiskFullWaits are writes the disk refused for want of room (ENOSPC,
	// EDQUOT) and retried after a wait: backpressure, not a loss.
	DiskFullWaits int64 `json:"disk_full_waits"`
	// Shared says the output shares a buffer with others of the same
	// batches; Spilled counts the batches it fell behind on there, copied
	// into its own buffer.
	Shared  bool  `json:"shared"`
	Spilled int64 `json:"spilled_batches"`
}

// NodeStatus is one node of an HTTP output's cluster.
type NodeStatus struct {
	Endpoint string `json:"endpoint"`
	Up       bool   `json:"up"`
	InFlight int    `json:"in_flight"`
	Batches  int64  `json:"batches"`
	Events   int64  `json:"events"`
	Failures int64  `json:"failures"`
}

// MetricsStatus is the agent's roll-up of events into fragments.
type MetricsStatus struct {
	ActiveKeys   int    `json:"active_keys"`
	Observed     uint64 `json:"observed"`
	DroppedLate  uint64 `json:"dropped_late"`
	FragmentsOut uint64 `json:"fragments_out"`
}

// MergerStatus is a merger's merge of fragments into snapshots.
type MergerStatus struct {
	FragmentsIn  int64 `json:"fragments_in"`
	Duplicates   int64 `json:"duplicates"`
	TooLate      int64 `json:"too_late"`
	SnapshotsOut int64 `json:"snapshots_out"`
	Keys         int   `json:"keys"`
}

// Health judges a status: the reasons it is degraded, none if healthy.
func Health(s Status) []string {
	var reasons []string
	for _, o := range s.Outputs {
		if len(o.Nodes) > 0 {
			up := 0
			for _, n := range o.Nodes {
				if n.Up {
					up++
				}
			}
			if up == 0 {
				reasons = append(reasons, "output "+o.Name+": every node is down")
			}
		}
		if b := o.Buffer; b.MaxBytes > 0 && (b.Bytes+b.BadBytes)*10 >= b.MaxBytes*9 {
			reasons = append(reasons, "output "+o.Name+": buffer over 90% full")
		}
		// Current corruption only: .bad files present now. A torn write
		// (kill -9) is not corruption, and reviewed .bad files cleared
		// with pulse buffer clear-bad no longer count.
		if b := o.Buffer; b.BadSegments > 0 {
			reasons = append(reasons, fmt.Sprintf("output %s: buffer has %d corrupt segment files (%d bytes) to review: pulse buffer verify, salvage, clear-bad",
				o.Name, b.BadSegments, b.BadBytes))
		}
	}
	return reasons
}
