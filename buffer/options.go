package buffer

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Policy says what Put does when the queue holds MaxBytes.
type Policy string

const (
	// Block makes Put wait for space (backpressure). The default.
	Block Policy = "block"
	// DropOldest evicts the oldest queued batches to make room.
	DropOldest Policy = "drop_oldest"
	// DropNewest discards the batch being put.
	DropNewest Policy = "drop_newest"
)

// Size limits.
const (
	// MinMaxBytes is the smallest accepted Options.MaxBytes.
	MinMaxBytes = 1 << 20
	// MaxPayloadLimit is the largest payload any queue accepts. It also bounds
	// the message size given to diskqueue, whatever MaxPayloadBytes says, so
	// that lowering MaxPayloadBytes never turns stored batches into corruption.
	MaxPayloadLimit = 256 << 20

	minSegmentBytes = 4 << 10
	maxSegmentBytes = 64 << 20
)

// Options configure a Queue. Zero values take the defaults documented on each
// field; MaxBytes, Dir and Name are required.
type Options struct {
	Dir             string        // directory owned by this queue (created if missing)
	Name            string        // queue name, used in file names and logs
	MaxBytes        int64         // cap on bytes held (queued + in flight), >= MinMaxBytes
	WhenFull        Policy        // default Block
	SegmentBytes    int64         // diskqueue file size; default clamp(MaxBytes/8, 1 MiB, 64 MiB)
	MaxPayloadBytes int64         // largest payload accepted by Put; default min(MaxBytes/2, 256 MiB)
	SyncEvery       int64         // diskqueue reads+writes per sync of segment and metadata; default: never (the period paces)
	SyncTimeout     time.Duration // diskqueue's sync period while busy; default FsyncInterval, none under FsyncNever
	Logger          *slog.Logger  // default slog.Default()

	// Fsync says when writes are forced to stable storage (default
	// FsyncInterval): never (the OS decides; survives kill -9, a power loss
	// may take the last ~30 s), interval (a power loss takes at most the
	// last FsyncInterval of writes) or always (fsync before Put returns; a
	// power loss takes nothing Put returned for). See FsyncMode.
	Fsync FsyncMode
	// FsyncInterval is the period of the FsyncInterval mode; default
	// DefaultFsyncInterval. Under FsyncAlways it paces diskqueue's metadata
	// syncs, which only spare re-reading after a crash.
	FsyncInterval time.Duration

	onSync func(path string) // tests only: called before each fsync the queue makes itself (not diskqueue's)
}

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("buffer: Options.Dir is required")
	}
	// diskqueue builds file names with Sprintf(path.Join(dir, "%s...")): a '%'
	// in Dir would be read as a verb.
	if strings.ContainsRune(o.Dir, '%') {
		return o, fmt.Errorf("buffer: Options.Dir %q must not contain '%%'", o.Dir)
	}
	if !validName(o.Name) {
		return o, fmt.Errorf("buffer: Options.Name %q must be 1-128 bytes without '/', '\\' or NUL", o.Name)
	}
	if o.MaxBytes < MinMaxBytes {
		return o, fmt.Errorf("buffer %s: MaxBytes %d is below the minimum %d", o.Name, o.MaxBytes, MinMaxBytes)
	}
	switch o.WhenFull {
	case "":
		o.WhenFull = Block
	case Block, DropOldest, DropNewest:
	default:
		return o, fmt.Errorf("buffer %s: unknown WhenFull policy %q", o.Name, o.WhenFull)
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = min(max(o.MaxBytes/8, 1<<20), maxSegmentBytes)
	}
	if o.SegmentBytes < minSegmentBytes || o.SegmentBytes > maxSegmentBytes {
		return o, fmt.Errorf("buffer %s: SegmentBytes %d out of range [%d, %d]", o.Name, o.SegmentBytes, minSegmentBytes, maxSegmentBytes)
	}
	if o.MaxPayloadBytes == 0 {
		o.MaxPayloadBytes = min(o.MaxBytes/2, MaxPayloadLimit)
	}
	if o.MaxPayloadBytes < 0 || o.MaxPayloadBytes > MaxPayloadLimit || o.MaxPayloadBytes+frameOverhead > o.MaxBytes {
		return o, fmt.Errorf("buffer %s: MaxPayloadBytes %d must be in [0, min(%d, MaxBytes-%d)]", o.Name, o.MaxPayloadBytes, MaxPayloadLimit, frameOverhead)
	}
	if o.Fsync == "" {
		o.Fsync = FsyncInterval
	}
	if !o.Fsync.valid() {
		return o, fmt.Errorf("buffer %s: unknown Fsync mode %q (never | interval | always)", o.Name, o.Fsync)
	}
	if o.FsyncInterval == 0 {
		o.FsyncInterval = DefaultFsyncInterval
	}
	if o.FsyncInterval < 0 {
		return o, fmt.Errorf("buffer %s: FsyncInterval %v must be positive", o.Name, o.FsyncInterval)
	}
	// The period, not a count, paces diskqueue's syncs: "at most every
	// FsyncInterval", however small the batches.
	if o.SyncEvery == 0 {
		o.SyncEvery = noSyncEvery
	}
	if o.SyncEvery < 0 {
		return o, fmt.Errorf("buffer %s: SyncEvery %d must be positive", o.Name, o.SyncEvery)
	}
	if o.SyncTimeout == 0 {
		o.SyncTimeout = o.FsyncInterval
		if o.Fsync == FsyncNever {
			o.SyncTimeout = noSyncTimeout
		}
	}
	// A non-positive ticker period panics inside diskqueue's goroutine.
	if o.SyncTimeout < 0 {
		return o, fmt.Errorf("buffer %s: SyncTimeout %v must be positive", o.Name, o.SyncTimeout)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// validName accepts what can prefix a file name: the config checks the
// finer rules.
func validName(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, "/\\\x00")
}
