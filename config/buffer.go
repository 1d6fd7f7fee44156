package config

import (
	"time"

	"pulse/buffer"
)

// Buffer policies (buffer.Policy).
const (
	WhenFullBlock      = string(buffer.Block)
	WhenFullDropOldest = string(buffer.DropOldest)
	WhenFullDropNewest = string(buffer.DropNewest)
)

// Buffer fsync modes: what a power loss may take (a kill -9 loses nothing
// acknowledged in any). See buffer.FsyncMode.
const (
	FsyncNever    = string(buffer.FsyncNever)    // the OS writes back when it will (~30 s on Linux)
	FsyncInterval = string(buffer.FsyncInterval) // at most every fsync_interval
	FsyncAlways   = string(buffer.FsyncAlways)   // before the source is acknowledged
)

// Buffer configures an output's disk buffer.
type Buffer struct {
	MaxBytes Size   `yaml:"max_bytes"`
	WhenFull string `yaml:"when_full"` // block | drop_oldest | drop_newest
	// Fsync (never | interval | always; default interval) and
	// FsyncInterval (default 500ms) say when the buffer forces its writes
	// to stable storage.
	Fsync         string   `yaml:"fsync,omitempty"`
	FsyncInterval Duration `yaml:"fsync_interval,omitempty"`
	// Separate keeps the output out of a shared buffer: outputs of the
	// same batches and the same buffer settings otherwise store each batch
	// once, in a buffer they share, each keeping its own buffer for what
	// it falls behind on (package fanout).
	Separate bool `yaml:"separate,omitempty"`
	// SpillAfter (default 2s) is how long a batch of a shared buffer waits
	// for an output before the output is behind: what it has not taken is
	// copied into its own buffer from then on, until it catches up.
	SpillAfter Duration `yaml:"spill_after,omitempty"`
}

// validate checks the buffer of the output at p, whose batches are up to
// batchMaxBytes.
func (b *Buffer) validate(ck *checker, p string, batchMaxBytes Size) {
	if b.MaxBytes < MinBufferBytes {
		ck.addf(p+".buffer.max_bytes", "must be ≥ %v", MinBufferBytes)
	} else if b.MaxBytes < 4*batchMaxBytes {
		ck.addf(p+".buffer.max_bytes", "must hold at least 4 batches (4 × batch.max_bytes = %v)", 4*batchMaxBytes)
	}
	if !oneOf(b.WhenFull, WhenFullBlock, WhenFullDropOldest, WhenFullDropNewest) {
		ck.addf(p+".buffer.when_full", "must be block, drop_oldest or drop_newest, not %q", b.WhenFull)
	}
	if !oneOf(b.Fsync, FsyncNever, FsyncInterval, FsyncAlways) {
		ck.addf(p+".buffer.fsync", "unknown mode %q (never | interval | always)", b.Fsync)
	}
	if b.FsyncInterval < Duration(time.Millisecond) {
		ck.addf(p+".buffer.fsync_interval", "must be ≥ 1ms")
	}
	if b.SpillAfter < Duration(10*time.Millisecond) {
		ck.addf(p+".buffer.spill_after", "must be ≥ 10ms")
	}
}
