package lsevents

import (
	"time"

	"pulse/buffer"
)

// Report is what one look at some directories found.
type Report struct {
	Time      time.Time  `json:"time"`
	EventDirs []EventDir `json:"event_dirs,omitempty"`
	DataDirs  []DataDir  `json:"data_dirs,omitempty"`
}

// EventDir is a directory of event files (events-NNNNNN.log, one event a
// line), as file outputs and `pulse sink` write them.
type EventDir struct {
	Dir    string      `json:"dir"`
	Files  []EventFile `json:"files"`
	Events int64       `json:"events"`
	Bytes  int64       `json:"bytes"`
	First  time.Time   `json:"first,omitzero"` // of the oldest file's first line
	Last   time.Time   `json:"last,omitzero"`  // of the newest file's last line

	// Rate is events per second over the last minute of event time: the
	// lines whose timestamp falls in the 60 whole seconds ending with the
	// newest timestamp in the directory, divided by 60 — or by the seconds
	// the timestamps span, if less. Nil when no line has a timestamp.
	Rate *float64 `json:"events_per_second,omitempty"`
	// SampledRate is, when watching, the events added since the previous
	// look divided by the wall-clock time between the two. Nil on the
	// first look.
	SampledRate *float64 `json:"sampled_events_per_second,omitempty"`
}

// EventFile is one event file. Events counts complete lines: a last line
// still being written is counted once its newline is.
type EventFile struct {
	Name    string    `json:"name"`
	Events  int64     `json:"events"`
	Bytes   int64     `json:"bytes"`
	First   time.Time `json:"first,omitzero"` // timestamp starting the first line, if it has one
	Last    time.Time `json:"last,omitzero"`  // timestamp starting the last complete line, if it has one
	ModTime time.Time `json:"mod_time"`
}

// DataDir is an agent's data_dir: its buffers (data_dir/buffers/<output>,
// then the shared ones, data_dir/shared/<id>/queue) and the event files of
// its file outputs under data_dir/out.
type DataDir struct {
	Dir         string     `json:"dir"`
	Buffers     []Buffer   `json:"buffers"`
	FileOutputs []EventDir `json:"file_outputs,omitempty"`
}

// Buffer is one output's disk buffer.
type Buffer struct {
	buffer.Inspection
	// MaxBytes is the buffer's cap from the agent config, 0 if unknown: a
	// buffer does not record its cap on disk.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// PercentOfCap is Bytes as a percentage of MaxBytes, nil if unknown.
	PercentOfCap *float64 `json:"percent_of_cap,omitempty"`
	// OldestAge is the time since Oldest, in seconds: how long the oldest
	// unacknowledged batch has waited, at least. Zero when empty.
	OldestAge float64 `json:"oldest_age_seconds"`
}
