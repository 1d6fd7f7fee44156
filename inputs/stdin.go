package inputs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"pulse/event"
)

// StdinOptions configure a Stdin input.
type StdinOptions struct {
	Name         string    // input name (goes into event.Batch.Input); default "stdin"
	Reader       io.Reader // default os.Stdin
	MaxLineBytes int       // longer lines are cut to this length and the rest skipped; default 64 KiB
	BatchEvents  int       // max events per emitted batch; default 4096
	BatchBytes   int       // max event bytes per emitted batch, and read buffer size; default 1 MiB
	Logger       *slog.Logger
}

// Stdin reads lines from a stream, standard input by default, until it
// ends. Its batches have no Commit: a stream cannot be read again.
type Stdin struct {
	opts    StdinOptions
	log     *slog.Logger
	stats   lineCounters
	running atomic.Bool
}

// NewStdin applies defaults to opts and returns a Stdin input.
func NewStdin(opts StdinOptions) *Stdin {
	opts.Name = cmp.Or(opts.Name, "stdin")
	if opts.Reader == nil {
		opts.Reader = os.Stdin
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.BatchEvents <= 0 {
		opts.BatchEvents = DefaultBatchEvents
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = DefaultBatchBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Stdin{opts: opts, log: opts.Logger.With("input", opts.Name)}
}

// maxEmptyReads bounds the reads in a row that return nothing and no error
// (which io.Reader discourages) before Run gives up on the reader.
const maxEmptyReads = 100

// Run reads lines until the reader ends or ctx is done, and returns nil in
// both cases; a last line without a newline is emitted at the end. If emit
// fails, Run returns nil too: the input stops.
//
// A read blocked in the reader is interrupted when ctx is done if the
// reader has a read deadline (pipes, sockets, and standard input where the
// system lets it be polled); otherwise Run returns after that read.
func (s *Stdin) Run(ctx context.Context, emit event.Emit) error {
	if emit == nil {
		return fmt.Errorf("inputs: stdin %q: nil emit", s.opts.Name)
	}
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("inputs: stdin %q: already running", s.opts.Name)
	}
	defer s.running.Store(false)

	rd := s.opts.Reader
	if f, ok := rd.(*os.File); ok {
		pf, release := pollable(f)
		defer release()
		rd = pf
	}
	if d, ok := rd.(interface{ SetReadDeadline(time.Time) error }); ok {
		// Wake a blocked read when ctx is done.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			select {
			case <-ctx.Done():
				d.SetReadDeadline(time.Now())
			case <-stop:
			}
		})
		defer wg.Wait()
		defer close(stop)
	}

	o := &s.opts
	buf := make([]byte, readBufferSize(o.MaxLineBytes, o.BatchBytes))
	lb := newLineBatcher(o.Name, "stdin", o.MaxLineBytes, o.BatchEvents, o.BatchBytes)
	flush := func(now time.Time) error {
		if len(lb.batch.Events) == 0 {
			return nil
		}
		lb.batch.Time = now
		s.stats.count(lb)
		err := emit(ctx, &lb.batch)
		lb.reset()
		return err
	}

	w, empty := 0, 0
	for ctx.Err() == nil {
		n, rerr := rd.Read(buf[w:])
		w += n
		now := time.Now()
		r := 0
		for {
			k, full := lb.fill(buf[r:w])
			r += k
			if !full {
				break
			}
			if err := flush(now); err != nil {
				return s.stopped(err)
			}
		}
		if rerr == io.EOF {
			if err := flush(now); err != nil {
				return s.stopped(err)
			}
			if ev, cut := lb.split.last(buf[r:w]); len(ev) > 0 {
				lb.add(ev, cut)
			}
			return s.stopped(flush(now))
		}
		if err := flush(now); err != nil {
			return s.stopped(err)
		}
		w = copy(buf, buf[r:w])
		switch {
		case rerr != nil && ctx.Err() != nil:
			return nil // the read was interrupted
		case rerr != nil:
			return fmt.Errorf("inputs: stdin %q: read: %w", o.Name, rerr)
		case n == 0:
			if empty++; empty >= maxEmptyReads {
				return fmt.Errorf("inputs: stdin %q: read: %w", o.Name, io.ErrNoProgress)
			}
		default:
			empty = 0
		}
	}
	return nil
}

// stopped logs why Run stops early after a batch was not accepted, and
// returns nil: the input is done either way.
func (s *Stdin) stopped(err error) error {
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Info("stdin input stopping: batch not accepted", "err", err)
	}
	return nil
}

// Stats returns the input's counters. It is safe to call concurrently.
func (s *Stdin) Stats() StdinStats {
	return StdinStats{
		Events:         s.stats.events.Load(),
		Bytes:          s.stats.bytes.Load(),
		TruncatedLines: s.stats.truncated.Load(),
	}
}
