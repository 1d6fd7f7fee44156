// Package fanout shares one buffer among outputs that take the same
// batches. The batcher stores each batch once, in the shared buffer; a
// reader holds the oldest batches in memory (the window) and every output
// takes them from there. A batch leaves the shared buffer once every output
// is done with it. An output that falls behind — its cluster down, or just
// slower — has the batches it did not take copied into its own buffer
// (spilled), and from then on every batch, until it has caught up: so it
// never holds the others back, the shared buffer never grows for it, and
// its own buffer's cap and policy apply to it as they would without
// sharing.
//
// Healthy outputs cost one buffer write, one read and one in-flight
// journal copy per batch in all, instead of one each; a batch spilled costs
// what it did before, plus the shared copy.
//
// Files in Options.Dir:
//
//	members  the outputs' names, one per line, in mask bit order
//	acks     which outputs are done with each batch in flight (acks.go)
//	queue/   the shared buffer
package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"pulse/buffer"
	"pulse/durable"
	"pulse/lograte"
)

// MaxOutputs is the most outputs one fanout serves (one bit each in acks).
const MaxOutputs = 64

// Defaults of Options.
const (
	// DefaultWindow batches in memory: 16 MiB at the default batch size,
	// enough for outputs a few requests apart to take every batch there.
	DefaultWindow = 16
	// DefaultBehind is long enough for a retry or a slow request, short
	// enough that the others' shared buffer does not grow much for one
	// output that is down.
	DefaultBehind = 2 * time.Second
)

// Options configure a Fanout.
type Options struct {
	Dir    string          // owned by the fanout: members, acks, queue/
	Names  []string        // the outputs, in the order of Own and of Source(i)
	Own    []*buffer.Queue // each output's own buffer, where what it falls behind on is spilled
	Shared buffer.Options  // for the shared buffer; Dir is set to Dir/queue
	Window int             // batches held for outputs that have not taken them yet; default DefaultWindow
	Behind time.Duration   // how long a batch waits for an output before it spills; default DefaultBehind
	Logger *slog.Logger    // default slog.Default()
}

// Fanout is a shared buffer and its window. Put stores a batch for every
// output; Source(i) is where output i reads. Run must be running for the
// outputs to get anything.
type Fanout struct {
	opts   Options
	log    *slog.Logger
	shared *buffer.Queue
	acks   *ackFile // guarded by mu
	masks  map[uint64]uint64

	mu      sync.Mutex
	window  []*entry          // read from the shared buffer, oldest first
	byID    map[uint64]*entry // the same, by shared seq
	waiting int               // entries in window some output has not taken
	behind  []bool            // per output: spilled for, until it takes from the window with its own buffer empty
	spilled []int64           // per output: batches copied into its own buffer
	changed chan struct{}     // closed and replaced on every change a waiter may need
	srcs    []*source

	recordLog lograte.Limiter // guarded by mu
}

// entry is a batch of the shared buffer in the window.
type entry struct {
	m       buffer.Message
	at      time.Time
	state   []state // per output
	untaken int     // outputs in statePending
	left    int     // outputs not in stateDone
	slot    int
	mask    uint64 // outputs done, as recorded
}

type state uint8

const (
	statePending  state = iota // not taken by the output yet
	stateSpilling              // being copied into the output's own buffer
	stateTaken                 // handed to the output, not acknowledged
	stateDone                  // acknowledged, or spilled
)

// ownBit marks the ids of batches from an output's own buffer (buffer
// seqs stay below 1<<62).
const ownBit = 1 << 63

// Open opens (or creates) the shared buffer in opts.Dir. A Dir made for
// other outputs is refused: Handover empties it into theirs first.
func Open(opts Options) (*Fanout, error) {
	if len(opts.Names) < 2 || len(opts.Names) > MaxOutputs || len(opts.Own) != len(opts.Names) {
		return nil, fmt.Errorf("fanout: %d outputs and %d buffers: want 2 to %d of each", len(opts.Names), len(opts.Own), MaxOutputs)
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Behind <= 0 {
		opts.Behind = DefaultBehind
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("fanout: %w", err)
	}
	if err := claimMembers(opts.Dir, opts.Names); err != nil {
		return nil, fmt.Errorf("fanout %s: %w", opts.Dir, err)
	}
	acks, masks, err := openAcks(filepath.Join(opts.Dir, "acks"))
	if err != nil {
		return nil, fmt.Errorf("fanout %s: %w", opts.Dir, err)
	}
	so := opts.Shared
	so.Dir = filepath.Join(opts.Dir, "queue")
	shared, err := buffer.Open(so)
	if err != nil {
		acks.close()
		return nil, fmt.Errorf("fanout %s: %w", opts.Dir, err)
	}
	f := &Fanout{
		opts:    opts,
		log:     opts.Logger.With("fanout", strings.Join(opts.Names, ",")),
		shared:  shared,
		acks:    acks,
		masks:   masks,
		byID:    map[uint64]*entry{},
		behind:  make([]bool, len(opts.Names)),
		spilled: make([]int64, len(opts.Names)),
		changed: make(chan struct{}),

		recordLog: lograte.Limiter{Every: 10 * time.Second},
	}
	for i := range opts.Names {
		f.srcs = append(f.srcs, &source{f: f, i: i, own: opts.Own[i], ownCh: make(chan buffer.Message)})
	}
	return f, nil
}

// claimMembers writes the members file of a new dir, or checks that of an
// existing one names the same outputs in the same order: the bits of the
// ack record mean those outputs.
func claimMembers(dir string, names []string) error {
	want := strings.Join(names, "\n") + "\n"
	path := filepath.Join(dir, "members")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return (&durable.Writer{Policy: durable.Sync, Perm: 0o600}).WriteFile(path, []byte(want))
	case err != nil:
		return err
	case string(b) != want:
		return fmt.Errorf("made for outputs %q, not %q", strings.Fields(string(b)), names)
	}
	return nil
}

// PutKey stores a batch for every output, once: see buffer.Queue.PutKey.
func (f *Fanout) PutKey(ctx context.Context, key uint64, payload []byte, events int) error {
	return f.shared.PutKey(ctx, key, payload, events)
}

// Spilled returns how many batches output i fell behind on, copied into
// its own buffer.
func (f *Fanout) Spilled(i int) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spilled[i]
}

// Close closes the shared buffer. Batches in the window stay in flight in
// it, and the ack record keeps them from the outputs done with them when
// the next Open hands them out again. Call after Run has returned.
func (f *Fanout) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.shared.Close(), f.acks.close())
}

// notify wakes whoever waits on a change. Callers hold mu.
func (f *Fanout) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// record writes e's mask to its slot. A failed write is logged, not
// returned: it costs duplicates after a restart, never a loss. Callers
// hold mu.
func (f *Fanout) record(e *entry) {
	if err := f.acks.set(e.slot, e.m.ID, e.mask); err != nil {
		if ok, suppressed := f.recordLog.Allow(time.Now()); ok {
			f.log.Warn("could not record which outputs are done with a batch: after a restart they may get it again", "batch", e.m.ID, "err", err, "suppressed", suppressed)
		}
	}
}

// done marks output i done with e and, when it was the last, takes e out
// of the window; ack is then true and the caller acknowledges e in the
// shared buffer. Callers hold mu.
func (f *Fanout) done(e *entry, i int) (ack bool) {
	if st := e.state[i]; st == statePending || st == stateSpilling {
		e.untaken--
		if e.untaken == 0 {
			f.waiting--
		}
	}
	e.state[i] = stateDone
	e.left--
	e.mask |= 1 << i
	f.record(e)
	if e.left > 0 {
		return false
	}
	f.remove(e)
	return true
}

// remove takes e out of the window; its slot stays taken until ackShared,
// so that a crash before the shared buffer forgets e finds it all done.
// Callers hold mu.
func (f *Fanout) remove(e *entry) {
	delete(f.byID, e.m.ID)
	for k, w := range f.window {
		if w == e {
			f.window = append(f.window[:k], f.window[k+1:]...)
			break
		}
	}
	f.notify()
}

// ackShared acknowledges in the shared buffer a batch every output is
// done with, then frees its slot. Callers do not hold mu.
func (f *Fanout) ackShared(e *entry) error {
	err := f.shared.Ack(e.m.ID)
	f.mu.Lock()
	f.acks.release(e.slot)
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("fanout: %w", err)
	}
	return nil
}
