package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"pulse/event"
	"pulse/protocol"
)

// OutputOptions describes one output as the pipeline sees it: which stream
// it takes, how its events are encoded, how they are grouped, and where the
// batches go.
type OutputOptions struct {
	Name     string
	Stream   string // "events" (default) or "fragments"
	Encoding Encoding
	// Compression of pulse-encoded batches: zstd (default), s2 or none.
	Compression protocol.Compression
	MaxEvents   int           // events per batch
	MaxBytes    int           // encoded bytes per batch (a single larger event gets a batch of its own)
	MaxWait     time.Duration // age at which an open batch is flushed
	Sink        Sink

	// Buckets > 0 splits the output's events by key into that many
	// buckets, each batched on its own and stored with its bucket number as
	// routing key: a hash-balanced cluster then sends every record of a key
	// to the same node. HashField names the key: a logfmt key or a
	// top-level JSON field; events without it are spread by their bytes.
	Buckets   int
	HashField string
}

// OutputStats counts what the pipeline handed to one output.
type OutputStats struct {
	Name      string
	Events    int64 // events accepted into batches
	Batches   int64 // batches stored in the sink
	Bytes     int64 // encoded bytes stored in the sink (after compression)
	PutErrors int64 // failed Puts (shutdown while blocked)
}

// commit counts the outputs still holding part of an input batch; the
// input's Commit runs when the count reaches zero.
type commit struct {
	refs   atomic.Int32
	failed atomic.Bool // some output never got the batch: never commit it
	fn     func()
}

func (c *commit) release() {
	if c.refs.Add(-1) == 0 && c.fn != nil && !c.failed.Load() {
		c.fn()
	}
}

// output is one output's sink and counters.
type output struct {
	opts  OutputOptions
	stats struct{ events, batches, bytes, putErrors atomic.Int64 }
}

func (o *output) snapshot() OutputStats {
	return OutputStats{
		Name:      o.opts.Name,
		Events:    o.stats.events.Load(),
		Batches:   o.stats.batches.Load(),
		Bytes:     o.stats.bytes.Load(),
		PutErrors: o.stats.putErrors.Load(),
	}
}

// batchShape is what makes two outputs' batches identical: outputs of the
// same shape share one batcher, so each batch is encoded and compressed
// once and the same payload is stored in each of their buffers.
type batchShape struct {
	events    bool // the events stream (else fragments)
	enc       Encoding
	comp      protocol.Compression
	maxEvents int
	maxBytes  int
	maxWait   time.Duration
	buckets   int
	hashField string
}

// SameBatches reports whether outputs a and b get the same batches: one
// batcher serves both, and their Sinks receive the same payloads.
func SameBatches(a, b OutputOptions) bool { return shapeOf(a) == shapeOf(b) }

func shapeOf(o OutputOptions) batchShape {
	return batchShape{
		events: o.Stream != "fragments", enc: o.Encoding, comp: o.Compression,
		maxEvents: o.MaxEvents, maxBytes: o.MaxBytes, maxWait: o.MaxWait,
		buckets: o.Buckets, hashField: o.HashField,
	}
}

// part is one open batch: the whole output's, or one hash bucket's.
type part struct {
	key     uint64
	buf     []byte          // lines / NDJSON
	pw      protocol.Writer // pulse encoding
	events  int
	opened  time.Time
	commits []*commit
	last    *commit // the commit held by the latest event, to hold it once
	stored  int     // outputs that already hold this batch (after a failed Put)
}

func (p *part) size(enc Encoding) int {
	if enc == Pulse {
		return p.pw.Len()
	}
	return len(p.buf)
}

// batcher accumulates the open batches of one or more outputs of the same
// shape. Its mutex is held across Put, so a blocked buffer stops every
// writer to these outputs: that is the backpressure path to the inputs.
type batcher struct {
	opts OutputOptions // batching of every output in outs
	outs []*output
	host string

	mu      sync.Mutex
	parts   []*part
	scratch []byte // NDJSON prefix
	zbuf    []byte // compressed pulse batch
}

func newBatcher(opts OutputOptions, host string) *batcher {
	bt := &batcher{opts: opts, host: host}
	n := max(opts.Buckets, 1)
	for i := range n {
		p := &part{key: uint64(i)}
		if opts.Encoding == Pulse {
			p.pw.Reset(make([]byte, 0, opts.MaxBytes/n+opts.MaxBytes/8))
		} else {
			p.buf = make([]byte, 0, opts.MaxBytes/n+opts.MaxBytes/8)
		}
		bt.parts = append(bt.parts, p)
	}
	return bt
}

// add encodes every event of b into its open batch, flushing whenever a
// batch is full. c is held by each batch that receives events of b. On
// error, held tells whether every event of b is nonetheless in an open
// batch (only storing it failed, so a later flush may still store it).
func (bt *batcher) add(ctx context.Context, b *event.Batch, c *commit) (held bool, err error) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	enc := bt.opts.Encoding
	var prefix []byte
	if enc == NDJSON {
		bt.scratch = ndjsonPrefix(bt.scratch[:0], b.Time, bt.host, b.Input, b.Source)
		prefix = bt.scratch
	}
	for _, p := range bt.parts {
		p.last = nil
	}
	p := bt.parts[0]
	if len(bt.parts) == 1 && b.Replayable && c != nil && p.events > 0 && p.stored == 0 {
		// Keep a replayable batch whole when it fits in one: split over
		// two, its first part is stored but not committed (its input waits
		// for the rest), and a crash before the second is stored makes the
		// input read it again, the first part coming twice.
		if n, size := bt.sizeOf(b, prefix); n <= bt.opts.MaxEvents && size <= bt.opts.MaxBytes &&
			(p.events+n > bt.opts.MaxEvents || p.size(enc)+size > bt.opts.MaxBytes) {
			if err := bt.flushPart(ctx, p); err != nil {
				return false, err
			}
		}
	}
	for i, ev := range b.Events {
		switch {
		case len(bt.parts) == 1:
		case b.Keys != nil:
			p = bt.parts[b.Keys[i]%uint64(len(bt.parts))]
		default:
			p = bt.parts[bucketOf(ev, bt.opts.HashField, len(bt.parts))]
		}
		need := eventSize(ev, prefix)
		// A batch some outputs already stored must reach the others as
		// it is, before it grows.
		if p.events > 0 && (p.stored > 0 || p.events >= bt.opts.MaxEvents || p.size(enc)+need > bt.opts.MaxBytes) {
			if err := bt.flushPart(ctx, p); err != nil {
				return false, err
			}
		}
		if p.events == 0 {
			p.opened = time.Now()
		}
		if c != nil && p.last != c {
			c.refs.Add(1)
			p.commits = append(p.commits, c)
			p.last = c
		}
		switch enc {
		case Pulse:
			p.pw.Append(ev)
		case NDJSON:
			p.buf = append(p.buf, prefix...)
			p.buf = appendJSONString(p.buf, ev)
			p.buf = append(p.buf, '}', '\n')
		default:
			p.buf = append(p.buf, ev...)
			p.buf = append(p.buf, '\n')
		}
		p.events++
	}
	for _, o := range bt.outs {
		o.stats.events.Add(int64(len(b.Events)))
	}
	for _, p := range bt.parts {
		if p.events > 0 && (b.Sync || p.events >= bt.opts.MaxEvents || p.size(enc) >= bt.opts.MaxBytes) {
			if err := bt.flushPart(ctx, p); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// eventSize is about the bytes ev adds to an open batch (its NDJSON prefix
// included, if any): what add checks against MaxBytes.
func eventSize(ev, prefix []byte) int {
	need := len(ev) + 1
	if prefix != nil {
		need += len(prefix) + len(ev)/8 + 4
	}
	return need
}

// sizeOf returns the events of b and about the bytes they add to a batch.
func (bt *batcher) sizeOf(b *event.Batch, prefix []byte) (events, size int) {
	for _, ev := range b.Events {
		size += eventSize(ev, prefix)
	}
	return len(b.Events), size
}

// flushIfOlder flushes the open batches at least maxWait old.
func (bt *batcher) flushIfOlder(ctx context.Context, now time.Time) error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	for _, p := range bt.parts {
		if p.events > 0 && now.Sub(p.opened) >= bt.opts.MaxWait {
			if err := bt.flushPart(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (bt *batcher) flush(ctx context.Context) error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	for _, p := range bt.parts {
		if err := bt.flushPart(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// storedIn reports whether an output before outs[k] has the same Sink,
// which then already holds the batch.
func (bt *batcher) storedIn(k int) bool {
	for _, o := range bt.outs[:k] {
		if o.opts.Sink == bt.outs[k].opts.Sink {
			return true
		}
	}
	return false
}

// flushPart stores one open batch in every output. On failure the batch
// stays open, so a later flush (at shutdown, with a fresh context) may
// still store it in the outputs that do not hold it yet.
func (bt *batcher) flushPart(ctx context.Context, p *part) error {
	if p.events == 0 {
		return nil
	}
	payload := p.buf
	if bt.opts.Encoding == Pulse {
		payload = p.pw.Bytes()
		if bt.opts.Compression != protocol.CompressNone {
			// One compression per batch, shared by the outputs and kept
			// compressed on disk too.
			bt.zbuf = bt.opts.Compression.Compress(bt.zbuf[:0], payload)
			payload = bt.zbuf
		}
	}
	for ; p.stored < len(bt.outs); p.stored++ {
		o := bt.outs[p.stored]
		// Outputs sharing a buffer share one Sink: stored once for all.
		if !bt.storedIn(p.stored) {
			if err := o.opts.Sink.PutKey(ctx, p.key, payload, p.events); err != nil {
				o.stats.putErrors.Add(1)
				return fmt.Errorf("output %s: %w", o.opts.Name, err)
			}
		}
		o.stats.batches.Add(1)
		o.stats.bytes.Add(int64(len(payload)))
	}
	p.stored = 0
	for _, c := range p.commits {
		c.release()
	}
	clear(p.commits)
	p.commits = p.commits[:0]
	p.last = nil
	p.buf = p.buf[:0]
	if bt.opts.Encoding == Pulse {
		p.pw.Reset(p.pw.Bytes())
	}
	p.events = 0
	return nil
}
