package merger

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"pulse/buffer"
	"pulse/event"
)

// Defaults of Options.
const (
	DefaultInterval        = 10 * time.Second
	DefaultFinalizeAfter   = 6 * time.Minute
	DefaultCheckpointEvery = time.Second
	DefaultMaxBufferBytes  = 256 << 20
)

// Options configure a Merger. Zero values take the defaults; Dir and Emit
// are required.
type Options struct {
	// Dir holds the stage's state: its buffer and its checkpoints
	// (data_dir/merger). Created if missing.
	Dir string
	// Interval is how often snapshots are emitted. Default 10s.
	Interval time.Duration
	// FinalizeAfter is how long after its end a window still takes
	// fragments; its snapshots are then emitted with final set, and later
	// fragments for it are counted as too late. Default 6m.
	FinalizeAfter time.Duration
	// CheckpointEvery is how often the merged state is saved, after which
	// the batches merged into it are acknowledged (a group commit). Default
	// 1s. Longer means fewer writes of the whole state, and more batches
	// held in the buffer meanwhile.
	CheckpointEvery time.Duration
	// MaxBufferBytes caps the buffer of accepted batches, those merged
	// but not yet checkpointed included; Emit blocks when it is full.
	// Default 256 MiB.
	MaxBufferBytes int64
	// Emit is where snapshot batches go: one event per snapshot (a JSON
	// object without a trailing newline), Input "merger", Source
	// "snapshots". Required.
	Emit event.Emit
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("merger: Options.Dir is required")
	}
	if o.Emit == nil {
		return o, errors.New("merger: Options.Emit is required")
	}
	if o.Interval < 0 || o.FinalizeAfter < 0 || o.CheckpointEvery < 0 {
		return o, fmt.Errorf("merger: negative duration: interval %v, finalize after %v, checkpoint every %v", o.Interval, o.FinalizeAfter, o.CheckpointEvery)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.FinalizeAfter == 0 {
		o.FinalizeAfter = DefaultFinalizeAfter
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.MaxBufferBytes == 0 {
		o.MaxBufferBytes = DefaultMaxBufferBytes
	}
	if o.MaxBufferBytes < buffer.MinMaxBytes {
		return o, fmt.Errorf("merger: MaxBufferBytes %d is below the minimum %d", o.MaxBufferBytes, buffer.MinMaxBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
