package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"pulse/inputs"
)

// OutputOptions describes one output as the pipeline sees it: which stream
// it takes, how its events are encoded, how they are grouped, and where the
// batches go.
type OutputOptions struct {
	Name      string
	Encoding  Encoding
	MaxEvents int           // events per batch
	MaxBytes  int           // encoded bytes per batch (a single larger event gets a batch of its own)
	MaxWait   time.Duration // age at which an open batch is flushed
	Sink      Sink
}

// OutputStats counts what the pipeline handed to one output.
type OutputStats struct {
	Name      string
	Events    int64 // events accepted into batches
	Batches   int64 // batches stored in the sink
	Bytes     int64 // encoded bytes stored in the sink
	PutErrors int64 // failed Puts (shutdown while blocked)
}

// commit counts the outputs still holding part of an input batch; the
// input's Commit runs when the count reaches zero.
type commit struct {
	refs atomic.Int32
	fn   func()
}

func (c *commit) release() {
	if c.refs.Add(-1) == 0 && c.fn != nil {
		c.fn()
	}
}

// batcher accumulates one output's open batch. Its mutex is held across
// Put, so a blocked buffer stops every writer to this output: that is the
// backpressure path to the inputs.
type batcher struct {
	opts OutputOptions
	host string

	mu      sync.Mutex
	buf     []byte
	events  int
	opened  time.Time
	commits []*commit
	scratch []byte

	stats struct{ events, batches, bytes, putErrors atomic.Int64 }
}

func newBatcher(opts OutputOptions, host string) *batcher {
	return &batcher{opts: opts, host: host, buf: make([]byte, 0, opts.MaxBytes+opts.MaxBytes/8)}
}

// add encodes every event of b into the open batch, flushing whenever the
// batch is full. c is held by each batch that receives events of b.
func (bt *batcher) add(ctx context.Context, b *inputs.Batch, c *commit) error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	var prefix []byte
	if bt.opts.Encoding == NDJSON {
		bt.scratch = ndjsonPrefix(bt.scratch[:0], b.Time, bt.host, b.Input, b.Source)
		prefix = bt.scratch
	}
	held := false
	for _, ev := range b.Events {
		need := len(ev) + 1
		if prefix != nil {
			need += len(prefix) + len(ev)/8 + 4
		}
		if bt.events > 0 && (bt.events >= bt.opts.MaxEvents || len(bt.buf)+need > bt.opts.MaxBytes) {
			if err := bt.flushLocked(ctx); err != nil {
				return err
			}
			held = false
		}
		if bt.events == 0 {
			bt.opened = time.Now()
		}
		if !held && c != nil {
			c.refs.Add(1)
			bt.commits = append(bt.commits, c)
			held = true
		}
		if prefix != nil {
			bt.buf = append(bt.buf, prefix...)
			bt.buf = appendJSONString(bt.buf, ev)
			bt.buf = append(bt.buf, '}', '\n')
		} else {
			bt.buf = append(bt.buf, ev...)
			bt.buf = append(bt.buf, '\n')
		}
		bt.events++
	}
	bt.stats.events.Add(int64(len(b.Events)))
	if b.Sync || bt.events >= bt.opts.MaxEvents || len(bt.buf) >= bt.opts.MaxBytes {
		return bt.flushLocked(ctx)
	}
	return nil
}

// flushIfOlder flushes the open batch if it is at least maxWait old.
func (bt *batcher) flushIfOlder(ctx context.Context, now time.Time) error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.events == 0 || now.Sub(bt.opened) < bt.opts.MaxWait {
		return nil
	}
	return bt.flushLocked(ctx)
}

func (bt *batcher) flush(ctx context.Context) error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.flushLocked(ctx)
}

// flushLocked stores the open batch. On failure the batch stays open, so a
// later flush (at shutdown, with a fresh context) may still store it.
func (bt *batcher) flushLocked(ctx context.Context) error {
	if bt.events == 0 {
		return nil
	}
	if err := bt.opts.Sink.PutKey(ctx, 0, bt.buf, bt.events); err != nil {
		bt.stats.putErrors.Add(1)
		return err
	}
	bt.stats.batches.Add(1)
	bt.stats.bytes.Add(int64(len(bt.buf)))
	for _, c := range bt.commits {
		c.release()
	}
	clear(bt.commits)
	bt.commits = bt.commits[:0]
	bt.buf = bt.buf[:0]
	bt.events = 0
	return nil
}

func (bt *batcher) snapshot() OutputStats {
	return OutputStats{
		Name:      bt.opts.Name,
		Events:    bt.stats.events.Load(),
		Batches:   bt.stats.batches.Load(),
		Bytes:     bt.stats.bytes.Load(),
		PutErrors: bt.stats.putErrors.Load(),
	}
}
