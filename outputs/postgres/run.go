package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"pulse/outputs"
)

// taken is what the reader got from the source.
type taken struct {
	b   outputs.Batch
	err error
}

// Run reads batches from src, splits each into its shards' rows and
// acknowledges it once every shard has written (or set aside) its rows.
// Each shard writes on a goroutine of its own, so a shard that is down
// holds back only its own rows; reading stops when the rows held for
// shards reach MaxPendingBytes. When ctx is done, Run returns nil once
// every goroutine it started has stopped; batches not done with stay
// unacknowledged in src. It returns an error if src fails, or a rejected
// batch cannot be set aside. Run must not be called concurrently.
func (o *Output) Run(ctx context.Context, src outputs.Source) error {
	if !o.running.CompareAndSwap(false, true) {
		return fmt.Errorf("postgres output %q: already running", o.opts.Name)
	}
	defer o.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before the Wait: every goroutine below ends with ctx

	done := make(chan *part)
	for _, s := range o.shards {
		s.reset()
		wg.Go(func() { s.run(ctx, done) })
	}
	permits, got := make(chan struct{}), make(chan taken)
	wg.Go(func() { read(ctx, src, permits, got) })
	o.pending.Store(0)

	var held int64 // bytes of the batches not done with
	reading := false
	for {
		var permit chan<- struct{}
		if !reading && held < o.opts.MaxPendingBytes {
			permit = permits
		}
		select {
		case permit <- struct{}{}:
			reading = true
		case t := <-got:
			reading = false
			if t.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("postgres output %q: next batch: %w", o.opts.Name, t.err)
			}
			p, err := o.split(t.b)
			if err != nil {
				return err
			}
			if p.parts == 0 {
				if err := o.ack(src, p); err != nil {
					return err
				}
				continue
			}
			held += p.bytes
		case pt := <-done:
			o.pending.Add(-int64(len(pt.rows)))
			if pt.b.parts--; pt.b.parts == 0 {
				held -= pt.b.bytes
				if err := o.ack(src, pt.b); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func (o *Output) ack(src outputs.Source, p *pending) error {
	if err := src.Ack(p.id); err != nil {
		return fmt.Errorf("postgres output %q: ack batch %d: %w", o.opts.Name, p.id, err)
	}
	o.batches.Add(1)
	return nil
}

// read takes one batch from src per permit and hands it to the loop.
func read(ctx context.Context, src outputs.Source, permits <-chan struct{}, got chan<- taken) {
	for {
		select {
		case <-permits:
		case <-ctx.Done():
			return
		}
		b, err := src.Next(ctx)
		select {
		case got <- taken{b, err}:
		case <-ctx.Done():
			return // a batch taken now stays unacknowledged in src
		}
	}
}

// split decodes a batch into rows and queues each shard's part. Records
// that are not snapshots, or not rows, go to the dead letters at once (as
// one file per batch); a batch that does not decode at all goes there
// whole. It fails only if the dead letters cannot be written.
func (o *Output) split(b outputs.Batch) (*pending, error) {
	p := &pending{id: b.ID}
	recs, err := records(b.Payload, o.opts.Encoding)
	if err != nil {
		return p, o.reject(b, b.Payload, max(b.Events, 1), fmt.Errorf("%w: batch: %w", errInvalid, err))
	}
	parts := make([]*part, len(o.shards))
	var bad []byte
	nbad := 0
	var firstErr error
	for _, rec := range recs {
		s, err := decodeSnapshot(rec)
		var r row
		if err == nil {
			r, err = o.layout.toRow(s, rec)
		}
		if err != nil {
			bad = append(append(bad, rec...), '\n')
			if nbad++; firstErr == nil {
				firstErr = err
			}
			continue
		}
		r.batch = b.ID
		r.shard = o.ring.Owner(shardKey(s, o.opts.ShardBy))
		if parts[r.shard] == nil {
			parts[r.shard] = &part{b: p}
		}
		parts[r.shard].rows = append(parts[r.shard].rows, r)
		p.bytes += int64(len(rec))
	}
	if nbad > 0 {
		if err := o.reject(b, bad, nbad, firstErr); err != nil {
			return p, err
		}
	}
	for i, pt := range parts {
		if pt == nil {
			continue
		}
		p.parts++
		o.pending.Add(int64(len(pt.rows)))
		o.shards[i].push(pt)
	}
	return p, nil
}

// reject sets records aside that never reached a shard.
func (o *Output) reject(b outputs.Batch, payload []byte, n int, cause error) error {
	now := time.Now()
	path, err := o.dead.Write(outputs.Batch{ID: b.ID, Payload: payload, Events: n, Replayed: b.Replayed}, "decode", cause, now)
	if err != nil {
		return fmt.Errorf("postgres output %q: set aside %d bad snapshots: %w", o.opts.Name, n, err)
	}
	o.deadRows.Add(int64(n))
	if ok, suppressed := o.deadLog.Allow(now); ok {
		o.log.Error("snapshots that are not rows: set aside", "batch", b.ID, "snapshots", n, "file", path, "err", cause, "suppressed", suppressed)
	}
	return nil
}
